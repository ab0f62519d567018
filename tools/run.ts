import { asLabError, LabError } from '../src/core/errors.js';
import type { Lab } from '../src/core/lab.js';
import type { OpContext } from '../src/core/progress.js';
import { formatZodError } from '../src/core/validation.js';
import { findTool, unavailable } from './catalogue.js';

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
  const why = unavailable(tool, lab.config);
  if (why) return { ok: false, error: new LabError('READ_ONLY', why) };
  const parsed = tool.input.safeParse(args ?? {});
  if (!parsed.success) return { ok: false, error: formatZodError(name, parsed.error) };
  try {
    const result = (await tool.handle(lab, parsed.data, ctx)) as Record<string, unknown>;
    return { ok: true, result };
  } catch (err) {
    return { ok: false, error: asLabError(err) };
  }
}
