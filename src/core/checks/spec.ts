/**
 * What "working" means, written once: the checks of a topology file's `expect:`, of lab_check and
 * of scenario verify steps, and the faults of fault_inject and scenario fault steps. The same
 * shapes serve topology files (nodes named by their key, `r1`) and labs made one tool at a time
 * (nodes named by container name, `lab-r1`): only the name rule differs.
 */
import { z } from 'zod';
import { BGP_STATES } from '../bgp/types.js';
import { Asn, Ipv4, Name, Prefix } from '../fields.js';

/** Bounds that keep one verify, one scenario and one file's checks cheap and quick to refuse. */
export const CHECK_LIMITS = {
  checks: 500,
  asPath: 64,
  via: 32,
  pingCount: 20,
  waitS: 600,
  steps: 100,
  scenarios: 50,
  sleepS: 300,
} as const;

/** A node as a file names it (its key) or as a lab names it (container name). */
type NodeRef = z.ZodType<string>;

const Id = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'must be 1-63 letters, digits, ".", "_" or "-"')
  .describe('a name for this check in the results (default: its position, e.g. expect.3)');

export function checkSchema(node: NodeRef) {
  const target = z.union([Ipv4, node]).describe('a node (its first address) or an IPv4 address inside the lab');
  return z.discriminatedUnion('check', [
    z.strictObject({
      check: z.literal('session'),
      id: Id.optional(),
      a: node,
      b: node,
      state: z.enum(BGP_STATES).optional().describe('the state both ends must report (default Established)'),
    }),
    z.strictObject({
      check: z.literal('route'),
      id: Id.optional(),
      node,
      prefix: Prefix,
      present: z.boolean().optional().describe('false: the node must not hold the prefix (default true)'),
      as_path: z.array(Asn).max(CHECK_LIMITS.asPath).optional().describe('the AS path of the best route, nearest AS first'),
      next_hop: target.optional().describe('the next hop of the best route: an IPv4 address or a node'),
    }),
    z.strictObject({
      check: z.literal('ping'),
      id: Id.optional(),
      from: node,
      to: target,
      count: z.number().int().min(1).max(CHECK_LIMITS.pingCount).optional().describe('echo requests sent (default 3)'),
      max_loss_pct: z.number().min(0).max(100).optional().describe('most loss that still passes, in percent (default 0)'),
    }),
    z.strictObject({
      check: z.literal('path'),
      id: Id.optional(),
      from: node,
      to: target,
      via: z.array(node).min(1).max(CHECK_LIMITS.via).describe('nodes the traceroute must pass, in this order'),
    }),
  ]);
}

export const FAULT_KINDS = ['link_down', 'link_up', 'node_pause', 'daemon_kill', 'session_reset'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export function faultSchema(node: NodeRef, network: z.ZodType<string>) {
  return z.discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('link_down'),
      node,
      network: network.describe("the network whose interface goes down, inside the node's container"),
    }),
    z.strictObject({ kind: z.literal('link_up'), node, network: network.describe('the network whose link_down is undone') }),
    z.strictObject({ kind: z.literal('node_pause'), node }),
    z.strictObject({ kind: z.literal('daemon_kill'), node: node.describe('a router: its BGP daemon stops, its container stays') }),
    z.strictObject({ kind: z.literal('session_reset'), a: node, b: node }),
  ]);
}

/** Nodes and networks of a lab made one tool at a time: container and network names. */
export const LabCheck = checkSchema(Name);
export type LabCheck = z.infer<typeof LabCheck>;
export const LabFault = faultSchema(Name, Name);
export type LabFault = z.infer<typeof LabFault>;

/** Any check or fault, whichever names its nodes use. */
export type Check = LabCheck;
export type FaultSpec = LabFault;

export const WaitS = z
  .number()
  .min(0)
  .max(CHECK_LIMITS.waitS)
  .describe('0: one pass; else retry for up to this many seconds until every check holds');

/** A scenario: fault, clear, verify and sleep steps, run in order. */
export function stepSchema(node: NodeRef, network: z.ZodType<string>) {
  const Fault = faultSchema(node, network);
  return z.union([
    z.strictObject({ fault: Fault }),
    z.strictObject({
      clear: z.union([z.literal('all'), Fault]).describe('all: every fault; or the fault to clear, as it was injected'),
    }),
    z.strictObject({
      verify: z
        .union([z.literal('all'), z.array(checkSchema(node)).min(1).max(CHECK_LIMITS.checks)])
        .describe("all: the file's expect plus the implicit checks; or these checks"),
      wait_s: WaitS.optional().describe('retry for up to this many seconds (default 60 in a scenario)'),
    }),
    z.strictObject({ sleep_s: z.number().min(0).max(CHECK_LIMITS.sleepS) }),
  ]);
}

export const LabStep = stepSchema(Name, Name);
export type Step = z.infer<typeof LabStep>;
