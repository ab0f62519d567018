import { z } from 'zod';
import { CHECK_LIMITS, LabCheck, stepSchema, WaitS } from '../src/core/checks/spec.js';
import { LocalName, TopologyName } from '../src/core/topology/spec.js';
import { defineTool } from './define.js';

const CheckOut = z.object({
  id: z.string(),
  check: z.string().describe('session, route, ping, path; implicit: node, tunnel'),
  target: z.string(),
  ok: z.boolean(),
  expected: z.string(),
  observed: z.string(),
  detail: z.string().describe('when it fails: what to look at or do'),
  took_ms: z.number().describe('ms after the verify began until it held (or until it was last tried)'),
});

const VerifyOut = z.object({
  name: z.string().optional(),
  passed: z.boolean(),
  summary: z.string(),
  checks: z.array(CheckOut),
  failures: z.array(z.string()).describe('one line per failing check'),
  duration_ms: z.number(),
});

const FaultOut = z.object({
  id: z.string(),
  kind: z.string(),
  target: z.string(),
  at: z.string(),
  topology: z.string().optional(),
  node: z.string().optional(),
  network: z.string().optional(),
  momentary: z.boolean().optional(),
});

const Step = stepSchema(LocalName, LocalName);

export const checkTools = [
  defineTool({
    name: 'topology_verify',
    title: 'Verify a topology',
    description:
      'Check a deployed topology against what its file says working means (expect: session, route, ping and path checks) plus, unless implicit is false, every declared session Established, every node running and every tunnel up. wait_s retries until everything holds (use it right after a standup or a change). Each check reports ok, expected, observed, a detail saying what to do when it fails, and took_ms (how long it took to hold). Sends traffic only inside the lab.',
    toolset: 'checks',
    effect: 'read',
    idempotent: true,
    http: { method: 'POST', path: '/topologies/{id}/verify' },
    chatOmits: ['checks'],
    input: z.strictObject({
      name: TopologyName,
      wait_s: WaitS.optional(),
      implicit: z.boolean().optional().describe('also check every session, node and tunnel of the file (default true)'),
    }),
    output: VerifyOut,
    handle: (lab, i, ctx) => lab.checks.verify(i.name, i, ctx),
  }),
  defineTool({
    name: 'lab_check',
    title: 'Check the lab',
    description:
      'Run checks given inline against the running lab, for labs made one tool at a time (nodes named by container name): session {a, b, state?}, route {node, prefix, present?, as_path?, next_hop?}, ping {from, to, count?, max_loss_pct?}, path {from, to, via}. `to` is a node or an address inside the lab (outside addresses are refused). Same result as topology_verify.',
    toolset: 'checks',
    effect: 'read',
    idempotent: true,
    http: { method: 'POST', path: '/checks' },
    chatOmits: ['checks'],
    input: z.strictObject({
      checks: z.array(LabCheck).min(1).max(CHECK_LIMITS.checks, `at most ${CHECK_LIMITS.checks} checks`),
      wait_s: WaitS.optional(),
    }),
    output: VerifyOut,
    handle: (lab, i, ctx) => lab.checks.check(i.checks, i, ctx),
  }),
  defineTool({
    name: 'topology_scenario',
    title: 'Run a scenario',
    description:
      'Run a scenario on a deployed topology: a named one from its file (scenarios:) or steps given inline, in order: {fault: {kind, ...}}, {clear: all | fault}, {verify: all | [checks], wait_s?}, {sleep_s}. A verify step after a fault or clear retries (60 s by default) and reports converged_ms: how long the lab took to hold again. Stops at the first failing step and then undoes the faults it put in (unless keep_faults).',
    toolset: 'checks',
    effect: 'destructive',
    idempotent: false,
    confirm: (a) =>
      `Run ${a.steps ? `${a.steps.length} inline steps` : `scenario '${a.scenario}'`} on topology '${a.name}': its faults take links down, pause nodes or kill BGP daemons until they are cleared.`,
    http: { method: 'POST', path: '/topologies/{id}/scenario' },
    input: z
      .strictObject({
        name: TopologyName,
        scenario: LocalName.optional().describe('a scenario of the file'),
        steps: z
          .array(Step)
          .min(1)
          .max(CHECK_LIMITS.steps, `at most ${CHECK_LIMITS.steps} steps`)
          .optional()
          .describe('steps given inline instead'),
        keep_faults: z.boolean().optional().describe('leave the faults in when a step fails (default: undo them)'),
      })
      .refine((i) => (i.scenario === undefined) !== (i.steps === undefined), {
        message: 'give either scenario (a name in the file) or steps',
        path: ['scenario'],
      }),
    output: z.object({
      name: z.string(),
      scenario: z.string(),
      passed: z.boolean(),
      steps: z.array(
        z.object({
          index: z.number(),
          step: z.string(),
          ok: z.boolean(),
          took_ms: z.number(),
          detail: z.string().optional(),
          fault: FaultOut.optional(),
          checks: z.array(CheckOut).optional(),
          converged_ms: z.number().optional().describe('verify after a fault or clear: ms until every check held again'),
          disrupted: z.boolean().optional().describe('whether some check failed before all held'),
        }),
      ),
      skipped: z.number(),
      cleared_after_failure: z.array(z.string()).optional(),
      duration_ms: z.number(),
    }),
    handle: (lab, i, ctx) => lab.checks.scenario(i.name, i, ctx),
  }),
];

export { FaultOut };
