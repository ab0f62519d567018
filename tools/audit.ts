import { z } from 'zod';
import { DRIFT_KINDS, DRIFT_OBJECTS } from '../src/core/sync.js';
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
  kind: z.enum(DRIFT_KINDS),
  name: z.string(),
  object: z.enum(DRIFT_OBJECTS).optional().describe('what name names, for kinds that cover several'),
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
      "Compare the lab's records with Docker (by ownership labels) and report drift: containers or networks gone or stopped, containers recreated outside the lab, creates and deletes whose process died part way, labelled objects whose record the store lost, labelled objects no record claims, records read back from a container or label that fail the field rules or disagree with Docker (refused_record: never applied, never removed), addresses the store does not know, missing or stale forwarding rules. apply: true repairs what it can: finishes unfinished creates (the node is made again from its record) and deletes, rebuilds lost records from what the objects carry (each container and network keeps its record in a label, a daemon its current record in a file, tunnel files theirs; topology definitions are not rebuilt and are named), recreates and starts from the store, removes labelled objects that carry no record, restores rules. A store file that was lost keeps its id in store-id beside it, so a server started on the same data folder still owns the lab. Never touches anything another store or no store created.",
    toolset: 'sync',
    // apply removes containers and networks no record claims: destructive (MCP clients ask first,
    // Slack needs an admin); a report only changes nothing a user has.
    effect: 'destructive',
    effectOf: (a) => (a.apply === undefined || a.apply === false ? 'write' : 'destructive'),
    idempotent: true,
    confirm: () =>
      'Repair drift between the store and Docker: remove labelled containers and networks that no record claims, recreate or restart what the store holds, rebuild lost records and forwarding rules.',
    input: z.strictObject({ apply: z.boolean().optional().describe('repair the drift (default: report only)') }),
    output: z.object({ applied: z.boolean(), in_sync: z.boolean(), drift: z.array(DriftItem) }),
    handle: (lab, i, ctx) => lab.sync.run(i.apply ?? false, ctx),
  }),
];
