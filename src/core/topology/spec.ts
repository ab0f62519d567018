/**
 * The topology file (YAML or JSON): its schema, written once. The JSON Schema editors use
 * (schemas/topology.schema.json) is generated from it; tools take the same object.
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { DAEMON_KINDS } from '../bgp/types.js';
import { CHECK_LIMITS, checkSchema, stepSchema } from '../checks/spec.js';
import {
  AddressOrAuto,
  Asn,
  Bfd,
  Cidr,
  Description,
  EngineName,
  HoldTime,
  Ipv4,
  Keepalive,
  Multihop,
  Password,
  Prefix,
  RouterId,
  SubnetCidr,
  TunnelKey,
  TunnelMtu,
  TunnelName,
  TunnelTtl,
} from '../fields.js';
import { toBareMap } from '../keys.js';
import { ExecLines, IfName, OwnConfig, OwnFiles } from '../nodes/own.js';
import { TUNNEL_MODES } from '../store/schema.js';
import { formatZodError } from '../validation.js';

/**
 * Limits that keep one file's work bounded: sized for 1,000 nodes and 2,000 networks (a router
 * and a host per LAN, or an imported lab with one network per link), refused by counting beyond.
 */
export const TOPOLOGY_LIMITS = {
  nodes: 1000,
  networks: 2000,
  sessions: 5000,
  tunnels: 2000,
  advertise: 256,
  yamlBytes: 1_000_000,
} as const;

/** Topology names become name prefixes (`triangle-r1`), so they stay short and plain. */
export const TopologyName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,29}$/, 'must be 1-30 characters: lower-case letters, digits and "-", starting with a letter or digit')
  .describe('topology name; its nodes and networks are named <topology>-<key>');

/** A node or network key inside a file. */
export const LocalName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,29}$/, 'must be 1-30 characters: lower-case letters, digits, "_" and "-"');

const Auto = z.literal('auto');
const Address = AddressOrAuto.describe('an address in the network, or auto');

const NetworkSpec = z.strictObject({
  subnet: SubnetCidr,
  gateway: Ipv4.optional().describe("the network's gateway address (default: the first address)"),
});

const Interfaces = z
  .record(LocalName, Address)
  .refine((r) => Object.keys(r).length > 0, { message: 'give at least one interface, e.g. { core: auto }' })
  .describe('network key -> address (or auto)');

const InterfaceNames = z
  .record(LocalName, IfName)
  .describe("network key -> the interface's name inside the container (e.g. eth1), whatever order Docker attaches them in");

/** What any node may bring of its own (see ../nodes/own.ts). */
const OwnFields = {
  files: OwnFiles.optional(),
  exec: ExecLines.optional(),
  interface_names: InterfaceNames.optional(),
};

const RouterSpec = z.strictObject({
  kind: z.enum(DAEMON_KINDS),
  asn: z
    .union([Asn, Auto])
    .optional()
    .describe('AS number, or auto (from the private range 64512-65534); may be left out with config, which then says it'),
  router_id: z.union([RouterId, Auto]).optional().describe('default (auto): the address of the first interface'),
  interfaces: Interfaces,
  advertise: z.array(Prefix).max(TOPOLOGY_LIMITS.advertise).optional(),
  engine: EngineName.optional().describe('the engine (NSLAB_ENGINES) to run on'),
  route_server: z
    .boolean()
    .optional()
    .describe('a route server for its sessions: its AS stays out of the AS path, the next hop is passed on unchanged (not exabgp)'),
  config: OwnConfig.optional(),
  ...OwnFields,
});

const HostSpec = z.strictObject({
  kind: z.literal('host'),
  interfaces: Interfaces,
  gateway: z.string().max(64).optional().describe('default route: an IPv4 address, or the key of a router on a shared network'),
  loopback: Cidr.optional(),
  engine: EngineName.optional(),
  ...OwnFields,
});

export const NodeSpec = z.discriminatedUnion('kind', [RouterSpec, HostSpec]);

const SessionObject = z.strictObject({
  a: LocalName,
  b: LocalName,
  network: LocalName.optional().describe('the shared network to peer over (default: the first one)'),
  tunnel: TunnelName.optional().describe("peer over this tunnel's inner addresses instead"),
  password: Password.optional(),
  multihop: Multihop.optional(),
  description: Description.optional(),
  bfd: Bfd.optional(),
  hold_s: HoldTime.optional(),
  keepalive_s: Keepalive.optional(),
});

const Session = z.union([z.tuple([LocalName, LocalName]), SessionObject]).describe('[a, b] or {a, b, network?, tunnel?, password?}');

const TunnelSpec = z.strictObject({
  name: TunnelName,
  a: LocalName,
  b: LocalName,
  underlay: LocalName.optional(),
  a_ip: Cidr.describe('inner address of a, e.g. 172.31.0.1/30'),
  b_ip: Cidr,
  mode: z.enum(TUNNEL_MODES).optional().describe('gre (default) or vxlan'),
  key: TunnelKey.optional(),
  ttl: TunnelTtl.optional(),
  mtu: TunnelMtu.optional(),
});

export const TopologySpec = z
  .strictObject({
    name: TopologyName,
    description: z.string().max(500).optional(),
    placement: z.enum(['pack', 'spread']).optional().describe('how nodes without an engine are spread over NSLAB_ENGINES'),
    networks: z
      .record(LocalName, NetworkSpec)
      .refine((r) => Object.keys(r).length <= TOPOLOGY_LIMITS.networks, { message: `at most ${TOPOLOGY_LIMITS.networks} networks` }),
    nodes: z
      .record(LocalName, NodeSpec)
      .refine((r) => Object.keys(r).length <= TOPOLOGY_LIMITS.nodes, { message: `at most ${TOPOLOGY_LIMITS.nodes} nodes` }),
    bgp: z.strictObject({ sessions: z.array(Session).max(TOPOLOGY_LIMITS.sessions).optional() }).optional(),
    tunnels: z.array(TunnelSpec).max(TOPOLOGY_LIMITS.tunnels).optional(),
    expect: z
      .array(checkSchema(LocalName))
      .max(CHECK_LIMITS.checks)
      .optional()
      .describe('what working means: session, route, ping and path checks, run by topology_verify'),
    scenarios: z
      .record(LocalName, z.array(stepSchema(LocalName, LocalName)).min(1).max(CHECK_LIMITS.steps))
      .refine((r) => Object.keys(r).length <= CHECK_LIMITS.scenarios, { message: `at most ${CHECK_LIMITS.scenarios} scenarios` })
      .optional()
      .describe('named lists of fault, clear, verify and sleep steps, run by topology_scenario'),
  })
  .describe('A netstream-lab topology: networks, BGP routers and hosts, sessions and tunnels');

export type TopologySpec = z.infer<typeof TopologySpec>;
export type NodeSpec = z.infer<typeof NodeSpec>;
export type SessionSpec = z.infer<typeof Session>;

/** The first list or map of the file that holds more entries than its limit. */
function oversized(raw: Record<string, unknown>): { path: string[]; message: string } | undefined {
  const count = (v: unknown) => (Array.isArray(v) ? v.length : v && typeof v === 'object' ? Object.keys(v).length : 0);
  const bgp = raw.bgp && typeof raw.bgp === 'object' ? (raw.bgp as Record<string, unknown>).sessions : undefined;
  const checks: Array<[string[], unknown, number]> = [
    [['nodes'], raw.nodes, TOPOLOGY_LIMITS.nodes],
    [['networks'], raw.networks, TOPOLOGY_LIMITS.networks],
    [['tunnels'], raw.tunnels, TOPOLOGY_LIMITS.tunnels],
    [['bgp', 'sessions'], bgp, TOPOLOGY_LIMITS.sessions],
    [['expect'], raw.expect, CHECK_LIMITS.checks],
    [['scenarios'], raw.scenarios, CHECK_LIMITS.scenarios],
  ];
  if (raw.scenarios && typeof raw.scenarios === 'object' && !Array.isArray(raw.scenarios)) {
    for (const [k, steps] of Object.entries(raw.scenarios)) checks.push([['scenarios', k], steps, CHECK_LIMITS.steps]);
  }
  for (const [path, v, max] of checks) if (count(v) > max) return { path, message: `at most ${max} entries (${count(v)} given)` };
  return undefined;
}

/** Parse a spec object (already JSON) or YAML/JSON text; every error names its field path. */
export function parseTopology(input: { spec?: unknown; yaml?: string | undefined }): TopologySpec {
  let raw = input.spec;
  if (input.yaml !== undefined) {
    if (Buffer.byteLength(input.yaml) > TOPOLOGY_LIMITS.yamlBytes) {
      throw formatZodError(
        'topology',
        new z.ZodError([{ code: 'custom', path: ['yaml'], message: `is larger than ${TOPOLOGY_LIMITS.yamlBytes} bytes`, input: '' }]),
      );
    }
    try {
      // YAML is a superset of JSON; aliases are capped so a "billion laughs" file cannot blow up.
      raw = parseYaml(input.yaml, { maxAliasCount: 100, logLevel: 'error' });
    } catch (err) {
      throw formatZodError(
        'topology',
        new z.ZodError([
          { code: 'custom', path: ['yaml'], message: `is not valid YAML: ${(err as Error).message.split('\n')[0]}`, input: '' },
        ]),
      );
    }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    const where = input.yaml !== undefined ? 'yaml' : 'spec';
    throw formatZodError(
      'topology',
      new z.ZodError([
        {
          code: 'custom',
          path: [where],
          message: 'must be a mapping with name, networks and nodes (see schemas/topology.schema.json)',
          input: '',
        },
      ]),
    );
  }
  // Counted before the schema looks at each entry: a file of 10^6 nodes is refused at once.
  const big = oversized(raw as Record<string, unknown>);
  if (big) throw formatZodError('topology', new z.ZodError([{ code: 'custom', path: big.path, message: big.message, input: '' }]));
  const parsed = TopologySpec.safeParse(raw);
  if (!parsed.success) throw formatZodError('topology', parsed.error);
  return bareMaps(parsed.data);
}

/** Node and network keys are looked up by what the file names (`constructor` is a valid key). */
function bareMaps(spec: TopologySpec): TopologySpec {
  spec.networks = toBareMap(spec.networks);
  spec.nodes = toBareMap(spec.nodes);
  for (const node of Object.values(spec.nodes)) {
    node.interfaces = toBareMap(node.interfaces);
    if (node.files) node.files = toBareMap(node.files);
    if (node.interface_names) node.interface_names = toBareMap(node.interface_names);
  }
  if (spec.scenarios) spec.scenarios = toBareMap(spec.scenarios);
  return spec;
}

/** JSON Schema of the file, for editors (yaml-language-server, VS Code). */
export function topologyJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(TopologySpec, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { $id: 'https://netstream-lab.dev/schemas/topology.schema.json', title: 'netstream-lab topology', ...schema };
}
