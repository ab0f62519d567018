import { z } from 'zod';
import { TUNNEL_MODES, TunnelRecord } from '../src/core/store/schema.js';
import { defineTool } from './define.js';
import { Cidr, Deleted, Name, TunnelKey, TunnelMtu, TunnelName, TunnelTtl, UnicastIpv4, VXLAN_VNI_MAX } from './schemas.js';

const InnerCidr = Cidr.describe('inner address of this end with its prefix length, e.g. 172.31.0.1/30');

/** A tunnel as tools show it: its record, every field of it. */
const Tunnel = TunnelRecord.extend({
  underlay: TunnelRecord.shape.underlay.describe('the network carrying the encapsulated packets'),
  key: TunnelRecord.shape.key.describe('GRE key or VXLAN VNI'),
});

const Target = z.strictObject({
  container: Name.describe('a daemon or host at one end of the tunnel'),
  name: TunnelName,
});

const EndState = z.object({
  container: z.string(),
  container_state: z.enum(['running', 'not_running']),
  interface: z
    .enum(['present', 'missing', 'foreign', 'unknown'])
    .describe('foreign: an interface of that name netstream-lab did not create'),
  up: z.boolean().optional(),
  oper_state: z.string().optional().describe('the kernel operstate; UNKNOWN is normal for a working GRE or VXLAN interface'),
  mtu: z.number().optional(),
  addresses: z.array(z.string()).optional(),
  underlay_interface: z.string().optional(),
  mismatches: z.array(z.string()).describe('what differs from the saved tunnel'),
});

const Check = z.object({
  check: z.string(),
  container: z.string().optional(),
  result: z.enum(['pass', 'fail', 'skip']),
  severity: z.enum(['error', 'warning']),
  detail: z.string(),
  hint: z.string().optional(),
});

const Diagnosis = z.object({ name: z.string(), healthy: z.boolean(), checks: z.array(Check) });

export const tunnelTools = [
  defineTool({
    name: 'tunnel_list',
    title: 'List tunnels',
    description: 'List the GRE and VXLAN tunnels of the lab (optionally those ending in one container), as saved.',
    toolset: 'tunnels',
    effect: 'read',
    idempotent: true,
    http: { method: 'GET', path: '/tunnels' },
    input: z.strictObject({ container: Name.optional().describe('only tunnels ending in this daemon or host') }),
    output: z.object({ tunnels: z.array(Tunnel) }),
    handle: async (lab, i) => ({ tunnels: await lab.tunnels.list(i.container) }),
  }),
  defineTool({
    name: 'tunnel_create',
    title: 'Create a tunnel',
    description:
      'Make a point-to-point GRE or VXLAN tunnel between two lab containers (both ends configured in one call), or from one container to an outside address (b.remote_ip). It is carried over a network both ends share (underlay, default: the first one) and survives container restarts. Daemons can then peer over the inner addresses. Kernels without GRE (ip_gre) answer with an error: use mode vxlan there.',
    toolset: 'tunnels',
    effect: 'write',
    idempotent: false,
    http: { method: 'POST', path: '/tunnels' },
    input: z.strictObject({
      name: TunnelName,
      a: z.strictObject({ container: Name.describe('a lab daemon or host'), tunnel_ip: InnerCidr }),
      b: z
        .union([
          z.strictObject({ container: Name.describe('a lab daemon or host'), tunnel_ip: InnerCidr }),
          z.strictObject({ remote_ip: UnicastIpv4.describe('an address outside the lab that terminates the tunnel') }),
        ])
        .describe('the far end: {container, tunnel_ip} or {remote_ip}'),
      underlay: Name.optional().describe('lab network carrying the tunnel; default: the first network both ends share'),
      mode: z.enum(TUNNEL_MODES).optional().describe('gre (default) or vxlan'),
      key: TunnelKey.optional().describe(`GRE key, or VXLAN VNI (1-${VXLAN_VNI_MAX}; default: the lowest unused)`),
      ttl: TunnelTtl.optional().describe('outer TTL (default 64)'),
      mtu: TunnelMtu.optional().describe('default: the underlay MTU minus the encapsulation overhead'),
    }),
    output: Tunnel,
    handle: (lab, i) => lab.tunnels.create(i),
  }),
  defineTool({
    name: 'tunnel_delete',
    title: 'Delete a tunnel',
    description: 'Remove a tunnel at both ends (only interfaces netstream-lab created) and its record.',
    toolset: 'tunnels',
    effect: 'destructive',
    idempotent: false,
    confirm: (a) => `Remove tunnel '${a.name}' of '${a.container}' at both ends.`,
    http: { method: 'DELETE', path: '/tunnels/{container}/{tunnel}' },
    input: Target,
    output: Deleted,
    handle: (lab, i) => lab.tunnels.delete(i.container, i.name),
  }),
  defineTool({
    name: 'tunnel_state',
    title: 'Tunnel state',
    description:
      "Read a tunnel's interfaces from the kernel at each end (ip -d -j link, ip -j addr) and compare them with what was saved: mode, endpoints, key, TTL, MTU, inner address, up/down.",
    toolset: 'tunnels',
    effect: 'read',
    idempotent: true,
    http: { method: 'GET', path: '/tunnels/{container}/{tunnel}/state' },
    input: Target,
    output: z.object({
      name: z.string(),
      mode: z.string(),
      state: z.enum(['up', 'degraded', 'down']),
      ends: z.array(EndState),
      remote_ip: z.string().optional(),
    }),
    handle: (lab, i) => lab.doctor.state(i.container, i.name),
  }),
  defineTool({
    name: 'tunnel_diagnose',
    title: 'Diagnose a tunnel',
    description:
      'Run named checks on a tunnel (containers running, kernel support, interface present and up at each end, parameters and MTU as saved, inner address, underlay route and ping, ping of the far inner address, MTUs agree), each with result, severity and a hint, and an overall healthy flag. Sends only pings between the ends.',
    toolset: 'tunnels',
    effect: 'read',
    idempotent: true,
    http: { method: 'POST', path: '/tunnels/{container}/{tunnel}/diagnose' },
    input: Target,
    output: Diagnosis,
    handle: (lab, i) => lab.doctor.diagnose(i.container, i.name),
  }),
  defineTool({
    name: 'tunnel_fix',
    title: 'Repair a tunnel',
    description:
      'Repair in place what tunnel_diagnose finds: recreate a missing or wrongly configured interface at either end, set it up, restore its inner address and MTU. Never touches an interface netstream-lab did not create. Returns the actions and the diagnosis before and after.',
    toolset: 'tunnels',
    // Recreating an interface interrupts traffic through it.
    effect: 'destructive',
    idempotent: true,
    confirm: (a) =>
      `Recreate or reconfigure the interfaces of tunnel '${a.name}' of '${a.container}' where they differ from what was saved.`,
    http: { method: 'POST', path: '/tunnels/{container}/{tunnel}/fix' },
    input: Target,
    output: z.object({
      name: z.string(),
      healthy: z.boolean(),
      actions: z.array(z.object({ container: z.string(), action: z.string(), ok: z.boolean(), detail: z.string().optional() })),
      before: Diagnosis,
      after: Diagnosis,
    }),
    handle: (lab, i) => lab.doctor.fix(i.container, i.name),
  }),
];
