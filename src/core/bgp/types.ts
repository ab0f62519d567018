/** Pure data the BGP drivers work on. Nothing here touches Docker. */

export const DAEMON_KINDS = ['frr', 'gobgp', 'exabgp', 'bird', 'openbgpd'] as const;
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
  /** announce routes to this peer with this router as next hop (FRR only) */
  next_hop_self?: boolean | undefined;
  /** run BFD with this peer (FRR only) */
  bfd?: boolean | undefined;
  /** BGP hold time in seconds (0 or 3..65535); absent: LAB_TIMERS.hold */
  hold_s?: number | undefined;
  /** seconds between keepalives (at most hold_s/3); absent: LAB_TIMERS.keepalive, or hold_s/3 when less */
  keepalive_s?: number | undefined;
  /**
   * the peer is a route server: it does not put its own AS first in the paths it sends, so the
   * check that the first AS is the peer's is off for it (set on the clients of a `route_server` node)
   */
  route_server?: boolean | undefined;
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
  /**
   * Act as a route server for every neighbor: transparent (its own AS is not added to the AS
   * path, the next hop is passed on unchanged), each client getting what the others announced.
   */
  route_server?: boolean | undefined;
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
  /** the BFD session with this peer, where the daemon runs one (FRR) */
  bfd?: 'up' | 'down';
}

export interface RouteEntry {
  prefix: string;
  next_hop?: string;
  as_path?: number[];
  best?: boolean;
  /** out: a route this daemon advertises (ExaBGP's adj-rib-out); absent or in: a route it holds */
  direction?: 'in' | 'out';
  /** the peer the route was received from or is advertised to, where the daemon says */
  neighbor?: string;
}

/** One change to a running daemon's BGP configuration. */
export type BgpChange =
  | { op: 'peer_add'; neighbor: BgpNeighbor }
  | { op: 'peer_remove'; address: string }
  | { op: 'advertise'; prefix: string }
  | { op: 'withdraw'; prefix: string }
  /** the rendered files changed for another reason (interfaces): make the daemon read them again */
  | { op: 'reload' }
  /** `route_server` was turned on or off (the configuration after the change says which) */
  | { op: 'route_server' };

/**
 * live: commands to the running daemon, nothing restarted; reload: the daemon process re-reads
 * its configuration file (sessions that did not change stay up); config_only: the container is
 * not running, the files take effect when it starts.
 */
export type ApplyMode = 'live' | 'reload' | 'config_only';

/** How a driver applies a change: argv commands run in the container after the files are written. */
export interface ApplyPlan {
  mode: Exclude<ApplyMode, 'config_only'>;
  commands: string[][];
  /** after the commands, neighbors the daemon must (not) report before the change counts as applied */
  expect?: { present?: string[]; absent?: string[] };
}

/** One per daemon kind: how to configure it and how to read its state back. */
export interface DaemonDriver {
  kind: DaemonKind;
  /** Render every config file the daemon's image expects. */
  render(cfg: BgpConfig): ConfigFile[];
  /** argv run inside the container (no shell) whose stdout parseNeighbors reads. */
  neighborsCommand: string[];
  /**
   * A cheaper argv for reading only each session's state (many daemons at once: topology_status,
   * waiting for sessions), whose stdout parseNeighbors also reads; counters may be missing from
   * what it gives. Absent: neighborsCommand.
   */
  statesCommand?: string[];
  /** Neighbors as the daemon reports them, in configuration order (none made up). */
  parseNeighbors(stdout: string, cfg: BgpConfig): NeighborStatus[];
  /**
   * Every neighbor read through the daemon's own API instead of neighborsCommand/statesCommand
   * (GoBGP's gRPC on the container's loopback, relayed by src/core/docker/relay.ts): the same
   * answer as neighborsCommand, and no process started. The commands stay the way when the API
   * cannot be reached.
   */
  api?: {
    /** the API's port on the container's 127.0.0.1 */
    port: number;
    /** the gRPC method, `/package.Service/Method` */
    path: string;
    /** its request, protobuf-encoded */
    request: Uint8Array;
    /** the answer's messages to neighbors, like parseNeighbors */
    parse(messages: Buffer[], cfg: BgpConfig): NeighborStatus[];
  };
  /**
   * Whether the neighbors command's failed output says the node runs no BGP at all (an FRR whose
   * own `daemons` file leaves bgpd off): a node with its own config may be OSPF or IS-IS only.
   */
  runsNoBgp?(output: string): boolean;
  /** argv whose stdout parseRoutes reads. */
  routesCommand: string[];
  parseRoutes(stdout: string): RouteEntry[];
  /** How to apply `change` to the running daemon, `after` being the configuration once applied. */
  apply(change: BgpChange, after: BgpConfig): ApplyPlan;
  /** Per-neighbor options this kind cannot configure, by field name, with the reason. */
  unsupported?: Partial<Record<keyof BgpNeighbor, string>>;
  /** Values of options it has that this kind still cannot configure: the field and why, else undefined. */
  neighborProblem?(n: BgpNeighbor): { field: keyof BgpNeighbor; why: string } | undefined;
  /** The refusal of `route_server: true` for this kind (`<kind> cannot be a route server (why)`); absent: it can be one. */
  noRouteServer?: string;
  /** Whether the output of an apply command is a refusal (some CLIs refuse with exit code 0). */
  refused(output: string): boolean;
}
