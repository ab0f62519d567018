import type Docker from 'dockerode';
import { isConnectionError, unreachable } from './client.js';
import type { LabelContext } from './labels.js';

/** One Docker call as a log line: what was asked, of which object, how long it took, how it failed. */
export interface CallEntry {
  op: string;
  /** the container, network, image or swarm node the call was about */
  id?: string | undefined;
  /** the engine's name in NSLAB_ENGINES, or its address */
  engine: string;
  ms: number;
  /** the engine's message when the call failed */
  error?: string | undefined;
}

export type CallLog = (entry: CallEntry) => void;

/**
 * What every client of this folder reaches the engine through, and nothing outside it sees: the
 * raw client, `run` (the one error mapping: an engine that does not answer becomes
 * DOCKER_UNAVAILABLE naming it, and every call is logged with its object's id), and `owner` (this
 * store's labels, awaited, so no object is made or listed before the store id is known).
 */
export interface Dial {
  readonly api: Docker;
  run<T>(op: string, id: string | undefined, fn: (api: Docker) => Promise<T>): Promise<T>;
  owner(): Promise<LabelContext>;
  /** mark an object this process is about to remove or stop (its events are the lab's own) */
  act(id: string): void;
}

export interface DialTarget {
  host: string | undefined;
  /** the engine's name in NSLAB_ENGINES, when there are several */
  name: string | undefined;
  log?: CallLog | undefined;
}

/** `run` for an engine: the caller's error passes unchanged unless the engine did not answer at all. */
export async function runCall<T>(target: DialTarget, api: Docker, op: string, id: string | undefined, fn: (api: Docker) => Promise<T>) {
  const started = Date.now();
  try {
    const out: T = await fn(api);
    target.log?.({ op, id, engine: target.name ?? target.host ?? 'local', ms: Date.now() - started });
    return out;
  } catch (err) {
    const mapped = isConnectionError(err) ? unreachable(target.host, err, target.name) : err;
    target.log?.({ op, id, engine: target.name ?? target.host ?? 'local', ms: Date.now() - started, error: (mapped as Error)?.message });
    throw mapped;
  }
}
