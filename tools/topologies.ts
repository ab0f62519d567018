import { z } from 'zod';
import { TopologyRecord } from '../src/core/store/schema.js';
import { GRAPH_FORMATS } from '../src/core/topology/graph.js';
import { TOPOLOGY_LIMITS, TopologyName } from '../src/core/topology/spec.js';
import { defineTool } from './define.js';

const Source = {
  spec: z
    .record(z.string(), z.unknown())
    .optional()
    .describe('the topology file as an object: name, networks, nodes, bgp.sessions, tunnels (JSON Schema: schemas/topology.schema.json)'),
  yaml: z.string().max(TOPOLOGY_LIMITS.yamlBytes).optional().describe('the same file as YAML (or JSON) text'),
};
const oneSource = (i: { spec?: unknown; yaml?: string | undefined }) => (i.spec === undefined) !== (i.yaml === undefined);
const sourceMessage = { message: 'give the file either as spec (an object) or as yaml (text), not both', path: ['spec'] };

/** A saved topology as tools show it: its record's own fields, and counts read from its file. */
const saved = TopologyRecord.shape;
export const View = z.object({
  name: saved.name,
  description: z.string().optional(),
  networks: z.number(),
  nodes: z.number(),
  sessions: z.number(),
  tunnels: z.number(),
  deployed: saved.deployed.describe('stood up and not torn down'),
  // The record leaves it out until a first activation; the view always says.
  active: z.boolean().describe('the topology topology_activate last stood up'),
  created_at: saved.created_at,
  updated_at: saved.updated_at,
  last_standup: saved.last_standup,
});

const PlanItem = z.object({
  kind: z.enum(['network', 'node', 'session', 'tunnel']),
  name: z.string(),
  action: z.enum(['create', 'keep', 'update', 'recreate', 'delete']),
  reason: z.string().optional(),
});
const Summary = z.object({ create: z.number(), keep: z.number(), update: z.number(), recreate: z.number(), delete: z.number() });
const PlanOut = z.object({ name: z.string(), items: z.array(PlanItem), summary: Summary });

const StandupOut = z.object({
  name: z.string(),
  dry_run: z.boolean(),
  plan: z.object({ items: z.array(PlanItem), summary: Summary }),
  warnings: z.array(z.string()).optional(),
  established: z
    .object({ all: z.boolean(), waited_s: z.number(), not_established: z.array(z.string()) })
    .optional()
    .describe('with wait_established_s: whether every session came up, and which did not'),
  duration_s: z.number(),
  deactivated: z.string().optional(),
});

const NameIn = z.strictObject({ name: TopologyName });
const Wait = z.number().int().min(0).max(600).optional().describe('wait up to this many seconds until every BGP session is Established');

export const topologyTools = [
  defineTool({
    name: 'topology_list',
    title: 'List topologies',
    description: 'List the saved topology files with their size and whether each is deployed or active.',
    toolset: 'topologies',
    effect: 'read',
    idempotent: true,
    http: { method: 'GET', path: '/topologies' },
    input: z.strictObject({}),
    output: z.object({ topologies: z.array(View) }),
    handle: async (lab) => ({ topologies: await lab.topologies.list() }),
  }),
  defineTool({
    name: 'topology_get',
    title: 'Show a topology',
    description: 'Show a saved topology: its file (spec, and the YAML it came from) and whether it is deployed.',
    toolset: 'topologies',
    effect: 'read',
    idempotent: true,
    http: { method: 'GET', path: '/topologies/{id}' },
    input: NameIn,
    output: View.extend(TopologyRecord.pick({ spec: true, yaml: true }).shape),
    handle: (lab, i) => lab.topologies.get(i.name),
  }),
  defineTool({
    name: 'topology_create',
    title: 'Save a topology',
    description:
      'Save a topology file (YAML text or an object): networks, routers (frr, gobgp, exabgp, bird, openbgpd) and hosts with addresses or auto, BGP sessions ([a, b] or {a, b, network, password}), tunnels. It is validated (every error names its field, e.g. nodes.r2.interfaces.core) but nothing is started: use topology_standup. An existing name is a conflict unless replace is true.',
    toolset: 'topologies',
    effect: 'write',
    idempotent: false,
    http: { method: 'POST', path: '/topologies' },
    input: z
      .strictObject({ ...Source, replace: z.boolean().optional().describe('replace the saved file of that name') })
      .refine(oneSource, sourceMessage),
    output: View,
    handle: (lab, i) => lab.topologies.create(i),
  }),
  defineTool({
    name: 'topology_delete',
    title: 'Delete a topology',
    description: 'Delete a saved topology file. Refused while it is deployed unless force is set, which tears it down first.',
    toolset: 'topologies',
    effect: 'destructive',
    idempotent: false,
    confirm: (a) => `Delete the topology file '${a.name}'${a.force ? ', tearing it down first if it is deployed' : ''}.`,
    http: { method: 'DELETE', path: '/topologies/{id}' },
    input: z.strictObject({ name: TopologyName, force: z.boolean().optional().describe('tear the lab down first') }),
    output: z.object({ deleted: z.string(), torn_down: z.boolean().optional() }),
    handle: (lab, i, ctx) => lab.topologies.delete(i.name, i.force ?? false, ctx),
  }),
  defineTool({
    name: 'topology_validate',
    title: 'Validate a topology',
    description:
      'Check a topology file (spec or yaml), or a saved one by name, without changing anything. Returns valid, and every error with its field path (nodes.r2.interfaces.core: 10.10.1.5 is not in 10.10.0.0/24).',
    toolset: 'topologies',
    effect: 'read',
    idempotent: true,
    http: { method: 'POST', path: '/topology/validate' },
    input: z
      .strictObject({ ...Source, name: TopologyName.optional().describe('a saved topology') })
      .refine((i) => [i.spec, i.yaml, i.name].filter((x) => x !== undefined).length === 1, {
        message: 'give exactly one of spec, yaml or name',
        path: ['spec'],
      }),
    output: z.object({
      valid: z.boolean(),
      errors: z.array(z.object({ path: z.string(), message: z.string() })),
      summary: z.string().optional(),
    }),
    handle: (lab, i) => lab.topologies.validate(i),
  }),
  defineTool({
    name: 'topology_plan',
    title: 'Plan a standup',
    description:
      'What topology_standup would do against what runs now, per network, node, BGP session and tunnel: create, keep, update (in place), recreate or delete, each with its reason. Changes nothing.',
    toolset: 'topologies',
    effect: 'read',
    idempotent: true,
    http: { method: 'GET', path: '/topologies/{id}/plan' },
    input: NameIn,
    output: PlanOut,
    handle: (lab, i) => lab.topologies.plan(i.name),
  }),
  defineTool({
    name: 'topology_standup',
    title: 'Stand up a topology',
    description:
      'Make the running lab match a saved topology: networks, then nodes in parallel, then sessions and tunnels. Converges: what already matches is kept (a second run changes nothing), peers and prefixes change in place, nodes removed from the file are removed. dry_run shows the plan only. On a failure it rolls back what it created (on_error: keep leaves it for inspection).',
    toolset: 'topologies',
    // It removes and recreates containers whose definition changed.
    effect: 'destructive',
    idempotent: true,
    confirm: async (a, lab) => {
      const head = `Stand up topology '${a.name}'`;
      try {
        const { summary: s } = await lab.topologies.plan(String(a.name));
        return `${head}: ${s.create} to create, ${s.update} to update in place, ${s.recreate} to remove and recreate, ${s.delete} to remove, ${s.keep} kept.`;
      } catch {
        return `${head}: nodes and networks that changed or left the file are removed or recreated.`;
      }
    },
    http: { method: 'POST', path: '/topology/standup' },
    input: z.strictObject({
      name: TopologyName,
      dry_run: z.boolean().optional(),
      wait_established_s: Wait,
      concurrency: z.number().int().min(1).max(64).optional().describe('nodes made at once (default 8)'),
      on_error: z.enum(['rollback', 'keep']).optional().describe('rollback (default): remove what this run created'),
    }),
    output: StandupOut,
    handle: (lab, i, ctx) => lab.topologies.standup(i.name, i, ctx),
  }),
  defineTool({
    name: 'topology_teardown',
    title: 'Tear down a topology',
    description:
      'Remove every container, network and tunnel of a topology (found by label), keeping its file so that topology_standup brings it back.',
    toolset: 'topologies',
    effect: 'destructive',
    idempotent: true,
    confirm: (a) => `Remove every container, network and tunnel of topology '${a.name}' (its file is kept).`,
    http: { method: 'POST', path: '/topology/teardown' },
    input: NameIn,
    output: z.object({ name: z.string(), removed: z.object({ containers: z.number(), networks: z.number(), tunnels: z.number() }) }),
    handle: (lab, i, ctx) => lab.topologies.teardown(i.name, ctx),
  }),
  defineTool({
    name: 'topology_activate',
    title: 'Activate a topology',
    description: 'Make this the active topology: tear down the topology activated before it (if another), then stand this one up.',
    toolset: 'topologies',
    effect: 'destructive',
    idempotent: true,
    confirm: (a) => `Tear down the topology that is active now (if another), then stand up '${a.name}'.`,
    http: { method: 'POST', path: '/topologies/{id}/activate' },
    input: z.strictObject({ name: TopologyName, wait_established_s: Wait }),
    output: StandupOut,
    handle: (lab, i, ctx) => lab.topologies.activate(i.name, i, ctx),
  }),
  defineTool({
    name: 'topology_status',
    title: 'Topology status',
    description:
      "A deployed topology as it runs: each node's container state, daemon and addresses, each BGP session's state as seen from both ends, each tunnel's state.",
    toolset: 'topologies',
    effect: 'read',
    idempotent: true,
    http: { method: 'GET', path: '/topologies/{id}/status' },
    input: NameIn,
    output: z.object({
      name: z.string(),
      deployed: z.boolean(),
      nodes: z.array(
        z.object({
          name: z.string(),
          role: z.enum(['daemon', 'host']),
          kind: z.string(),
          engine: z.string().optional().describe('the engine (NSLAB_ENGINES) it runs on'),
          state: z.string().describe('running, paused, stopped, restarting, missing, or engine_unreachable (its engine does not answer)'),
          daemon: z.string().optional(),
          note: z.string().optional(),
          interfaces: z.array(z.object({ network: z.string(), ip: z.string() })),
        }),
      ),
      sessions: z.array(
        z.object({ a: z.string(), b: z.string(), via: z.string(), a_state: z.string().optional(), b_state: z.string().optional() }),
      ),
      tunnels: z.array(z.object({ name: z.string(), state: z.string() })),
      faults: z
        .array(z.object({ id: z.string(), kind: z.string(), target: z.string(), at: z.string() }))
        .optional()
        .describe('faults put into this lab on purpose and not cleared (fault_list, fault_clear)'),
    }),
    handle: (lab, i) => lab.topologies.status(i.name),
  }),
  defineTool({
    name: 'topology_graph',
    title: 'Draw a topology',
    description:
      'Draw a topology: routers by kind, hosts, networks, BGP sessions and tunnels as edges, coloured by live state when deployed (Established green, other states red). format: mermaid or dot (text), svg, or png (returned as an image over MCP).',
    toolset: 'topologies',
    effect: 'read',
    idempotent: true,
    http: { method: 'GET', path: '/topologies/{id}/graph' },
    input: z.strictObject({ name: TopologyName, format: z.enum(GRAPH_FORMATS).describe('mermaid, dot, svg or png') }),
    output: z.object({
      name: z.string(),
      format: z.enum(GRAPH_FORMATS),
      mime_type: z.string(),
      text: z.string().optional().describe('mermaid, dot or svg'),
      data_base64: z.string().optional().describe('png bytes, base64'),
      live: z.boolean().describe('edges coloured from the running lab'),
    }),
    handle: (lab, i) => lab.topologies.graph(i.name, i.format),
  }),
];
