/**
 * A scenario: fault, clear, verify and sleep steps run in order against a deployed topology.
 * A verify step after a fault or a clear reports the convergence time: from the moment the change
 * was made to the start of the round from which all its checks held. The scenario stops at the
 * first step that fails and then, unless keep_faults is set, undoes the faults it put in, so that
 * a failed run does not leave the lab broken.
 */
import type { FieldIssue } from '../errors.js';
import { LabError, notFound } from '../errors.js';
import type { FaultView } from '../faults/service.js';
import { ownValue } from '../keys.js';
import type { OpContext } from '../progress.js';
import type { Store } from '../store/store.js';
import { withLease } from '../topology/lease.js';
import type { Topologies } from '../topology/service.js';
import { invalidInput } from '../validation.js';
import type { CheckResult, Prepared } from './evaluate.js';
import { prepareChecks, topologyNaming } from './prepare.js';
import type { Check, FaultSpec, Step } from './spec.js';

export interface ScenarioInput {
  scenario?: string | undefined;
  steps?: Step[] | undefined;
  keep_faults?: boolean | undefined;
}

export interface StepResult {
  index: number;
  step: string;
  ok: boolean;
  took_ms: number;
  detail?: string;
  fault?: FaultView;
  checks?: CheckResult[];
  /** verify after a fault or clear: ms from that change until every check held again */
  converged_ms?: number;
  /** verify: whether some check failed before all held (did the change disturb what is checked?) */
  disrupted?: boolean;
}

export interface ScenarioResult {
  name: string;
  scenario: string;
  passed: boolean;
  steps: StepResult[];
  /** steps not run because an earlier one failed */
  skipped: number;
  /** faults this scenario put in and undid after a failed step */
  cleared_after_failure?: string[];
  duration_ms: number;
}

interface Runner {
  topologyChecks(name: string, implicit: boolean): Promise<Prepared[]>;
  run(prepared: Prepared[], waitS: number, ctx?: OpContext): ReturnType<typeof import('./rounds.js').runRounds>;
}

interface Deps {
  store: Store;
  topologies: Pick<Topologies, 'resolved'>;
  faults: import('../faults/service.js').Faults;
}

const DEFAULT_VERIFY_WAIT_S = 60;

function describe(step: Step): string {
  if ('fault' in step) return `fault ${faultText(step.fault)}`;
  if ('clear' in step) return step.clear === 'all' ? 'clear all' : `clear ${faultText(step.clear)}`;
  if ('verify' in step)
    return step.verify === 'all' ? 'verify all' : `verify ${step.verify.length} check${step.verify.length === 1 ? '' : 's'}`;
  return `sleep ${step.sleep_s} s`;
}

function faultText(f: FaultSpec): string {
  if (f.kind === 'session_reset') return `session_reset ${f.a} <-> ${f.b}`;
  return `${f.kind} ${f.node}${'network' in f ? ` on ${f.network}` : ''}`;
}

export async function runScenario(runner: Runner, deps: Deps, name: string, input: ScenarioInput, ctx: OpContext): Promise<ScenarioResult> {
  const { record, spec, desired } = await deps.topologies.resolved(name);
  let steps: Step[];
  let label: string;
  let field: string;
  if (input.steps) {
    steps = input.steps;
    label = '(inline)';
    field = 'steps';
  } else {
    const key = input.scenario ?? '';
    const found = ownValue(spec.scenarios, key);
    if (!found) {
      const known = Object.keys(spec.scenarios ?? {});
      throw notFound(
        'scenario',
        key,
        known.length
          ? `the file of '${name}' has: ${known.join(', ')}`
          : `the file of '${name}' has no scenarios: add scenarios: or pass steps`,
      );
    }
    steps = found;
    label = key;
    field = `scenarios.${key}`;
  }
  if (!record.deployed)
    throw new LabError('CONFLICT', `topology '${name}' is not deployed`, { hint: `stand it up first: topology_standup ${name}` });
  const naming = topologyNaming(name);
  const nodes = new Map(desired.nodes.map((n) => [n.name, n]));
  const toFull = (f: FaultSpec): FaultSpec => {
    const full = naming.full;
    if (f.kind === 'session_reset') return { ...f, a: full(f.a), b: full(f.b) };
    if (f.kind === 'link_down' || f.kind === 'link_up') return { ...f, node: full(f.node), network: `${name}-${f.network}` };
    return { ...f, node: full(f.node) };
  };
  // Everything is checked before the first step runs: a typo in step 9 must not leave step 1's fault in.
  const issues: FieldIssue[] = [];
  const state = await deps.store.read();
  const verifies = new Map<number, Prepared[] | 'all'>();
  for (const [i, step] of steps.entries()) {
    const at = `${field}.${i}`;
    const f = 'fault' in step ? step.fault : 'clear' in step && step.clear !== 'all' ? step.clear : undefined;
    if (f) {
      const where = 'fault' in step ? 'fault' : 'clear';
      const names =
        f.kind === 'session_reset'
          ? [
              ['a', f.a],
              ['b', f.b],
            ]
          : [['node', f.node]];
      for (const [k, v] of names)
        if (!nodes.has(naming.full(v as string))) issues.push({ path: `${at}.${where}.${k}`, message: `no node '${v}' in this file` });
      if ((f.kind === 'link_down' || f.kind === 'link_up') && nodes.has(naming.full(f.node))) {
        const n = nodes.get(naming.full(f.node));
        if (!n?.interfaces.some((x) => x.network === `${name}-${f.network}`))
          issues.push({ path: `${at}.${where}.network`, message: `'${f.node}' has no interface on '${f.network}'` });
      }
    }
    if ('verify' in step) {
      if (step.verify === 'all') verifies.set(i, 'all');
      else {
        try {
          verifies.set(i, prepareChecks(step.verify as Check[], state, naming, `${at}.verify`, `step${i}.`));
        } catch (err) {
          if (err instanceof LabError && err.issues) issues.push(...err.issues);
          else throw err;
        }
      }
    }
  }
  if (issues.length) throw invalidInput('scenario', issues);
  return withLease(deps.store, name, 'scenario', async () => {
    const t0 = Date.now();
    const results: StepResult[] = [];
    const mine: string[] = [];
    let changedAt: number | undefined;
    let failed = false;
    for (const [i, step] of steps.entries()) {
      if (ctx.signal?.aborted) break;
      const started = Date.now();
      const base = { index: i, step: describe(step) };
      ctx.progress?.(`step ${i + 1}/${steps.length}: ${base.step}`, i / steps.length);
      try {
        if ('fault' in step) {
          const fault = await deps.faults.inject(toFull(step.fault), name);
          if (!fault.momentary) mine.push(fault.id);
          changedAt = started;
          results.push({ ...base, ok: true, took_ms: Date.now() - started, fault });
        } else if ('clear' in step) {
          const ids = step.clear === 'all' ? ['all'] : await matching(deps, toFull(step.clear));
          const cleared = [];
          for (const id of ids) cleared.push(...(await deps.faults.clear(id, name)).cleared);
          changedAt = started;
          results.push({
            ...base,
            ok: true,
            took_ms: Date.now() - started,
            detail: `cleared ${cleared.map((c) => `${c.kind} ${c.target}`).join(', ') || 'nothing'}`,
          });
        } else if ('verify' in step) {
          const v = verifies.get(i);
          const prepared = v === 'all' || v === undefined ? await runner.topologyChecks(name, true) : v;
          const r = await runner.run(prepared, step.wait_s ?? DEFAULT_VERIFY_WAIT_S, ctx);
          const converged =
            r.passed && changedAt !== undefined && r.held_since !== undefined ? Math.max(0, r.held_since - changedAt) : undefined;
          results.push({
            ...base,
            ok: r.passed,
            took_ms: Date.now() - started,
            checks: r.checks,
            ...(converged !== undefined ? { converged_ms: converged } : {}),
            ...(changedAt !== undefined ? { disrupted: r.failed_once } : {}),
            ...(r.passed
              ? {}
              : {
                  detail: r.checks
                    .filter((c) => !c.ok)
                    .map((c) => `${c.check} ${c.target}: ${c.detail || c.observed}`)
                    .join('; '),
                }),
          });
        } else {
          await new Promise((res) => setTimeout(res, step.sleep_s * 1000));
          results.push({ ...base, ok: true, took_ms: Date.now() - started });
        }
      } catch (err) {
        results.push({
          ...base,
          ok: false,
          took_ms: Date.now() - started,
          detail: err instanceof LabError ? err.toText() : (err as Error).message,
        });
      }
      if (!results[results.length - 1]?.ok) {
        failed = true;
        break;
      }
    }
    let cleared: string[] | undefined;
    if (failed && !input.keep_faults) {
      const left = new Set(Object.keys((await deps.store.read()).faults ?? {}));
      cleared = [];
      for (const id of mine.filter((x) => left.has(x))) {
        await deps.faults.clear(id).catch(() => undefined);
        cleared.push(id);
      }
    }
    return {
      name,
      scenario: label,
      passed: !failed && results.length === steps.length,
      steps: results,
      skipped: steps.length - results.length,
      ...(cleared?.length ? { cleared_after_failure: cleared } : {}),
      duration_ms: Date.now() - t0,
    };
  });
}

/** The recorded faults a `clear:` step names (link_down for a link, the node's fault otherwise). */
async function matching(deps: Deps, f: FaultSpec): Promise<string[]> {
  const all = await deps.faults.list();
  const kind = f.kind === 'link_up' ? 'link_down' : f.kind;
  const hits = all.filter((x) => x.kind === kind && 'node' in f && x.node === f.node && (!('network' in f) || x.network === f.network));
  if (!hits.length)
    throw new LabError('NOT_FOUND', `no ${kind} fault on ${'node' in f ? f.node : ''} to clear`, {
      hint: 'fault_list shows the faults in the lab',
    });
  return hits.map((h) => h.id);
}
