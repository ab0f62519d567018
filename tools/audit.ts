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
