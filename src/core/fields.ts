import { z } from 'zod';
import { LAB_TIMERS } from './bgp/states.js';
import { ENGINE_NAME } from './engines/parse.js';
import { isIpv4, parseCidr, parseSubnet, type Subnet } from './ipam.js';
import { checkTunnelName } from './tunnels/names.js';

/** Where lab subnets may lie: private (RFC 1918), shared (RFC 6598), benchmarking (RFC 2544), documentation (RFC 5737). */
export const LAB_RANGES = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  '198.18.0.0/15',
  '192.0.2.0/24',
  '198.51.100.0/24',
  '203.0.113.0/24',
] as const;

const within = (inner: Subnet, range: string): boolean => {
  const r = parseCidr(range) as Subnet;
  return inner.network >= r.network && inner.network + inner.size <= r.network + r.size;
};

/** Bounds on every list a caller sends: a huge input is refused by the schema, before anything runs. */
export const LIMITS = { interfaces: 16, neighbors: 256, prefixes: 256, argv: 256, argBytes: 65_536, execBytes: 1_048_576 } as const;

/**
 * Field rules shared by every way into the lab (tool inputs, topology files, Slack arguments, REST
 * bodies): each rule is written once, here. Messages say what is accepted.
 */

export const Name = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9_.-]{1,62}$/,
    'must be 2-63 characters: lower-case letters, digits, "_", "." or "-", starting with a letter or digit',
  )
  .describe('Docker-safe name; also the container or network name in Docker');

export const Asn = z
  .number()
  .int('must be a whole number')
  .min(1, 'must be between 1 and 4294967295')
  .max(4294967295, 'must be between 1 and 4294967295')
  .describe('BGP autonomous system number (1..4294967295)');

export const Ipv4 = z.string().refine(isIpv4, { message: 'must be an IPv4 address like 10.0.0.1' }).describe('IPv4 address');

export const Cidr = z
  .string()
  .refine((s) => typeof parseCidr(s) !== 'string', { message: 'must be an IPv4 prefix like 10.0.0.0/24' })
  .describe('IPv4 prefix in CIDR form');

export const Prefix = z
  .string()
  .refine(
    (s) => {
      const p = parseCidr(s);
      return typeof p !== 'string' && p.cidr === s;
    },
    { message: 'must be an IPv4 prefix with no host bits, like 198.51.100.0/24' },
  )
  .describe('IPv4 prefix in CIDR form, network address (no host bits)');

/** Free text that ends up in daemon config files: one line, no quotes or backslashes. */
export const SafeText = (what: string, max: number) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .regex(/^[ -~]*$/, `${what} must be printable ASCII on one line`)
    .regex(/^[^"'\\`$;{}#!]*$/, `${what} must not contain quotes, backslashes or any of \` $ ; { } # !`);

/** A lab network's subnet: network address, /30 or larger; the message says what is wrong. */
export const SubnetCidr = z
  .string()
  .superRefine((s, ctx) => {
    const p = parseSubnet(s);
    if (typeof p === 'string') ctx.addIssue({ code: 'custom', message: p });
    else if (!LAB_RANGES.some((r) => within(p, r))) {
      ctx.addIssue({
        code: 'custom',
        message: `${s} is outside the ranges a lab may use (${LAB_RANGES.join(', ')}): lab networks never take public addresses`,
      });
    }
  })
  .describe(
    'IPv4 subnet in a private (10/8, 172.16/12, 192.168/16), shared (100.64/10), benchmarking (198.18/15) or documentation range, e.g. 10.10.0.0/24',
  );

/** TCP MD5 password: one word of printable ASCII (FRR takes a single word; the others are escaped). */
export const Password = z
  .string()
  .min(1, 'must not be empty')
  .max(80, 'must be at most 80 characters')
  .regex(/^[!-~]*$/, 'must be printable ASCII without spaces')
  .describe('TCP MD5 password (both sides must set the same)');

/** A unicast address another host can have: not 0.0.0.0, loopback, link-local, multicast or broadcast. */
export const UnicastIpv4 = Ipv4.refine((s) => !/^(0\.|127\.|169\.254\.|22[4-9]\.|2[3-5]\d\.)/.test(s), {
  message: 'must be a unicast address (not 0.0.0.0/8, loopback, link-local, multicast or broadcast)',
});

/** A BGP router id, with the rule a neighbor's address has: 0.0.0.0 identifies no speaker. */
export const RouterId = UnicastIpv4.describe('BGP router id: a unicast IPv4 address (default: the address of the first interface)');

/** A tunnel's name, which is also its interface name inside the container (at most 15 characters). */
export const TunnelName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9_.-]{1,14}$/,
    'must be 2-15 characters: lower-case letters, digits, "_", "." or "-" (it is also the interface name)',
  )
  .superRefine((s, ctx) => {
    const problem = checkTunnelName(s);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .describe('tunnel name, also its interface name in the containers');

/** A neighbor's description: one line of a daemon config file. */
export const Description = SafeText('description', 80);

/** eBGP multihop: the TTL of the session's packets, for peers not on a shared network. */
export const Multihop = z.number().int().min(1).max(255);

/** BGP hold time (RFC 4271): 0 turns keepalives and the hold timer off, else at least 3 seconds. */
export const HoldTime = z
  .number()
  .int('must be a whole number of seconds')
  .min(0, 'must be 0 or between 3 and 65535 seconds')
  .max(65535, 'must be 0 or between 3 and 65535 seconds')
  .refine((h) => h === 0 || h >= 3, { message: 'must be 0 (no hold timer) or between 3 and 65535 seconds' })
  .describe(
    `BGP hold time in seconds (3..65535, or 0 for none, which GoBGP cannot do; default ${LAB_TIMERS.hold}): the session goes down when nothing is heard from the peer for this long. The two ends use the lower of their values`,
  );

/** BGP keepalive interval: at most a third of the hold time (timersProblem in bgp/states.ts checks the pair). */
export const Keepalive = z
  .number()
  .int('must be a whole number of seconds')
  .min(1, 'must be between 1 and 21845 seconds')
  .max(21845, 'must be between 1 and 21845 seconds')
  .describe(
    `seconds between BGP keepalives (1..21845, at most a third of hold_s; default ${LAB_TIMERS.keepalive}, or hold_s/3 when that is less)`,
  );

/** Bidirectional Forwarding Detection on a session: a dead link is noticed in about a second. */
export const Bfd = z
  .boolean()
  .describe('run BFD with this peer (300 ms intervals, 3 missed = down): the session drops within a second of a dead link. FRR only');

/**
 * One BGP neighbor's fields, as daemon_create and daemon_peer_add take them and as a daemon record
 * rebuilt from a container must have them (rebuild-check.ts): one rule for both.
 */
export const NeighborFields = {
  address: Ipv4.describe("the peer's address"),
  asn: Asn.describe("the peer's AS number"),
  password: Password.optional(),
  description: Description.optional(),
  multihop: Multihop.optional().describe('eBGP multihop TTL, for peers not on a shared network'),
  next_hop_self: z.boolean().optional().describe('FRR only: announce routes to this peer with this router as next hop'),
  bfd: Bfd.optional(),
  hold_s: HoldTime.optional(),
  keepalive_s: Keepalive.optional(),
  route_server: z
    .boolean()
    .optional()
    .describe("the peer is a route server (its paths start with another AS than its own): don't reject them for that"),
};

/** A GRE key (32 bits) or a VXLAN VNI, which must also pass vniProblem. */
export const TunnelKey = z.number().int().min(0).max(4294967295);

/** The outer (underlay) TTL of a tunnel's packets. */
export const TunnelTtl = z.number().int().min(1).max(255);

/** A tunnel interface's MTU: IPv4's minimum up to a jumbo frame. */
export const TunnelMtu = z.number().int().min(576).max(9000);

/** A VNI is 24 bits and 0 is reserved; a key that fits GRE may not fit VXLAN. */
export const VXLAN_VNI_MAX = 16_777_215;

/** Why a VXLAN tunnel cannot have this key, or undefined. */
export function vniProblem(key: number): string | undefined {
  return key >= 1 && key <= VXLAN_VNI_MAX ? undefined : `a VXLAN VNI is between 1 and ${VXLAN_VNI_MAX}`;
}

/** An engine of NSLAB_ENGINES, where a node or network goes (the first engine when absent). */
export const EngineName = z.string().regex(ENGINE_NAME, 'must be an engine name from NSLAB_ENGINES');

/** An address on a network, or `auto` for the next free one (the lab allocates it). */
export const AddressOrAuto = z.union([Ipv4, z.literal('auto')]);

/** A host's default route: an address, or the name of a daemon or host on a network it shares. */
export const HostGateway = z.union([Ipv4, Name], { message: 'must be an IPv4 address or the name of a daemon or host' });
