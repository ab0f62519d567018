import { z } from 'zod';
import { defineTool } from './define.js';

const Entry = z.object({
  at: z.string(),
  front_end: z.string().describe('mcp-stdio, cli, ...'),
  caller: z.string().optional(),
  tool: z.string(),
  args: z.unknown().describe('the arguments, secrets replaced by ***'),
  ok: z.boolean(),
  error: z.string().optional(),
  message: z.string().optional(),
  duration_ms: z.number(),
});

export const auditTools = [
  defineTool({
    name: 'audit_list',
    title: 'Audit log',
    description:
      'Recent calls that changed (or tried to change) the lab, newest first: when, from which front end and caller, which tool, its arguments (passwords redacted), whether it worked, how long it took. Filter by tool, outcome or time.',
    toolset: 'sync',
    effect: 'read',
    idempotent: true,
    http: { method: 'GET', path: '/audit' },
    input: z.strictObject({
      tool: z.string().max(64).optional().describe('only calls of this tool'),
      ok: z.boolean().optional().describe('only calls that worked (true) or failed (false)'),
      since: z.iso.datetime().optional().describe('only calls at or after this ISO time'),
      limit: z.number().int().min(1).max(1000).optional().describe('at most this many entries (default 50)'),
    }),
    output: z.object({ entries: z.array(Entry) }),
    handle: async (lab, i) => ({ entries: await lab.audit.list(i) }),
  }),
];

const DriftItem = z.object({
  kind: z.enum([
    'missing_container',
    'stopped_container',
    'recreated_container',
    'missing_network',
    'orphan_container',
    'orphan_network',
    'unknown_address',
    'missing_rule',
    'stale_rule',
  ]),
  name: z.string(),
  detail: z.string(),
  repair: z.string().describe('what apply does about it'),
  repaired: z.boolean().optional(),
  error: z.string().optional(),
});

export const syncTools = [
  defineTool({
    name: 'sync_run',
    title: 'Reconcile store and Docker',
    description:
      "Compare the lab's records with Docker (by ownership labels) and report drift: containers or networks gone or stopped, containers recreated outside the lab, labelled objects no record claims (left by a killed create), addresses the store does not know, missing or stale forwarding rules. apply: true repairs what it can (recreates and starts from the store, removes orphans, restores rules). Never touches anything the lab did not create.",
    toolset: 'sync',
    effect: 'write',
    idempotent: true,
    input: z.strictObject({ apply: z.boolean().optional().describe('repair the drift (default: report only)') }),
    output: z.object({ applied: z.boolean(), in_sync: z.boolean(), drift: z.array(DriftItem) }),
    handle: (lab, i, ctx) => lab.sync.run(i.apply ?? false, ctx),
  }),
];
