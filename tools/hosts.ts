import { z } from 'zod';
import { HostRecord } from '../src/core/store/schema.js';
import { defineTool } from './define.js';
import {
  Cidr,
  ContainerState,
  Deleted,
  EngineName,
  ExecInput,
  ExecOutput,
  HostGateway,
  InterfaceInput,
  LIMITS,
  Name,
  NameInput,
  NODE_INTERNALS,
} from './schemas.js';

// A host as tools show it: its record's fields (a field added to the record is shown too), and the
// container's state as Docker reports it, in the order replies list them.
const { image, topology, engine, ...config } = HostRecord.omit(NODE_INTERNALS).shape;
const Host = z.object({
  ...config,
  state: ContainerState,
  image,
  topology,
  engine: engine.describe('the engine (NSLAB_ENGINES) it runs on; absent: the first'),
});

export const hostTools = [
  defineTool({
    name: 'host_list',
    title: 'List hosts',
    description: 'List the lab hosts (plain Linux containers for pings and traffic) with their addresses and state.',
    toolset: 'hosts',
    effect: 'read',
    idempotent: true,
    http: { method: 'GET', path: '/hosts' },
    input: z.strictObject({}),
    output: z.object({ hosts: z.array(Host) }),
    handle: async (lab) => ({ hosts: await lab.hosts.list() }),
  }),
  defineTool({
    name: 'host_get',
    title: 'Show a host',
    description: "Show one lab host's interfaces, default gateway, loopback and container state.",
    toolset: 'hosts',
    effect: 'read',
    idempotent: true,
    http: { method: 'GET', path: '/hosts/{name}' },
    input: NameInput,
    output: Host,
    handle: (lab, i) => lab.hosts.get(i.name),
  }),
  defineTool({
    name: 'host_create',
    title: 'Create host',
    description:
      'Start a plain Linux host container (ping, ip, traceroute) on lab networks. gateway sets its default route: an IP, or the name of a daemon on a shared network (that daemon then routes for it).',
    toolset: 'hosts',
    effect: 'write',
    idempotent: false,
    http: { method: 'POST', path: '/hosts' },
    input: z.strictObject({
      name: Name,
      interfaces: z
        .array(InterfaceInput)
        .min(1, 'give at least one interface, e.g. [{"network": "lan1"}]')
        .max(LIMITS.interfaces, `at most ${LIMITS.interfaces} interfaces`),
      gateway: HostGateway.optional().describe('default route: an IPv4 address or the name of a daemon/host on a shared network'),
      loopback: Cidr.optional().describe('address to add on lo, e.g. 192.0.2.1/32'),
      engine: EngineName.optional().describe('the Docker engine (NSLAB_ENGINES) to run on; default: the first'),
    }),
    output: Host,
    handle: (lab, i, ctx) => lab.hosts.create(i, ctx),
  }),
  defineTool({
    name: 'host_delete',
    title: 'Delete host',
    description: 'Remove a lab host: its container, addresses and record.',
    toolset: 'hosts',
    effect: 'destructive',
    idempotent: false,
    confirm: (a) => `Remove host '${a.name}': its container, its addresses and its record.`,
    http: { method: 'DELETE', path: '/hosts/{name}' },
    input: NameInput,
    output: Deleted,
    handle: (lab, i) => lab.hosts.delete(i.name),
  }),
  defineTool({
    name: 'host_start',
    title: 'Start host',
    description: "Start a stopped host's container, or recreate it from the store if it is gone.",
    toolset: 'hosts',
    effect: 'write',
    idempotent: true,
    input: NameInput,
    output: Host,
    handle: (lab, i, ctx) => lab.hosts.start(i.name, ctx),
  }),
  defineTool({
    name: 'host_stop',
    title: 'Stop host',
    description: "Stop a host's container, keeping it and its record.",
    toolset: 'hosts',
    effect: 'destructive',
    idempotent: true,
    confirm: (a) => `Stop host '${a.name}'.`,
    input: NameInput,
    output: Host,
    handle: (lab, i) => lab.hosts.stop(i.name),
  }),
  defineTool({
    name: 'host_exec',
    title: 'Run a command on a host',
    description:
      'Run a program on a lab host (argv, no shell), e.g. ["ping", "-c", "3", "10.10.0.12"]. Returns exit code, stdout and stderr.',
    toolset: 'hosts',
    // A command can do anything inside the container (stop the daemon, delete files): auto-approving
    // clients must not take it for a harmless call.
    effect: 'destructive',
    idempotent: false,
    confirm: (a) => `Run ${JSON.stringify(a.command)} on host '${a.name}'.`,
    http: { method: 'POST', path: '/hosts/{name}/exec' },
    input: ExecInput,
    output: ExecOutput,
    handle: (lab, i) => lab.hosts.exec(i.name, { command: i.command, timeoutS: i.timeout_s, maxOutputBytes: i.max_output_bytes }),
  }),
];
