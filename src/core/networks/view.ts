import { createHash } from 'node:crypto';
import { parseSubnet, type Subnet } from '../ipam.js';
import type { NetworkRecord } from '../store/schema.js';

export interface NetworkCreateInput {
  name: string;
  subnet: string;
  gateway?: string | undefined;
  driver?: 'bridge' | 'macvlan' | undefined;
  parent?: string | undefined;
  internal?: boolean | undefined;
  topology?: string | undefined;
  /** the engine (NSLAB_ENGINES) a bridge goes on; default: the first */
  engine?: string | undefined;
  /** 'swarm': an attachable overlay network spanning the joined engines, instead of a bridge on one */
  scope?: 'local' | 'swarm' | undefined;
}

export interface NetworkView {
  name: string;
  subnet: string;
  gateway: string;
  driver: 'bridge' | 'macvlan' | 'overlay';
  engine?: string | undefined;
  internal: boolean;
  bridge?: string | undefined;
  topology?: string | undefined;
  /** present: Docker has it; missing: only the store remembers it (sync can recreate it) */
  state: 'present' | 'missing';
  containers: Array<{ name: string; ip: string }>;
  warnings?: string[];
}

/** Bridge names are at most 15 characters; derive one from the network name so rules can find it. */
export const bridgeName = (name: string): string => `nsl${createHash('sha1').update(name).digest('hex').slice(0, 12)}`;

/** Fields of a network record its label leaves out: Docker knows them, or they are only under way. */
export const NETWORK_RECORD_OMIT = ['id', 'allocations', 'pending'] as const;

export const subnetOf = (rec: NetworkRecord): Subnet => parseSubnet(rec.subnet) as Subnet;

/** What callers see of a network record. */
export function networkView(rec: NetworkRecord, present: boolean, warnings?: string[]): NetworkView {
  return {
    name: rec.name,
    subnet: rec.subnet,
    gateway: rec.gateway,
    driver: rec.driver,
    ...(rec.engine ? { engine: rec.engine } : {}),
    internal: rec.internal,
    bridge: rec.bridge,
    topology: rec.topology,
    state: present ? 'present' : 'missing',
    containers: Object.entries(rec.allocations)
      .map(([ip, name]) => ({ name, ip }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    ...(warnings?.length ? { warnings } : {}),
  };
}
