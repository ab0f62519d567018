/** Pure data the BGP drivers work on. Nothing here touches Docker. */

export const DAEMON_KINDS = ['frr', 'gobgp', 'exabgp'] as const;
export type DaemonKind = (typeof DAEMON_KINDS)[number];

export const BGP_STATES = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'] as const;
export type BgpState = (typeof BGP_STATES)[number];

export interface BgpNeighbor {
  address: string;
  asn: number;
  password?: string | undefined;
  description?: string | undefined;
  /** eBGP multihop TTL; absent means directly connected. */
  multihop?: number | undefined;
}

export interface BgpInterface {
  network: string;
  /** address without prefix length, e.g. 10.10.0.11 */
  ip: string;
  /** the network's subnet, e.g. 10.10.0.0/24 */
  subnet: string;
}

/** Everything a driver needs to render a daemon's configuration. All fields are already validated. */
export interface BgpConfig {
  name: string;
  kind: DaemonKind;
  asn: number;
  router_id: string;
  interfaces: BgpInterface[];
  neighbors: BgpNeighbor[];
  /** IPv4 prefixes in CIDR form that the daemon originates. */
  advertise: string[];
}

/** A file to place inside the container before it starts. */
export interface ConfigFile {
  path: string;
  content: string;
  mode?: number;
}

export interface NeighborStatus {
  address: string;
  asn: number;
  state: BgpState;
  uptime_s?: number;
  prefixes_received?: number;
  prefixes_sent?: number;
}

export interface RouteEntry {
  prefix: string;
  next_hop?: string;
  as_path?: number[];
  best?: boolean;
}

/** One per daemon kind: how to configure it and how to read its state back. */
export interface DaemonDriver {
  kind: DaemonKind;
  /** Render every config file the daemon's image expects. */
  render(cfg: BgpConfig): ConfigFile[];
  /** argv run inside the container (no shell) whose stdout parseNeighbors reads. */
  neighborsCommand: string[];
  parseNeighbors(stdout: string, cfg: BgpConfig): NeighborStatus[];
  /** argv whose stdout parseRoutes reads. */
  routesCommand: string[];
  parseRoutes(stdout: string): RouteEntry[];
}
