import { z } from 'zod';
import { NetworkRecord } from '../src/core/store/schema.js';
import { defineTool } from './define.js';
import { AddressOrAuto, Deleted, EngineName, Ipv4, Name, NameInput, SubnetCidr } from './schemas.js';

/**
 * A network as tools show it: its record's fields (a field added to the record is shown too) but
 * Docker's id, the macvlan parent, when it was made, a create or delete under way and the address
 * book, which the view shows as its containers; and whether Docker has it.
 */
const Network = NetworkRecord.omit({ id: true, parent: true, created_at: true, pending: true, allocations: true }).extend({
  engine: NetworkRecord.shape.engine.describe('the engine (NSLAB_ENGINES) a bridge is on; absent for an overlay, which spans the swarm'),
  state: z.enum(['present', 'missing']),
  containers: z.array(z.object({ name: z.string(), ip: z.string() })),
  warnings: z.array(z.string()).optional(),
});

const Connection = z.object({
  network: z.string(),
  container: z.string(),
  ip: z.string(),
  bgp: z
    .object({ applied: z.enum(['live', 'reload', 'config_only']), note: z.string() })
    .optional()
    .describe("present when a daemon's BGP configuration had to follow the change"),
  warnings: z.array(z.string()).optional(),
});

export const networkTools = [
  defineTool({
    name: 'network_list',
    title: 'List lab networks',
    description: 'List the Docker networks netstream-lab manages, with subnet, gateway and the address of every container on each.',
    toolset: 'networks',
    effect: 'read',
    idempotent: true,
    http: { method: 'GET', path: '/networks' },
    input: z.strictObject({}),
    output: z.object({ networks: z.array(Network) }),
    handle: async (lab) => ({ networks: await lab.networks.list() }),
  }),
  defineTool({
    name: 'network_get',
    title: 'Show a lab network',
    description: 'Show one lab network: subnet, gateway, driver, and which containers hold which addresses.',
    toolset: 'networks',
    effect: 'read',
    idempotent: true,
    http: { method: 'GET', path: '/networks/{name}' },
    input: NameInput,
    output: Network,
    handle: (lab, i) => lab.networks.get(i.name),
  }),
  defineTool({
    name: 'network_create',
    title: 'Create lab network',
    description:
      'Create a Docker network for lab containers with the given IPv4 subnet. Networks are internal by default (no route out of the machine) but carry routed traffic between lab networks through lab routers. Refuses a subnet that overlaps any existing Docker network.',
    toolset: 'networks',
    effect: 'write',
    idempotent: false,
    http: { method: 'POST', path: '/networks' },
    input: z.strictObject({
      name: Name,
      subnet: SubnetCidr,
      gateway: Ipv4.optional().describe('gateway address Docker keeps for itself (default: first address of the subnet)'),
      driver: z.enum(['bridge', 'macvlan']).optional().describe('bridge (default) or macvlan'),
      parent: z
        .string()
        .regex(/^[a-zA-Z0-9_.@-]{1,15}$/, 'must be a host interface name')
        .optional()
        .describe('host interface, macvlan only'),
      internal: z.boolean().optional().describe('default true: containers on it cannot reach outside the machine'),
      engine: EngineName.optional().describe('the engine (NSLAB_ENGINES) the bridge goes on (default: the first)'),
      scope: z
        .enum(['local', 'swarm'])
        .optional()
        .describe(
          "'swarm': an attachable internal Docker Swarm overlay network, which nodes on every joined engine can use (needs engine_join first); default 'local': a bridge on one engine",
        ),
    }),
    output: Network,
    handle: (lab, i) => lab.networks.create(i),
  }),
  defineTool({
    name: 'network_delete',
    title: 'Delete lab network',
    description: 'Delete a lab network. Refused while daemons or hosts still use it (it names them).',
    toolset: 'networks',
    effect: 'destructive',
    idempotent: false,
    confirm: (a) => `Delete lab network '${a.name}'.`,
    http: { method: 'DELETE', path: '/networks/{name}' },
    input: NameInput,
    output: Deleted,
    handle: (lab, i) => lab.networks.delete(i.name),
  }),
  defineTool({
    name: 'network_connect',
    title: 'Connect container to network',
    description:
      "Attach a lab daemon or host to another lab network, with a chosen or allocated address. A daemon's BGP configuration follows, so a peer on the new network can be added right after (daemon_peer_add).",
    toolset: 'networks',
    effect: 'write',
    idempotent: false,
    http: { method: 'POST', path: '/networks/connect' },
    input: z.strictObject({
      network: Name,
      container: Name.describe('name of a lab daemon or host'),
      ip: AddressOrAuto.optional().describe('address on the network; omit to allocate'),
    }),
    output: Connection,
    handle: (lab, i) => lab.wiring.connect(i),
  }),
  defineTool({
    name: 'network_disconnect',
    title: 'Disconnect container from network',
    description:
      "Detach a lab daemon or host from a lab network and free its address; a daemon's BGP configuration follows. A container's only network cannot be removed, nor the underlay of a tunnel; a disconnect that would leave a configured BGP peer unreachable is refused unless force is set.",
    toolset: 'networks',
    effect: 'destructive',
    idempotent: false,
    confirm: (a) =>
      `Detach '${a.container}' from network '${a.network}' and free its address${a.force ? ', even if BGP peers become unreachable' : ''}.`,
    http: { method: 'POST', path: '/networks/disconnect' },
    input: z.strictObject({
      network: Name,
      container: Name.describe('name of a lab daemon or host'),
      force: z.boolean().optional().describe('disconnect even though configured BGP peers become unreachable'),
    }),
    output: Connection,
    handle: (lab, i) => lab.wiring.disconnect(i),
  }),
];
