import { LabError } from '../src/core/errors.js';
import { ownValue, protoKeyPath } from '../src/core/keys.js';
import type { Lab } from '../src/core/lab.js';
import { maskSecrets } from '../src/core/secrets.js';
import { formatZodError, invalidInput } from '../src/core/validation.js';
import { unavailable } from './catalogue.js';
import { type AnyTool, callEffect, type Effect } from './define.js';

/**
 * The policy every call passes, in order, whatever front end it came through: is the tool on
 * here, may this caller make this call, is its input well-formed, has a person confirmed it (when
 * it removes or interrupts). Masking secrets and the audit follow the call, in run.ts. A front end
 * only says who is calling and how to ask a person; the rules are here, once.
 */
export type Verdict = { go: true } | { go: false; reason: string };

export interface CallPolicy {
  /** Why this caller may not make a call of this effect (in the front end's words), or undefined. */
  access?: (tool: AnyTool, effect: Effect, args: Record<string, unknown>) => string | undefined;
  /** Ask a person before a destructive call. Absent: the front end does not ask (REST, the CLI). */
  confirm?: (question: string, tool: AnyTool) => Promise<Verdict>;
}

export interface Call {
  lab: Lab;
  tool: AnyTool;
  /** as the front end received them */
  args: unknown;
  /** the parsed input, once the parse step has run */
  input?: Record<string, unknown>;
  policy: CallPolicy;
}

type Step = (call: Call) => Promise<LabError | undefined> | LabError | undefined;

const raw = (args: unknown): Record<string, unknown> =>
  args && typeof args === 'object' && !Array.isArray(args) ? (args as Record<string, unknown>) : {};

const available: Step = ({ lab, tool }) => {
  const why = unavailable(tool, lab.config);
  return why ? new LabError('READ_ONLY', why) : undefined;
};

/** Before the input is read: a caller who may not run it learns nothing about its fields. */
const allowed: Step = ({ tool, args, policy }) => {
  const why = policy.access?.(tool, callEffect(tool, args), raw(args));
  return why ? new LabError('FORBIDDEN', why) : undefined;
};

/** A `__proto__` key is never a field: refused wherever it sits, before anything copies it. */
const plainKeys: Step = ({ tool, args }) => {
  const at = protoKeyPath(args);
  return at
    ? invalidInput(tool.name, [{ path: at, message: 'is not a field name ("__proto__" is refused as a key); remove it' }])
    : undefined;
};

const parsed: Step = (call) => {
  const r = call.tool.input.safeParse(call.args ?? {});
  if (!r.success) return formatZodError(call.tool.name, r.error);
  call.input = r.data as Record<string, unknown>;
  return undefined;
};

const confirmed: Step = async ({ lab, tool, input = {}, policy }) => {
  if (!policy.confirm || !(await needsConfirmation(tool, input, lab))) return undefined;
  const verdict = await policy.confirm(await describeCall(tool, input, lab), tool);
  return verdict.go ? undefined : new LabError('NOT_CONFIRMED', verdict.reason);
};

/** What runs before the handler, in order. `checks` alone answer "may this call run as given?". */
export const checks: readonly Step[] = [available, allowed, plainKeys, parsed];
export const gates: readonly Step[] = [confirmed];

export async function pass(steps: readonly Step[], call: Call): Promise<LabError | undefined> {
  for (const step of steps) {
    const refused = await step(call);
    if (refused) return refused;
  }
  return undefined;
}

/** The store collection a tool's `name` argument names, where there is one. */
const TARGET: Array<[RegExp, 'daemons' | 'hosts' | 'networks' | 'topologies']> = [
  [/^daemon_/, 'daemons'],
  [/^host_/, 'hosts'],
  [/^network_delete$/, 'networks'],
  [/^topology_/, 'topologies'],
];

/**
 * Does the call need a person's yes first? Only what removes or interrupts; a dry run changes
 * nothing, and a call on a name the store does not hold is left to fail with "not found" rather
 * than ask about nothing.
 */
export async function needsConfirmation(tool: AnyTool, args: Record<string, unknown>, lab: Lab): Promise<boolean> {
  if (callEffect(tool, args) !== 'destructive' || args.dry_run === true) return false;
  const coll = TARGET.find(([re]) => re.test(tool.name))?.[1];
  if (!coll || typeof args.name !== 'string') return true;
  return ownValue<unknown>((await lab.store.read())[coll], args.name) !== undefined;
}

/** The question a person is asked: the tool's own words for what goes, or its title and arguments. */
export async function describeCall(tool: AnyTool, args: Record<string, unknown>, lab: Lab): Promise<string> {
  if (tool.confirm) return tool.confirm(args, lab);
  return `${tool.title} with ${JSON.stringify(maskSecrets(args))}: ${tool.description}`;
}
