import { z } from 'zod';
import { FAULT_KINDS, type FaultSpec } from '../src/core/checks/spec.js';
import { invalid, notFound } from '../src/core/errors.js';
import { Name } from '../src/core/fields.js';
import { ownValue } from '../src/core/keys.js';
import type { Lab } from '../src/core/lab.js';
import { TopologyName } from '../src/core/topology/spec.js';
import { FaultOut } from './checks.js';
import { defineTool } from './define.js';

/** Which fields each kind takes. */
const NEEDS: Record<(typeof FAULT_KINDS)[number], Array<'node' | 'network' | 'a' | 'b'>> = {
  link_down: ['node', 'network'],
  link_up: ['node', 'network'],
  node_pause: ['node'],
  daemon_kill: ['node'],
  session_reset: ['a', 'b'],
};

const Input = z
  .strictObject({
    kind: z.enum(FAULT_KINDS).describe('link_down / link_up (node, network), node_pause (node), daemon_kill (node), session_reset (a, b)'),
    node: Name.optional(),
    network: Name.optional().describe("link_down / link_up: the network whose interface goes down (up) inside the node's container"),
    a: Name.optional(),
    b: Name.optional(),
    topology: TopologyName.optional().describe("names are a topology's keys (r1, core) instead of container and network names"),
  })
  .superRefine((i, ctx) => {
    const needs = NEEDS[i.kind];
    for (const f of needs) {
      if (i[f] === undefined) ctx.addIssue({ code: 'custom', path: [f], message: `${i.kind} needs ${needs.join(' and ')}` });
    }
    for (const f of ['node', 'network', 'a', 'b'] as const) {
      if (i[f] !== undefined && !needs.includes(f))
        ctx.addIssue({ code: 'custom', path: [f], message: `${i.kind} takes ${needs.join(' and ')}, not ${f}` });
    }
  });

/** The fault with names made full (a topology's keys become container and network names). */
async function resolveFault(lab: Lab, i: z.output<typeof Input>): Promise<FaultSpec> {
  const full = (n: string | undefined) => (i.topology ? `${i.topology}-${n}` : (n as string));
  if (i.topology) {
    const t = ownValue((await lab.store.read()).topologies, i.topology);
    if (!t) throw notFound('topology', i.topology);
    if (!t.deployed) throw invalid('topology', `'${i.topology}' is not deployed`, `stand it up first: topology_standup ${i.topology}`);
  }
  switch (i.kind) {
    case 'session_reset':
      return { kind: i.kind, a: full(i.a), b: full(i.b) };
    case 'link_down':
    case 'link_up':
      return { kind: i.kind, node: full(i.node), network: full(i.network) };
    default:
      return { kind: i.kind, node: full(i.node) };
  }
}

export const faultTools = [
  defineTool({
    name: 'fault_inject',
    title: 'Inject a fault',
    description:
      "Break something in the running lab on purpose, to see what the network does: link_down (the node's interface on a network goes down inside its container; link_up undoes it), node_pause (the container is frozen), daemon_kill (the BGP daemon stops, the container stays), session_reset (the BGP session between routers a and b is reset once). Lasting faults are recorded until fault_clear (or topology_standup / teardown). The same fault twice is an error. With topology, names are the file's keys.",
    toolset: 'faults',
    effect: 'destructive',
    idempotent: false,
    confirm: (a) =>
      a.kind === 'session_reset'
        ? `Reset the BGP session between ${a.a} and ${a.b}${a.topology ? ` (topology ${a.topology})` : ''}.`
        : a.kind === 'link_up'
          ? `Bring ${a.node}'s link on ${a.network} back up.`
          : `${a.kind === 'link_down' ? `Take ${a.node}'s link on ${a.network} down` : a.kind === 'node_pause' ? `Pause ${a.node}` : `Kill the BGP daemon of ${a.node}`}${a.topology ? ` (topology ${a.topology})` : ''} until fault_clear.`,
    http: { method: 'POST', path: '/faults' },
    input: Input,
    output: FaultOut,
    handle: async (lab, i) => lab.faults.inject(await resolveFault(lab, i), i.topology),
  }),
  defineTool({
    name: 'fault_list',
    title: 'List faults',
    description:
      'The faults in the lab now (put in with fault_inject or a scenario and not cleared), oldest first; topology narrows to one.',
    toolset: 'faults',
    effect: 'read',
    idempotent: true,
    http: { method: 'GET', path: '/faults' },
    input: z.strictObject({ topology: TopologyName.optional() }),
    output: z.object({ faults: z.array(FaultOut) }),
    handle: async (lab, i) => ({ faults: await lab.faults.list(i.topology) }),
  }),
  defineTool({
    name: 'fault_clear',
    title: 'Clear faults',
    description:
      'Undo a fault by id (fault_list), or all of them (of one topology with topology): links come back up with the routes the link took with it, paused nodes resume, killed BGP daemons start again (waiting until they answer).',
    toolset: 'faults',
    effect: 'write',
    idempotent: true,
    http: { method: 'POST', path: '/faults/clear' },
    input: z.strictObject({
      id: z
        .string()
        .regex(/^(all|f-[0-9a-f]{8})$/, 'must be a fault id like f-1a2b3c4d (fault_list) or all')
        .describe('a fault id, or all'),
      topology: TopologyName.optional().describe('with all: only the faults of this topology'),
    }),
    output: z.object({ cleared: z.array(FaultOut), warnings: z.array(z.string()) }),
    handle: (lab, i) => lab.faults.clear(i.id, i.topology),
  }),
];
