/**
 * Docker's event stream under a long-running server: what happens to this store's containers and
 * networks, as it happens. An object removed, stopped or killed by someone other than this process
 * is reported at once (with what sync_run does about it) instead of at the next call that trips
 * over it; when the stream breaks (dockerd restarted) it reconnects, asking for the events it
 * missed, and the forwarding rules of lab networks are put back (a restarted dockerd or a firewall
 * reload may have dropped them). With several engines (NSLAB_ENGINES) each one's stream is
 * followed, and every event names its engine.
 */
import type { DockerEngine } from './engine.js';
import { LABELS } from './labels.js';

export interface LabEvent {
  object: 'container' | 'network';
  /** Docker's action: destroy, die, stop, start, create, kill, ... */
  action: string;
  name: string;
  id: string;
  /** when Docker saw it (ms since the epoch) */
  at: number;
  /** the engine it happened on, when there are several */
  engine?: string;
  /** not caused by this process (someone ran docker by hand, or another server of the same store) */
  outside: boolean;
  /** set when the lab no longer matches its records because of it: what it means and what repairs it */
  drift?: string;
  /** the object's role label (daemon, host, network, helper) */
  role?: string;
  /** the topology label, for an object of a topology */
  topology?: string;
  /** die: the exit code of the container's main process */
  exitCode?: number;
}

/** Actions that change what a record describes; the rest (exec, attach, connect ...) pass. */
const WATCHED: Record<LabEvent['object'], Set<string>> = {
  container: new Set(['destroy', 'die', 'stop', 'start', 'kill', 'oom', 'rename']),
  network: new Set(['destroy', 'create']),
};

export interface EventWatchOptions {
  /** called for each event of a lab object */
  onEvent?: (e: LabEvent) => void;
  /** called after the stream came back (dockerd restarted); the lab restores its forwarding rules here */
  onReconnect?: () => Promise<unknown>;
  /** called when the stream breaks or cannot be opened */
  onError?: (err: unknown) => void;
}

/** Follow this store's events until stop() is called. */
export class EventWatch {
  #stream: NodeJS.ReadableStream | undefined;
  #stopped = false;
  #since = Math.floor(Date.now() / 1000);
  #timer: NodeJS.Timeout | undefined;
  /** resolves once the stream is open (again) */
  ready: Promise<void>;
  #opened!: () => void;
  /** one watch per engine when there are several; this one then only delegates */
  readonly #each: EventWatch[] = [];
  private readonly engine: DockerEngine;

  /** `ready` resolves once every engine's stream is open; an engine that does not answer is retried. */
  constructor(
    engines: DockerEngine | DockerEngine[],
    private readonly opts: EventWatchOptions,
  ) {
    const list = Array.isArray(engines) ? engines : [engines];
    this.engine = list[0] as DockerEngine;
    if (list.length > 1) {
      this.#each = list.map((e) => new EventWatch(e, opts));
      this.ready = Promise.all(this.#each.map((w) => w.ready)).then(() => undefined);
      return;
    }
    this.ready = new Promise((r) => {
      this.#opened = r;
    });
    void this.#open(false);
  }

  async #open(again: boolean): Promise<void> {
    if (this.#stopped) return;
    try {
      await this.engine.ready();
      const stream = await this.engine.system.events(this.#since, ['container', 'network']);
      if (this.#stopped) {
        (stream as unknown as { destroy?: () => void }).destroy?.();
        return;
      }
      this.#stream = stream;
      let buf = '';
      stream.on('data', (chunk: Buffer) => {
        buf += chunk.toString('utf8');
        let nl = buf.indexOf('\n');
        while (nl >= 0) {
          this.#line(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
          nl = buf.indexOf('\n');
        }
      });
      const retry = (err?: unknown) => {
        if (this.#stream !== stream) return;
        this.#stream = undefined;
        if (err) this.opts.onError?.(err);
        this.#retry();
      };
      stream.on('end', () => retry());
      stream.on('error', (err) => retry(err));
      this.#opened();
      if (again) await this.opts.onReconnect?.().catch((err: unknown) => this.opts.onError?.(err));
    } catch (err) {
      this.opts.onError?.(err);
      this.#retry();
    }
  }

  #retry(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#open(true), 1000);
    this.#timer.unref();
  }

  #line(text: string): void {
    let ev: {
      Type?: string;
      Action?: string;
      time?: number;
      timeNano?: number;
      Actor?: { ID?: string; Attributes?: Record<string, string> };
    };
    try {
      ev = JSON.parse(text);
    } catch {
      return;
    }
    const object = ev.Type === 'container' || ev.Type === 'network' ? ev.Type : undefined;
    // "exec_start: sh -c ..." and "health_status: ..." carry their detail after a colon.
    const action = (ev.Action ?? '').split(':')[0] ?? '';
    if (!object || !WATCHED[object].has(action)) return;
    if (ev.time) this.#since = Math.max(this.#since, ev.time);
    const id = ev.Actor?.ID ?? '';
    const name = ev.Actor?.Attributes?.name ?? id.slice(0, 12);
    const outside = !this.engine.acting(id);
    const at = ev.timeNano ? Math.floor(ev.timeNano / 1e6) : Date.now();
    const e: LabEvent = { object, action, name, id, at, ...(this.engine.name ? { engine: this.engine.name } : {}), outside };
    const attrs = ev.Actor?.Attributes ?? {};
    if (attrs[LABELS.role]) e.role = attrs[LABELS.role];
    if (attrs[LABELS.topology]) e.topology = attrs[LABELS.topology];
    if (action === 'die' && /^\d{1,5}$/.test(attrs.exitCode ?? '')) e.exitCode = Number(attrs.exitCode);
    if (outside) {
      const drift = driftOf(e);
      if (drift) e.drift = drift;
    }
    this.opts.onEvent?.(e);
  }

  /** Stop following (idempotent). */
  stop(): void {
    for (const w of this.#each) w.stop();
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    const s = this.#stream as unknown as { destroy?: () => void } | undefined;
    this.#stream = undefined;
    s?.destroy?.();
  }

  /** For tests: break the connection as a dockerd restart would; the watch reconnects. */
  interrupt(): void {
    for (const w of this.#each) w.interrupt();
    (this.#stream as unknown as { destroy?: (err?: Error) => void } | undefined)?.destroy?.(new Error('connection to dockerd lost'));
  }
}

function driftOf(e: LabEvent): string | undefined {
  const what = e.object === 'network' ? `lab network '${e.name}'` : `lab container '${e.name}'`;
  if (e.action === 'destroy') return `${what} was removed outside netstream-lab; sync_run apply makes it again from the store`;
  if (e.object === 'container' && (e.action === 'stop' || e.action === 'kill' || e.action === 'oom'))
    return `${what} was stopped outside netstream-lab (${e.action}); sync_run apply starts it again if it should run`;
  if (e.object === 'container' && e.action === 'rename')
    return `${what} was renamed outside netstream-lab; its record no longer finds it by name`;
  return undefined;
}
