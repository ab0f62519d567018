import { z } from 'zod';
import { DAEMON_KINDS } from '../bgp/types.js';

/** Schema of state.json. Bump STORE_VERSION and add a migration when the shape changes. */
export const STORE_VERSION = 1;

export const InterfaceRecord = z.object({ network: z.string(), ip: z.string() });

export const NetworkRecord = z.object({
  name: z.string(),
  id: z.string().optional(),
  subnet: z.string(),
  gateway: z.string(),
  driver: z.enum(['bridge', 'macvlan']),
  parent: z.string().optional(),
  internal: z.boolean(),
  bridge: z.string().optional(),
  topology: z.string().optional(),
  created_at: z.string(),
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
});

export const DaemonRecord = z.object({
  name: z.string(),
  kind: z.enum(DAEMON_KINDS),
  asn: z.number().int(),
  router_id: z.string(),
  interfaces: z.array(InterfaceRecord),
  neighbors: z.array(NeighborRecord),
  advertise: z.array(z.string()),
  image: z.string().optional(),
  container_id: z.string().optional(),
  topology: z.string().optional(),
  /** what the user last asked for; Docker holds whether it actually runs */
  desired: z.enum(['running', 'stopped']),
  created_at: z.string(),
});
export type DaemonRecord = z.infer<typeof DaemonRecord>;

export const HostRecord = z.object({
  name: z.string(),
  interfaces: z.array(InterfaceRecord),
  gateway: z.string().optional(),
  loopback: z.string().optional(),
  image: z.string().optional(),
  container_id: z.string().optional(),
  topology: z.string().optional(),
  desired: z.enum(['running', 'stopped']),
  created_at: z.string(),
});
export type HostRecord = z.infer<typeof HostRecord>;

export const StoreState = z
  .object({
    version: z.literal(STORE_VERSION),
    networks: z.record(z.string(), NetworkRecord),
    daemons: z.record(z.string(), DaemonRecord),
    hosts: z.record(z.string(), HostRecord),
  })
  .loose();
export type StoreState = z.infer<typeof StoreState>;

export const emptyState = (): StoreState => ({ version: STORE_VERSION, networks: {}, daemons: {}, hosts: {} });
