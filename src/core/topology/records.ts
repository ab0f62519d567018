/**
 * The store's side of a standup, as pure changes of the state: the records a plan makes, the one
 * transaction that reserves them (and forgets what went), and the ones that settle a run (ids
 * recorded, a rollback released, a failure kept for inspection). Docker is not touched here.
 */
import { LABELS } from '../docker/labels.js';
import type { Placement } from '../engines/placement.js';
import { LabError } from '../errors.js';
import { bridgeName, Networks } from '../networks.js';
import type { DaemonRecord, HostRecord, NetworkRecord, StoreState } from '../store/schema.js';
import type { DockerFacts } from './plan.js';
import type { Desired, DesiredNetwork, DesiredNode, DesiredTunnel } from './resolve.js';

const now = () => new Date().toISOString();

export type Facts = Awaited<ReturnType<typeof dockerFacts>>;

/**
 * What Docker holds for a topology of this store, found by label in one query per kind and
 * engine; `engineOf` says which engine each container is on, `down` which engines did not answer.
 */
export async function dockerFacts(
  placement: Placement,
  topology: string,
): Promise<
  DockerFacts & {
    containerIds: Map<string, string>;
    networkIds: Map<string, string>;
    engineOf: Map<string, string>;
    /** each container's role label (daemon, host, ...) */
    roles: Map<string, string>;
    down: Array<{ name: string; error: string }>;
  }
> {
  const owned = await placement.listOwned(topology);
  const containers = new Map<string, 'running' | 'paused' | 'stopped' | 'restarting'>();
  const containerIds = new Map<string, string>();
  const engineOf = new Map<string, string>();
  const roles = new Map<string, string>();
  for (const c of owned.containers) {
    const name = (c.Names[0] ?? '').replace(/^\//, '');
    roles.set(name, c.Labels?.[LABELS.role] ?? '');
    containers.set(name, c.State === 'running' || c.State === 'paused' || c.State === 'restarting' ? c.State : 'stopped');
    containerIds.set(name, c.Id);
    engineOf.set(name, owned.engineOf.get(c.Id) ?? placement.defaultName);
  }
  const ns = owned.networks;
  return {
    containers,
    containerIds,
    engineOf,
    roles,
    down: owned.down,
    networks: new Set(ns.map((n) => n.Name)),
    networkIds: new Map(ns.map((n) => [n.Name, n.Id])),
  };
}

export function nodeRecord(n: DesiredNode, topology: string): DaemonRecord | HostRecord {
  const common = {
    name: n.name,
    interfaces: n.interfaces,
    topology,
    ...(n.engine ? { engine: n.engine } : {}),
    ...(n.own ? { own: n.own } : {}),
    desired: 'running' as const,
    created_at: now(),
  };
  if (n.role === 'daemon') {
    return {
      ...common,
      kind: n.kind,
      asn: n.asn,
      router_id: n.router_id,
      neighbors: n.neighbors,
      advertise: n.advertise,
      ...(n.route_server ? { route_server: true } : {}),
    };
  }
  return { ...common, ...(n.gateway ? { gateway: n.gateway } : {}), ...(n.loopback ? { loopback: n.loopback } : {}) };
}

export function networkRecord(n: DesiredNetwork, topology: string): NetworkRecord {
  return {
    name: n.name,
    subnet: n.subnet,
    gateway: n.gateway,
    // Nodes on several engines share an attachable overlay of the swarm; otherwise a bridge.
    ...(n.overlay ? { driver: 'overlay' as const } : { driver: 'bridge' as const, bridge: bridgeName(n.name) }),
    ...(n.engine ? { engine: n.engine } : {}),
    internal: true,
    topology,
    created_at: now(),
    allocations: {},
  };
}

/** The ids Docker gave to what a run made, filled in by its steps. */
export interface Made {
  networks: Map<string, string>;
  nodes: Map<string, { id: string; image: string }>;
}

/** Write the ids Docker gave to what this run made. */
export function recordMade(s: StoreState, made: Made): void {
  for (const [name, id] of made.networks) if (s.networks[name]) (s.networks[name] as NetworkRecord).id = id;
  for (const [name, r] of made.nodes) {
    const rec = s.daemons[name] ?? s.hosts[name];
    if (rec) {
      rec.container_id = r.id;
      rec.image = r.image;
    }
  }
}

/** An address the plan gives a node that someone else holds in the store (taken meanwhile). */
export function refuseTakenAddresses(s: StoreState, desired: Desired): void {
  for (const n of desired.nodes) {
    for (const i of n.interfaces) {
      const holder = s.networks[i.network]?.allocations[i.ip];
      const ours = holder !== undefined && desired.nodes.some((x) => x.name === holder);
      if (holder !== undefined && holder !== n.name && !ours) {
        throw new LabError('CONFLICT', `${i.ip} on '${i.network}' was taken by '${holder}' meanwhile`, { hint: 'run the standup again' });
      }
    }
  }
}

/** Drop a node's records and the addresses it holds from the state. */
export function forgetNode(s: StoreState, name: string): void {
  delete s.daemons[name];
  delete s.hosts[name];
  Networks.release(s, name);
}

/** What a standup makes and removes, by name; see `workOf` in ./standup-steps.ts. */
export interface Changes {
  goneTunnels: readonly string[];
  goneNodes: readonly string[];
  goneNets: readonly string[];
  createNets: readonly DesiredNetwork[];
  createNodes: readonly DesiredNode[];
  createTunnels: readonly DesiredTunnel[];
}

/** One transaction: forget what went, reserve every name and address this run makes. */
export function reserve(s: StoreState, desired: Desired, c: Changes): void {
  const topo = desired.topology;
  for (const t of c.goneTunnels) delete s.tunnels[t];
  for (const n of c.goneNodes) forgetNode(s, n);
  for (const n of c.goneNets) delete s.networks[n];
  for (const n of c.createNets) s.networks[n.name] = networkRecord(n, topo);
  for (const n of c.createNodes) {
    const rec = nodeRecord(n, topo);
    if ('kind' in rec) s.daemons[n.name] = rec;
    else s.hosts[n.name] = rec;
  }
  refuseTakenAddresses(s, desired);
  for (const n of desired.nodes) {
    for (const i of n.interfaces) {
      const net = s.networks[i.network];
      if (net) net.allocations[i.ip] = n.name;
    }
  }
  for (const t of c.createTunnels) s.tunnels[t.name] = { ...t, topology: topo, created_at: now() };
  const rec = s.topologies[topo];
  if (rec) rec.deployed = true;
}

/** After a rollback: the records this run reserved are released; what stayed from before is kept. */
export function release(s: StoreState, topo: string, c: Changes): void {
  for (const n of c.createNodes) forgetNode(s, n.name);
  for (const n of c.createNets) delete s.networks[n.name];
  for (const t of c.createTunnels) delete s.tunnels[t.name];
  const rec = s.topologies[topo];
  // Deployed only if something of it still runs from before this standup.
  if (rec)
    rec.deployed = Object.values(s.daemons).some((d) => d.topology === topo) || Object.values(s.hosts).some((h) => h.topology === topo);
}
