import { z } from 'zod';
import { BGP_STATES, DAEMON_KINDS } from '../src/core/bgp/types.js';
import { DaemonRecord, NeighborRecord } from '../src/core/store/schema.js';
import { defineTool } from './define.js';
import {
  Asn,
  ContainerState,
  Deleted,
  EngineName,
  ExecInput,
  ExecOutput,
  InterfaceInput,
  Ipv4,
  LIMITS,
  Name,
  NameInput,
  NeighborFields,
  NODE_INTERNALS,
  Prefix,
  RouterId,
} from './schemas.js';

const NeighborInput = z.strictObject(NeighborFields);

/** A neighbor as tools show it: as stored, with whether it has a password instead of the password. */
const NeighborView = NeighborRecord.omit({ password: true }).extend({ has_password: z.boolean() });

// A daemon as tools show it: its record's fields (a field added to the record is shown too), and
// the container's state as Docker reports it, in the order replies list them.
const { image, topology, engine, ...config } = DaemonRecord.omit(NODE_INTERNALS).shape;
const Daemon = z.object({
  ...config,
  neighbors: z.array(NeighborView),
  state: ContainerState,
  image,
  topology,
  engine: engine.describe('the engine (NSLAB_ENGINES) it runs on; absent: the first'),
});

const DaemonStatus = z.object({
  name: z.string(),
  kind: z.enum(DAEMON_KINDS),
  state: ContainerState,
  daemon: z
    .enum(['running', 'not_answering', 'restarting', 'stopped'])
    .describe(
      'whether the BGP daemon itself answered: running (neighbors below are as it reported them), not_answering, restarting (it keeps exiting), stopped',
    ),
  neighbors: z.array(
    z.object({
      address: z.string(),
      asn: z.number(),
      state: z.enum(BGP_STATES),
      uptime_s: z.number().optional(),
      prefixes_received: z.number().optional(),
      prefixes_sent: z.number().optional(),
      bfd: z.enum(['up', 'down']).optional().describe('the BFD session with this peer, for FRR peers with bfd set'),
    }),
  ),
  routes: z
    .array(
      z.object({
        prefix: z.string(),
        next_hop: z.string().optional(),
        as_path: z.array(z.number()).optional(),
        best: z.boolean().optional(),
        direction: z.enum(['in', 'out']).optional().describe('out: a route this daemon advertises (ExaBGP)'),
        neighbor: z.string().optional(),
      }),
    )
    .optional(),
  note: z.string().optional(),
});

const DaemonChange = z.object({
  name: z.string(),
  applied: z
    .enum(['live', 'reload', 'config_only'])
    .describe(
      'live: applied to the running daemon; reload: the daemon process re-read its configuration (container not restarted); config_only: the container is not running, the change takes effect at its next start',
    ),
  note: z.string(),
  daemon: Daemon,
});

const PrefixInput = z.strictObject({ name: Name, prefix: Prefix.describe('IPv4 prefix, e.g. 198.51.100.0/24') });

export const daemonTools = [
  defineTool({
    name: 'daemon_list',
    title: 'List BGP daemons',
    description:
      'List the lab BGP daemons (FRR, GoBGP, ExaBGP, BIRD, OpenBGPD) with AS, router id, addresses and whether their container runs.',
    toolset: 'daemons',
    effect: 'read',
    idempotent: true,
    http: { method: 'GET', path: '/daemons' },
    input: z.strictObject({}),
    output: z.object({ daemons: z.array(Daemon) }),
    handle: async (lab) => ({ daemons: await lab.daemons.list() }),
  }),
  defineTool({
    name: 'daemon_get',
    title: 'Show a BGP daemon',
    description: "Show one daemon's configuration (AS, router id, interfaces, neighbors, advertised prefixes) and container state.",
    toolset: 'daemons',
    effect: 'read',
    idempotent: true,
    http: { method: 'GET', path: '/daemons/{name}' },
    input: NameInput,
    output: Daemon,
    handle: (lab, i) => lab.daemons.get(i.name),
  }),
  defineTool({
    name: 'daemon_create',
    title: 'Create BGP daemon',
    description:
      'Start an FRR, GoBGP, ExaBGP, BIRD or OpenBGPD container on lab networks with a generated BGP configuration (lab timers: sessions come up in seconds). Addresses are allocated when omitted. Builds the lab image on first use. Check sessions with daemon_status.',
    toolset: 'daemons',
    effect: 'write',
    idempotent: false,
    http: { method: 'POST', path: '/daemons' },
    input: z.strictObject({
      name: Name,
      kind: z.enum(DAEMON_KINDS).describe('frr, gobgp, exabgp, bird or openbgpd'),
      asn: Asn,
      router_id: RouterId.optional(),
      interfaces: z
        .array(InterfaceInput)
        .min(1, 'give at least one interface, e.g. [{"network": "core"}]')
        .max(LIMITS.interfaces, `at most ${LIMITS.interfaces} interfaces`)
        .describe('networks to attach, first one first'),
      neighbors: z.array(NeighborInput).max(LIMITS.neighbors, `at most ${LIMITS.neighbors} neighbors`).optional().describe('BGP peers'),
      advertise: z
        .array(Prefix)
        .max(LIMITS.prefixes, `at most ${LIMITS.prefixes} prefixes`)
        .optional()
        .describe('prefixes this daemon originates'),
      route_server: z
        .boolean()
        .optional()
        .describe(
          'act as a route server for every neighbor: its AS stays out of the AS path and the next hop is passed on unchanged (bird, frr, gobgp, openbgpd; not exabgp)',
        ),
      engine: EngineName.optional().describe('the Docker engine (NSLAB_ENGINES) to run on; default: the first'),
    }),
    output: Daemon,
    handle: (lab, i, ctx) => lab.daemons.create(i, ctx),
  }),
  defineTool({
    name: 'daemon_delete',
    title: 'Delete BGP daemon',
    description:
      'Remove a lab daemon: its container, its addresses and its record. Containers not created by netstream-lab are never touched.',
    toolset: 'daemons',
    effect: 'destructive',
    idempotent: false,
    confirm: (a) => `Remove daemon '${a.name}': its container, its addresses and its record (its tunnels go with it).`,
    http: { method: 'DELETE', path: '/daemons/{name}' },
    input: NameInput,
    output: Deleted,
    handle: (lab, i) => lab.daemons.delete(i.name),
  }),
  defineTool({
    name: 'daemon_start',
    title: 'Start BGP daemon',
    description: "Start a stopped daemon's container; if the container is gone, recreate it from the stored configuration.",
    toolset: 'daemons',
    effect: 'write',
    idempotent: true,
    http: { method: 'POST', path: '/daemons/{name}/start' },
    input: NameInput,
    output: Daemon,
    handle: (lab, i, ctx) => lab.daemons.start(i.name, ctx),
  }),
  defineTool({
    name: 'daemon_stop',
    title: 'Stop BGP daemon',
    description: "Stop a daemon's container, keeping it and its configuration (daemon_start brings it back). Its BGP sessions go down.",
    toolset: 'daemons',
    effect: 'destructive',
    idempotent: true,
    confirm: (a) => `Stop daemon '${a.name}': its container stops and its BGP sessions go down.`,
    http: { method: 'POST', path: '/daemons/{name}/stop' },
    input: NameInput,
    output: Daemon,
    handle: (lab, i) => lab.daemons.stop(i.name),
  }),
  defineTool({
    name: 'daemon_status',
    title: 'BGP session status',
    description:
      "Live BGP state of a daemon, read from the daemon itself: each neighbor's FSM state (Idle, Connect, Active, OpenSent, OpenConfirm, Established), uptime and prefix counts, and its BGP routes.",
    toolset: 'daemons',
    effect: 'read',
    idempotent: true,
    http: { method: 'GET', path: '/daemons/{name}/status' },
    input: NameInput,
    output: DaemonStatus,
    handle: (lab, i) => lab.daemons.status(i.name),
  }),
  defineTool({
    name: 'daemon_peer_add',
    title: 'Add a BGP peer',
    description:
      "Add a BGP neighbor to a running daemon without restarting its container (FRR live through vtysh; GoBGP, ExaBGP, BIRD (birdc configure) and OpenBGPD (bgpctl reload) re-read their configuration, other sessions stay up). The peer's address must be on one of the daemon's networks or tunnels unless multihop is set. Check the session with daemon_status.",
    toolset: 'daemons',
    effect: 'write',
    idempotent: false,
    input: NeighborInput.extend({ name: Name }),
    output: DaemonChange,
    handle: (lab, { name, ...n }) => lab.daemons.peerAdd(name, n),
  }),
  defineTool({
    name: 'daemon_peer_remove',
    title: 'Remove a BGP peer',
    description: 'Remove a BGP neighbor from a daemon (the session goes down); other sessions stay up.',
    toolset: 'daemons',
    effect: 'destructive',
    idempotent: false,
    confirm: (a) => `Remove BGP neighbor ${a.address} from daemon '${a.name}': that session goes down.`,
    input: z.strictObject({ name: Name, address: Ipv4.describe('the address of the peer to remove') }),
    output: DaemonChange,
    handle: (lab, i) => lab.daemons.peerRemove(i.name, i.address),
  }),
  defineTool({
    name: 'daemon_route_advertise',
    title: 'Advertise a prefix',
    description:
      'Originate an IPv4 prefix from a daemon to all its peers, live (no restart). It stays advertised across restarts until daemon_route_withdraw.',
    toolset: 'daemons',
    effect: 'write',
    idempotent: false,
    input: PrefixInput,
    output: DaemonChange,
    handle: (lab, i) => lab.daemons.routeAdvertise(i.name, i.prefix),
  }),
  defineTool({
    name: 'daemon_route_withdraw',
    title: 'Withdraw a prefix',
    description: 'Stop originating a prefix the daemon advertises (see daemon_get), live; peers remove it from their tables.',
    toolset: 'daemons',
    effect: 'destructive',
    idempotent: false,
    confirm: (a) => `Withdraw ${a.prefix} from daemon '${a.name}': its peers remove the route.`,
    input: PrefixInput,
    output: DaemonChange,
    handle: (lab, i) => lab.daemons.routeWithdraw(i.name, i.prefix),
  }),
  defineTool({
    name: 'daemon_exec',
    title: 'Run a command in a daemon',
    description:
      'Run a program inside a daemon container (argv, no shell), e.g. ["vtysh", "-c", "show bgp summary"] or ["gobgp", "neighbor"]. Returns exit code, stdout and stderr.',
    toolset: 'daemons',
    // A command can do anything inside the container (stop the daemon, delete files): auto-approving
    // clients must not take it for a harmless call.
    effect: 'destructive',
    idempotent: false,
    confirm: (a) => `Run ${JSON.stringify(a.command)} inside daemon '${a.name}' (a command may change or stop the daemon).`,
    input: ExecInput,
    output: ExecOutput,
    handle: (lab, i) => lab.daemons.exec(i.name, { command: i.command, timeoutS: i.timeout_s, maxOutputBytes: i.max_output_bytes }),
  }),
];
