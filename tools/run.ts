import { asLabError, LabError } from '../src/core/errors.js';
import type { Lab } from '../src/core/lab.js';
import type { OpContext } from '../src/core/progress.js';
import { formatZodError } from '../src/core/validation.js';
import { findTool, unavailable } from './catalogue.js';
import type { AnyTool } from './define.js';

export type ToolOutcome = { ok: true; result: Record<string, unknown> } | { ok: false; error: LabError };

export { formatZodError };

/**
 * The single entry point every front end calls: find the tool, check it is enabled, parse the
 * input strictly, run the handler. Errors come back as values; this is the only catch.
 */
export async function runTool(lab: Lab, name: string, args: unknown, ctx: OpContext = {}): Promise<ToolOutcome> {
  const tool = findTool(name);
  if (!tool) {
    return {
      ok: false,
      error: new LabError('NOT_FOUND', `unknown tool '${name}'`, { hint: 'list the tools with `nslab tools` or MCP tools/list' }),
    };
  }
  const started = Date.now();
  const outcome = await run(lab, tool, args, ctx);
  // Every call that may change the lab is audited, refused ones included; reads are not.
  if (tool.effect !== 'read') await audit(lab, name, args, ctx, outcome, Date.now() - started);
  return outcome;
}

async function run(lab: Lab, tool: AnyTool, args: unknown, ctx: OpContext): Promise<ToolOutcome> {
  const why = unavailable(tool, lab.config);
  if (why) return { ok: false, error: new LabError('READ_ONLY', why) };
  const parsed = tool.input.safeParse(args ?? {});
  if (!parsed.success) return { ok: false, error: formatZodError(tool.name, parsed.error) };
  try {
    const result = (await tool.handle(lab, parsed.data, ctx)) as Record<string, unknown>;
    return { ok: true, result };
  } catch (err) {
    return { ok: false, error: asLabError(err) };
  }
}

async function audit(lab: Lab, tool: string, args: unknown, ctx: OpContext, outcome: ToolOutcome, ms: number): Promise<void> {
  try {
    await lab.audit.record({
      at: new Date().toISOString(),
      front_end: ctx.caller?.front_end ?? 'unknown',
      ...(ctx.caller?.id ? { caller: ctx.caller.id } : {}),
      tool,
      args,
      ok: outcome.ok,
      ...(outcome.ok ? {} : { error: outcome.error.code, message: outcome.error.message.slice(0, 500) }),
      duration_ms: ms,
    });
  } catch (err) {
    // The call itself happened; a log that cannot be written is said on stderr (never stdout).
    process.stderr.write(`netstream-lab: could not write the audit log ${lab.audit.file}: ${(err as Error).message}\n`);
  }
}
