import { asLabError, LabError } from '../src/core/errors.js';
import type { Lab } from '../src/core/lab.js';
import type { OpContext } from '../src/core/progress.js';
import { maskSecrets, scrub, secretsIn } from '../src/core/secrets.js';
import { formatZodError } from '../src/core/validation.js';
import { createLogger } from '../src/log.js';
import { findTool } from './catalogue.js';
import type { AnyTool } from './define.js';
import { recordCall } from './events.js';
import { type Call, type CallPolicy, checks, gates, pass } from './policy.js';
import { phraseError, vocabularyOf } from './vocabulary.js';

export type ToolOutcome = { ok: true; result: Record<string, unknown> } | { ok: false; error: LabError };

export { formatZodError };

/**
 * The single entry point every front end calls: find the tool, pass the policy (policy.ts:
 * availability, access, input, confirmation), run the handler, mask secrets, audit. Errors come
 * back as values; this is the only catch.
 */
export function runTool(lab: Lab, name: string, args: unknown, ctx: OpContext = {}, policy: CallPolicy = {}): Promise<ToolOutcome> {
  const call = runAudited(lab, name, args, ctx, policy);
  inflight.add(call);
  void call.finally(() => inflight.delete(call));
  return call;
}

/**
 * Would this call run as given (tool on, caller allowed, input valid)? What a front end asks
 * before it shows anything, e.g. before Slack posts "ran ..." in a channel. A refused change is
 * audited here as in runTool; nothing runs.
 */
export async function checkCall(lab: Lab, name: string, args: unknown, ctx: OpContext = {}, policy: CallPolicy = {}): Promise<ToolOutcome> {
  return settle(lab, name, args, ctx, 'refusals', async (tool) => {
    const refused = await pass(checks, { lab, tool, args, policy });
    return refused ? { ok: false, error: refused } : { ok: true, result: {} };
  });
}

function runAudited(lab: Lab, name: string, args: unknown, ctx: OpContext, policy: CallPolicy): Promise<ToolOutcome> {
  return settle(lab, name, args, ctx, 'all', async (tool) => {
    const call: Call = { lab, tool, args, policy };
    const refused = await pass([...checks, ...gates], call);
    if (refused) return { ok: false, error: refused };
    try {
      const result = (await tool.handle(lab, call.input, ctx)) as Record<string, unknown>;
      // The lab's event stream hears what calls did (faults, verify results, standup, teardown) here, once.
      recordCall(lab, tool.name, tool.effect, call.input, result);
      return { ok: true, result };
    } catch (err) {
      return { ok: false, error: asLabError(err) };
    }
  });
}

/** Around every call: unknown tool, secrets out of the answer, the audit, the caller's words. */
async function settle(
  lab: Lab,
  name: string,
  args: unknown,
  ctx: OpContext,
  audited: 'all' | 'refusals',
  body: (tool: AnyTool) => Promise<ToolOutcome>,
): Promise<ToolOutcome> {
  const tool = findTool(name);
  if (!tool) {
    return {
      ok: false,
      error: new LabError('NOT_FOUND', `unknown tool '${name}'`, { hint: 'list the tools with `nslab tools` or MCP tools/list' }),
    };
  }
  const started = Date.now();
  const outcome = withoutSecrets(await body(tool), args);
  // Every call that may change the lab is audited, refused and unconfirmed ones included; reads are not.
  if (tool.effect !== 'read' && (audited === 'all' || !outcome.ok)) await audit(lab, name, args, ctx, outcome, Date.now() - started);
  if (outcome.ok) return outcome;
  if (outcome.error.code === 'INTERNAL') {
    // A bug: the caller reads what happened; the stack goes to the log, never into the answer.
    logger(lab).error({ tool: name, err: outcome.error.cause }, 'internal error in a tool call');
  }
  return { ok: false, error: phraseError(outcome.error, vocabularyOf(ctx.caller?.front_end)) };
}

/**
 * A secret is shown to nobody, the caller who set it included: no answer carries one (a topology's
 * sessions, an exec that prints a config, the audit log), and no error quotes one back.
 */
function withoutSecrets(outcome: ToolOutcome, args: unknown): ToolOutcome {
  if (outcome.ok) return { ok: true, result: maskSecrets(outcome.result) as Record<string, unknown> };
  const sent = secretsIn(args);
  if (sent.length === 0) return outcome;
  const e = outcome.error;
  const clean = (t: string) => scrub(t, sent);
  return {
    ok: false,
    error: new LabError(e.code, clean(e.message), {
      ...(e.hint ? { hint: clean(e.hint) } : {}),
      ...(e.issues ? { issues: e.issues.map((i) => ({ path: i.path, message: clean(i.message) })) } : {}),
      ...(e.cause !== undefined ? { cause: e.cause } : {}),
    }),
  };
}

/** Calls still running in this process: a server that shuts down lets them finish (or roll back). */
const inflight = new Set<Promise<ToolOutcome>>();

/** Wait until no call runs, or the time is up; true when none is left. */
export async function drainCalls(timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (inflight.size > 0) {
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await Promise.race([Promise.allSettled([...inflight]), new Promise((r) => setTimeout(r, left).unref())]);
  }
  return true;
}

export const callsInFlight = (): number => inflight.size;

let log: ReturnType<typeof createLogger> | undefined;
const logger = (lab: Lab) => {
  log ??= createLogger(lab.config.logLevel);
  return log;
};

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
