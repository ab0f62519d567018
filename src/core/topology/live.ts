/**
 * A deployed topology read back live: each node's container and daemon, each session's state from
 * both ends, each tunnel's state; and waiting after a standup until every session is Established.
 */
import type { NeighborStatus } from '../bgp/types.js';
import type { Daemons, ListedDaemon } from '../daemons.js';
import { ownPeers } from '../nodes/own.js';
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

type LiveDaemons = Pick<Daemons, 'answers'>;

/** How many daemons are read at once: enough to keep both cores busy, few enough not to starve a lab that is starting. */
const READS_AT_ONCE = 8;

/** The daemons named, as the label query of `facts` found their containers. */
function listed(names: readonly string[], facts: Pick<Facts, 'containers' | 'containerIds' | 'engineOf'>): ListedDaemon[] {
  return names.map((name) => ({
    name,
    id: facts.containerIds.get(name),
    engine: facts.engineOf.get(name),
    state: facts.containers.get(name) ?? 'missing',
  }));
}

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
 * Poll until every session is Established from both ends. Each round lists the topology's
 * containers once (by label) and asks only the daemons that still see a session down (a few at a
 * time, through their kept readers, and the next round waits at least as long as this one took,
 * so polling never starves a large lab of CPU); a last round asks them all again before it
 * reports success.
 */
export async function waitEstablished(
  deps: { daemons: LiveDaemons; facts: () => Promise<Pick<Facts, 'containers' | 'containerIds' | 'engineOf'>> },
  desired: Desired,
  seconds: number,
  ctx: OpContext,
): Promise<Established> {
  const t0 = Date.now();
  // Routers with their own config have the sessions their config names (or that they report).
  const own = desired.nodes.flatMap((n) =>
    n.role === 'daemon' && n.own?.config !== undefined ? [{ name: n.name, peers: ownPeers(n.kind, n.own.config) }] : [],
  );
  const names = [...new Set([...desired.sessions.flatMap((s) => [s.a, s.b]), ...own.map((o) => o.name)])];
  const seen = new Map<string, NeighborStatus[] | undefined>();
  const ask = async (list: string[]) => {
    const facts = await deps.facts().catch(() => undefined);
    const read = facts ? await deps.daemons.answers(listed(list, facts), READS_AT_ONCE) : new Map();
    for (const n of list) {
      const r = read.get(n);
      seen.set(n, r?.daemon === 'running' ? r.neighbors : undefined);
    }
  };
  const sessions = () => sessionStates(desired, seen);
  const isDown = (s: Sessions[number]) => s.a_state !== 'Established' || s.b_state !== 'Established';
  const ownDown = () =>
    own.flatMap(({ name, peers }) => {
      const nb = seen.get(name);
      if (!nb) return [{ name, label: `${name} (not answering)` }];
      const addresses = [...new Set([...peers, ...nb.map((x) => x.address)])];
      const state = (a: string) => nb.find((x) => x.address === a)?.state;
      return addresses
        .filter((a) => state(a) !== 'Established')
        .map((a) => ({ name, label: `${name} -> ${a} (${state(a) ?? 'not configured yet'})` }));
    });
  const total = desired.sessions.length + own.length;
  let pending = names;
  let confirmed = false;
  while (true) {
    const round = Date.now();
    await ask(pending);
    const roundMs = Date.now() - round;
    const downOwn = ownDown();
    const downSessions = sessions().filter(isDown);
    const down = [
      ...downSessions.map((s) => ({ names: [s.a, s.b], label: `${s.a} <-> ${s.b} (${s.a_state ?? 'unknown'}/${s.b_state ?? 'unknown'})` })),
      ...downOwn.map((o) => ({ names: [o.name], label: o.label })),
    ];
    const waited = (Date.now() - t0) / 1000;
    const ownUp = own.filter((o) => !downOwn.some((d) => d.name === o.name)).length;
    ctx.progress?.(
      `${desired.sessions.length - downSessions.length + ownUp}/${total} sessions (and routers with their own config) Established`,
      0.95,
    );
    if (down.length === 0 && !confirmed) {
      confirmed = true;
      pending = names;
      continue;
    }
    if (down.length === 0 || waited >= seconds || ctx.signal?.aborted) {
      return {
        all: down.length === 0,
        waited_s: Math.round(waited * 10) / 10,
        not_established: down.map((d) => d.label),
      };
    }
    confirmed = false;
    pending = [...new Set(down.flatMap((d) => d.names))];
    // 1 s between rounds, or as long as the round took up to 3 s: reading 100 daemons still
    // starting takes CPU they need to start, so polling gets about half of the time, and an
    // Established session is still seen within seconds.
    await new Promise((r) => setTimeout(r, Math.min(3000, Math.max(1000, roundMs))));
  }
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
  // The containers as the label query found them; each running daemon read once, a few at a time.
  const statuses = await deps.daemons.answers(listed(daemonNames, facts), READS_AT_ONCE);
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
  const neighbors = new Map([...statuses].map(([n, st]) => [n, st.daemon === 'running' ? st.neighbors : undefined]));
  return { nodes, sessions: sessionStates(desired, neighbors), tunnels };
}
