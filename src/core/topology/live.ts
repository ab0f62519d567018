/**
 * A deployed topology read back live: each node's container and daemon, each session's state from
 * both ends, each tunnel's state; and waiting after a standup until every session is Established.
 */
import pLimit from 'p-limit';
import type { NeighborStatus } from '../bgp/types.js';
import type { DaemonStatus, Daemons } from '../daemons.js';
import type { OpContext } from '../progress.js';
import type { TunnelDoctor, TunnelState } from '../tunnels/diagnose.js';
import type { Desired } from './resolve.js';
import type { Facts } from './standup.js';

export type Sessions = Array<{ a: string; b: string; via: string; a_state?: string; b_state?: string }>;

/** Whether every session came up after a standup, and which did not. */
export interface Established {
  all: boolean;
  waited_s: number;
  not_established: string[];
}

export interface TopologyStatus {
  name: string;
  deployed: boolean;
  nodes: Array<{
    name: string;
    role: 'daemon' | 'host';
    kind: string;
    state: string;
    daemon?: string;
    interfaces: Array<{ network: string; ip: string }>;
  }>;
  sessions: Sessions;
  tunnels: Array<{ name: string; state: string }>;
  /** faults put in on purpose and not cleared */
  faults?: Array<{ id: string; kind: string; target: string; at: string }>;
}

type LiveDaemons = Pick<Daemons, 'neighborStates' | 'status'>;

/** Each desired session with the state each end reports for the other. */
export function sessionStates(desired: Desired, neighbors: Map<string, NeighborStatus[] | undefined>): Sessions {
  return desired.sessions.map((s) => ({
    a: s.a,
    b: s.b,
    via: s.via,
    a_state: neighbors.get(s.a)?.find((n) => n.address === s.b_ip)?.state,
    b_state: neighbors.get(s.b)?.find((n) => n.address === s.a_ip)?.state,
  }));
}

/**
 * Poll until every session is Established from both ends. Each round asks only the daemons that
 * still see a session down (a few at a time, so polling never starves a large lab of CPU), and a
 * last round asks them all again before it reports success.
 */
export async function waitEstablished(daemons: LiveDaemons, desired: Desired, seconds: number, ctx: OpContext): Promise<Established> {
  const t0 = Date.now();
  const limit = pLimit(4);
  const names = [...new Set(desired.sessions.flatMap((s) => [s.a, s.b]))];
  const seen = new Map<string, NeighborStatus[] | undefined>();
  const ask = (list: string[]) =>
    Promise.all(list.map((n) => limit(async () => seen.set(n, await daemons.neighborStates(n).catch(() => undefined)))));
  const sessions = () => sessionStates(desired, seen);
  const isDown = (s: Sessions[number]) => s.a_state !== 'Established' || s.b_state !== 'Established';
  let pending = names;
  let confirmed = false;
  while (true) {
    await ask(pending);
    const down = sessions().filter(isDown);
    const waited = (Date.now() - t0) / 1000;
    ctx.progress?.(`${desired.sessions.length - down.length}/${desired.sessions.length} sessions Established`, 0.95);
    if (down.length === 0 && !confirmed) {
      confirmed = true;
      pending = names;
      continue;
    }
    if (down.length === 0 || waited >= seconds || ctx.signal?.aborted) {
      return {
        all: down.length === 0,
        waited_s: Math.round(waited * 10) / 10,
        not_established: down.map((s) => `${s.a} <-> ${s.b} (${s.a_state ?? 'unknown'}/${s.b_state ?? 'unknown'})`),
      };
    }
    confirmed = false;
    pending = [...new Set(down.flatMap((s) => [s.a, s.b]))];
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Each desired session with its live state, from `statuses` when given, else asking each router. */
async function liveSessions(daemons: LiveDaemons, desired: Desired, statuses?: Map<string, DaemonStatus | undefined>): Promise<Sessions> {
  const names = [...new Set(desired.sessions.flatMap((s) => [s.a, s.b]))];
  const limit = pLimit(4);
  const neighbors = statuses
    ? new Map([...statuses].map(([n, st]) => [n, st?.neighbors]))
    : new Map(await Promise.all(names.map((n) => limit(async () => [n, await daemons.neighborStates(n).catch(() => undefined)] as const))));
  return sessionStates(desired, neighbors);
}

/** Nodes, sessions and tunnels of a resolved topology as they are now. */
export async function liveStatus(
  deps: { daemons: LiveDaemons; doctor: Pick<TunnelDoctor, 'state'> },
  desired: Desired,
  facts: Facts,
): Promise<Omit<TopologyStatus, 'name' | 'deployed'>> {
  // Nodes on an engine that does not answer are reported as such, not as missing.
  const down = new Map(facts.down.map((d) => [d.name, d.error]));
  const unseen = (n: { engine?: string | undefined }) => (n.engine !== undefined ? down.get(n.engine) : undefined);
  const daemonNames = desired.nodes.filter((n) => n.role === 'daemon' && unseen(n) === undefined).map((n) => n.name);
  const limit = pLimit(4);
  const statuses = new Map(
    await Promise.all(daemonNames.map((n) => limit(async () => [n, await deps.daemons.status(n).catch(() => undefined)] as const))),
  );
  const nodes = desired.nodes.map((n) => {
    const why = unseen(n);
    return {
      name: n.name,
      role: n.role,
      kind: n.role === 'daemon' ? n.kind : 'host',
      ...(n.engine ? { engine: n.engine } : {}),
      state: why !== undefined ? 'engine_unreachable' : (facts.containers.get(n.name) ?? 'missing'),
      ...(n.role === 'daemon' && why === undefined ? { daemon: statuses.get(n.name)?.daemon ?? 'stopped' } : {}),
      ...(why !== undefined ? { note: `engine '${n.engine}' does not answer: ${why}` } : {}),
      interfaces: n.interfaces,
    };
  });
  const tunnels = await Promise.all(
    desired.tunnels.map(async (t) => ({
      name: t.name,
      state: await deps.doctor
        .state(t.a.container, t.name)
        .then((s: TunnelState) => s.state)
        .catch(() => 'missing'),
    })),
  );
  return { nodes, sessions: await liveSessions(deps.daemons, desired, statuses), tunnels };
}
