import { z } from 'zod';
import { EVENT_TYPES, type EventInput } from '../src/core/events/index.js';
import type { Lab } from '../src/core/lab.js';
import { TopologyName } from '../src/core/topology/spec.js';
import { defineTool } from './define.js';

/** At most this many events per event_list answer. */
export const EVENT_LIST_MAX = 1000;

const EventOut = z.object({
  seq: z.number(),
  time: z.string(),
  type: z.enum(EVENT_TYPES),
  topology: z.string().optional(),
  node: z.string().optional(),
  engine: z.string().optional(),
  detail: z.record(z.string(), z.unknown()),
});

export const eventTools = [
  defineTool({
    name: 'event_list',
    title: 'List lab events',
    description:
      "Recent events of this server's lab event stream, oldest first: BGP sessions going up or down (session_up, session_down with from and to states), containers dying or starting (node_died, node_started), drift (lab objects removed or renamed outside netstream-lab), faults injected and cleared, verify results (verify_passed, verify_failed), standup_done and teardown_done. Each has a seq; pass the last seq you saw as since_seq to get only what came after. Filter by types and topology. The stream runs in long-lived servers (nslab serve, nslab mcp) and keeps the last few thousand events.",
    toolset: 'events',
    effect: 'read',
    idempotent: true,
    http: { method: 'GET', path: '/events/list' },
    input: z.strictObject({
      since_seq: z.number().int().min(0).optional().describe('only events after this seq'),
      types: z.array(z.enum(EVENT_TYPES)).min(1).max(EVENT_TYPES.length).optional().describe('only events of these types'),
      topology: TopologyName.optional().describe('only events of this topology'),
      limit: z
        .number()
        .int()
        .min(1)
        .max(EVENT_LIST_MAX)
        .optional()
        .describe(`at most this many (default 100): the first after since_seq, else the newest`),
    }),
    output: z.object({
      events: z.array(EventOut),
      last_seq: z.number().describe('the newest seq of the stream (pass it as since_seq next time)'),
      streaming: z.boolean().describe('whether this process follows the lab (false for a one-shot CLI call: no events)'),
    }),
    handle: async (lab, i) => ({
      events: lab.events.list({
        since: i.since_seq,
        types: i.types,
        topology: i.topology,
        limit: i.limit ?? 100,
      }),
      last_seq: lab.events.stream.lastSeq,
      streaming: lab.events.running,
    }),
  }),
];

// --- what tool calls add to the stream ------------------------------------------------------------

type Out = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function fault(type: 'fault_injected' | 'fault_cleared', f: Out, topology?: string): EventInput {
  const t = str(f.topology) ?? topology;
  const node = str(f.node);
  return {
    type,
    ...(t ? { topology: t } : {}),
    ...(node ? { node } : {}),
    detail: { id: f.id, kind: f.kind, target: f.target, ...(f.network ? { network: f.network } : {}) },
  };
}

function verify(tool: string, r: Out, topology?: string): EventInput {
  const checks = arr(r.checks) as Out[];
  return {
    type: r.passed ? 'verify_passed' : 'verify_failed',
    ...(topology ? { topology } : {}),
    detail: {
      tool,
      summary: r.summary,
      checks: checks.length,
      failed: checks.filter((c) => c.ok === false).length,
      failures: arr(r.failures).slice(0, 10),
      duration_ms: r.duration_ms,
    },
  };
}

/** The events one successful call adds, by tool; nothing for the others. */
export function eventsOfCall(tool: string, input: Out, r: Out): EventInput[] {
  const topology = str(input.topology) ?? str(input.name);
  switch (tool) {
    case 'fault_inject':
      return [fault('fault_injected', r, str(input.topology))];
    case 'fault_clear':
      return (arr(r.cleared) as Out[]).map((f) => fault('fault_cleared', f, str(input.topology)));
    case 'topology_verify':
      return [verify(tool, r, topology)];
    case 'lab_check':
      return [verify(tool, r)];
    case 'topology_scenario': {
      const steps = arr(r.steps) as Out[];
      const failed = steps.find((s) => s.ok === false);
      return [
        {
          type: r.passed ? 'verify_passed' : 'verify_failed',
          ...(topology ? { topology } : {}),
          detail: {
            tool,
            scenario: r.scenario,
            steps: steps.length,
            skipped: r.skipped,
            ...(failed ? { failed_step: failed.step, failure: failed.detail } : {}),
            converged_ms: steps.map((s) => s.converged_ms).filter((v) => typeof v === 'number'),
            duration_ms: r.duration_ms,
          },
        },
      ];
    }
    case 'topology_standup':
    case 'topology_activate': {
      if (r.dry_run === true) return [];
      const est = r.established as Out | undefined;
      return [
        {
          type: 'standup_done',
          ...(topology ? { topology } : {}),
          detail: {
            tool,
            summary: (r.plan as Out | undefined)?.summary,
            duration_s: r.duration_s,
            ...(est ? { established: est.all, not_established: arr(est.not_established).slice(0, 10) } : {}),
            ...(r.deactivated ? { deactivated: r.deactivated } : {}),
            warnings: arr(r.warnings).length,
          },
        },
      ];
    }
    case 'topology_teardown':
      return [{ type: 'teardown_done', ...(topology ? { topology } : {}), detail: { removed: r.removed } }];
    default:
      return [];
  }
}

/**
 * After a successful call (runTool): its events, if the stream runs in this process, and a look
 * at whether topologies or nodes came or went. Never throws: the call already happened.
 */
export function recordCall(lab: Lab, tool: string, effect: string, input: unknown, result: Out): void {
  try {
    if (!lab.events.running) return;
    const i = input && typeof input === 'object' ? (input as Out) : {};
    for (const e of eventsOfCall(tool, i, result)) lab.events.emit(e);
    if (effect !== 'read') lab.events.storeChanged();
  } catch {
    // an event lost is better than a call reported failed
  }
}
