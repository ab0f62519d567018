import { z } from 'zod';
import { DAEMON_KINDS } from '../bgp/types.js';
import { bareMap, toBareMap } from '../keys.js';

/**
 * Schema of state.json. Bump STORE_VERSION and add a migration when the shape changes. Records are
 * read loose: fields a newer version wrote into a network, daemon, host, tunnel or topology record
 * survive a read and a write by this one (the TypeScript types stay the known shape).
 */
export const STORE_VERSION = 1;

/** `name`: the interface's name inside the container, when the lab chose it (else Docker's eth0, eth1, ... in attach order). */
export const InterfaceRecord = z.object({ network: z.string(), ip: z.string(), name: z.string().optional() });

/** What a node brought of its own instead of what the lab renders (../nodes/own.ts). */
export const OwnRecord = z.object({
  config: z.string().optional(),
  files: z.array(z.object({ path: z.string(), content: z.string() })).optional(),
  exec: z.array(z.string()).optional(),
});

/**
 * A create or delete under way, written before Docker is touched and dropped once the store and
 * Docker agree again: a process killed in between leaves it, and sync_run finishes the job (a
 * create is completed, a delete is carried out) once the process that wrote it is gone.
 */
export const Pending = z.object({ op: z.enum(['create', 'delete']), pid: z.number().int(), host: z.string(), at: z.string() });
export type Pending = z.infer<typeof Pending>;

export const NetworkRecord = z.object({
  name: z.string(),
  id: z.string().optional(),
  subnet: z.string(),
  gateway: z.string(),
  driver: z.enum(['bridge', 'macvlan', 'overlay']),
  /** the engine (NSLAB_ENGINES) a bridge is on; absent: the first. An overlay spans the swarm. */
  engine: z.string().optional(),
  parent: z.string().optional(),
  internal: z.boolean(),
  bridge: z.string().optional(),
  topology: z.string().optional(),
  created_at: z.string(),
  pending: Pending.optional(),
  /** ip -> name of the container it is reserved for */
  allocations: z.record(z.string(), z.string()),
});
export type NetworkRecord = z.infer<typeof NetworkRecord>;

export const NeighborRecord = z.object({
  address: z.string(),
  asn: z.number().int(),
  password: z.string().optional(),
  description: z.string().optional(),
  multihop: z.number().int().optional(),
  next_hop_self: z.boolean().optional(),
  bfd: z.boolean().optional(),
  hold_s: z.number().int().optional(),
  keepalive_s: z.number().int().optional(),
  /** the peer is a route server */
  route_server: z.boolean().optional(),
});

export const DaemonRecord = z.object({
  name: z.string(),
  kind: z.enum(DAEMON_KINDS),
  asn: z.number().int(),
  router_id: z.string(),
  interfaces: z.array(InterfaceRecord),
  neighbors: z.array(NeighborRecord),
  advertise: z.array(z.string()),
  /** a route server for all its neighbors (transparent AS path, next hop unchanged) */
  route_server: z.boolean().optional(),
  own: OwnRecord.optional(),
  image: z.string().optional(),
  container_id: z.string().optional(),
  topology: z.string().optional(),
  /** the engine (NSLAB_ENGINES) it runs on; absent: the first */
  engine: z.string().optional(),
  /** what the user last asked for; Docker holds whether it actually runs */
  desired: z.enum(['running', 'stopped']),
  created_at: z.string(),
  pending: Pending.optional(),
});
export type DaemonRecord = z.infer<typeof DaemonRecord>;

export const HostRecord = z.object({
  name: z.string(),
  interfaces: z.array(InterfaceRecord),
  gateway: z.string().optional(),
  loopback: z.string().optional(),
  own: OwnRecord.optional(),
  image: z.string().optional(),
  container_id: z.string().optional(),
  topology: z.string().optional(),
  /** the engine (NSLAB_ENGINES) it runs on; absent: the first */
  engine: z.string().optional(),
  desired: z.enum(['running', 'stopped']),
  created_at: z.string(),
  pending: Pending.optional(),
});
export type HostRecord = z.infer<typeof HostRecord>;

export const TUNNEL_MODES = ['gre', 'vxlan'] as const;
export type TunnelMode = (typeof TUNNEL_MODES)[number];

/** One end of a tunnel inside a lab container. */
export const TunnelEndRecord = z.object({
  container: z.string(),
  /** the inner address with its prefix length, e.g. 172.31.0.1/30 */
  tunnel_ip: z.string(),
  /** this end's address on the underlay network (the tunnel's local address) */
  underlay_ip: z.string(),
});
export type TunnelEndRecord = z.infer<typeof TunnelEndRecord>;

export const TunnelRecord = z.object({
  name: z.string(),
  mode: z.enum(TUNNEL_MODES),
  /** the network both ends' underlay addresses are on (absent for a tunnel to an outside address
   * whose end has no lab network in common with it) */
  underlay: z.string(),
  a: TunnelEndRecord,
  /** the far end: another lab container, or an address outside the lab */
  b: z.union([TunnelEndRecord, z.object({ remote_ip: z.string() })]),
  /** GRE key / VXLAN VNI */
  key: z.number().int().optional(),
  ttl: z.number().int(),
  mtu: z.number().int(),
  topology: z.string().optional(),
  created_at: z.string(),
});
export type TunnelRecord = z.infer<typeof TunnelRecord>;

export const TopologyRecord = z.object({
  name: z.string(),
  /** the file as parsed (validated again whenever it is used) */
  spec: z.record(z.string(), z.unknown()),
  /** the YAML text it came from, kept for the user */
  yaml: z.string().optional(),
  created_at: z.string(),
  updated_at: z.string(),
  /** standup has run and teardown has not */
  deployed: z.boolean(),
  /** the one topology topology_activate last stood up */
  active: z.boolean().optional(),
  last_standup: z.object({ at: z.string(), ok: z.boolean(), summary: z.string() }).optional(),
  /** a standup, teardown or activate in progress: one at a time per topology */
  lease: z.object({ op: z.string(), pid: z.number().int(), host: z.string(), at: z.string() }).optional(),
});
export type TopologyRecord = z.infer<typeof TopologyRecord>;

/**
 * A fault put into a running lab on purpose (fault_inject), kept until fault_clear, teardown or
 * standup undoes it. What undoing needs is kept with it: the interface inside the container, and
 * the routes through it that the kernel drops with the link (as `ip route` arguments).
 */
export const FaultRecord = z.object({
  id: z.string(),
  kind: z.enum(['link_down', 'node_pause', 'daemon_kill']),
  node: z.string(),
  network: z.string().optional(),
  interface: z.string().optional(),
  routes: z.array(z.array(z.string())).optional(),
  topology: z.string().optional(),
  at: z.string(),
});
export type FaultRecord = z.infer<typeof FaultRecord>;

const storeShape = <N, D, H, T, P>(n: z.ZodType<N>, d: z.ZodType<D>, h: z.ZodType<H>, t: z.ZodType<T>, p: z.ZodType<P>) =>
  z
    .object({
      version: z.literal(STORE_VERSION),
      /** random, made with the file: what the ownership labels carry */
      id: z.string().optional(),
      networks: z.record(z.string(), n),
      daemons: z.record(z.string(), d),
      hosts: z.record(z.string(), h),
      tunnels: z.record(z.string(), t).default({}),
      topologies: z.record(z.string(), p).default({}),
      faults: z.record(z.string(), FaultRecord.loose()).default({}),
    })
    .loose();

/** What is read and written: unknown fields kept at the top and in every record. */
export const StoreState = storeShape(
  NetworkRecord.loose(),
  DaemonRecord.loose(),
  HostRecord.loose(),
  TunnelRecord.loose(),
  TopologyRecord.loose(),
);
/** The known shape, for the code. */
export type StoreState = z.infer<ReturnType<typeof storeShape<NetworkRecord, DaemonRecord, HostRecord, TunnelRecord, TopologyRecord>>>;

export const emptyState = (): StoreState => ({
  version: STORE_VERSION,
  networks: bareMap(),
  daemons: bareMap(),
  hosts: bareMap(),
  tunnels: bareMap(),
  topologies: bareMap(),
  faults: bareMap(),
});

/**
 * Records are looked up by the names callers give: a map with a prototype answers `constructor`
 * (a valid name) with Object. Every map of records read from the file has none.
 */
export function bareRecords(s: StoreState): StoreState {
  s.networks = toBareMap(s.networks);
  for (const n of Object.values(s.networks)) n.allocations = toBareMap(n.allocations);
  s.daemons = toBareMap(s.daemons);
  s.hosts = toBareMap(s.hosts);
  s.tunnels = toBareMap(s.tunnels);
  s.topologies = toBareMap(s.topologies);
  s.faults = toBareMap(s.faults);
  return s;
}
