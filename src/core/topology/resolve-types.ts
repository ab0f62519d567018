/**
 * What resolving a topology produces (the desired lab), and the context each resolving step
 * shares: the spec, the store state it reads, and where problems are collected.
 */
import type { BgpNeighbor, DaemonKind } from '../bgp/types.js';
import type { FieldIssue } from '../errors.js';
import type { NodeOwn } from '../nodes/own.js';
import type { StoreState, TunnelMode } from '../store/schema.js';
import type { TopologySpec } from './spec.js';

export const PRIVATE_ASN = { first: 64512, last: 65534 } as const;

export interface DesiredNetwork {
  key: string;
  name: string;
  subnet: string;
  gateway: string;
  /** several engines (set by placement): a swarm overlay network */
  overlay?: boolean | undefined;
  /** one engine of several (set by placement): the bridge is there */
  engine?: string | undefined;
}

interface NodeBaseDesired {
  key: string;
  name: string;
  interfaces: Array<{ network: string; ip: string; name?: string | undefined }>;
  engine?: string | undefined;
  /** its own configuration, files and exec lines, when it brings them */
  own?: NodeOwn | undefined;
}

export interface DesiredDaemon extends NodeBaseDesired {
  role: 'daemon';
  kind: DaemonKind;
  asn: number;
  router_id: string;
  neighbors: BgpNeighbor[];
  advertise: string[];
  /** a route server for all its sessions */
  route_server?: boolean | undefined;
}

export interface DesiredHost extends NodeBaseDesired {
  role: 'host';
  /** the full name of a gateway node, or an IPv4 address */
  gateway?: string | undefined;
  loopback?: string | undefined;
}

export type DesiredNode = DesiredDaemon | DesiredHost;

export interface DesiredTunnel {
  name: string;
  mode: TunnelMode;
  underlay: string;
  a: { container: string; tunnel_ip: string; underlay_ip: string };
  b: { container: string; tunnel_ip: string; underlay_ip: string };
  key?: number | undefined;
  ttl: number;
  mtu: number;
}

export interface DesiredSession {
  a: string;
  b: string;
  a_ip: string;
  b_ip: string;
  /** "network triangle-core" or "tunnel t12" (or "own config") */
  via: string;
  /** read from the routers' own configs (resolve-own.ts): not the lab's to make or remove */
  own?: boolean | undefined;
}

export interface Desired {
  topology: string;
  networks: DesiredNetwork[];
  nodes: DesiredNode[];
  tunnels: DesiredTunnel[];
  sessions: DesiredSession[];
}

export const fullName = (topology: string, key: string): string => `${topology}-${key}`;

/** Shared by every resolving step: what is read, and `bad` to report a problem at a field path. */
export interface ResolveContext {
  spec: TopologySpec;
  state: StoreState;
  /** the topology's name */
  topo: string;
  /** several engines: auto addresses stay out of the block Docker keeps on overlays */
  swarm: boolean;
  /** whether a store record belongs to this topology */
  owned: (rec: { topology?: string | undefined } | undefined) => boolean;
  bad: (path: string, message: string) => void;
  issues: FieldIssue[];
}

export function resolveContext(spec: TopologySpec, state: StoreState, swarm: boolean): ResolveContext {
  const issues: FieldIssue[] = [];
  const topo = spec.name;
  return {
    spec,
    state,
    topo,
    swarm,
    owned: (rec) => rec?.topology === topo,
    bad: (path, message) => {
      issues.push({ path, message });
    },
    issues,
  };
}
