/**
 * Running prepared checks in rounds until they all hold or time is up. Each round asks again only
 * the checks that do not hold yet (a few at a time, each node's state read once per round); once
 * all hold, one more round asks them all, so that a result is never pieced together from moments
 * that did not overlap. Every check records when it began to hold, which is what convergence
 * times are made of.
 */
import pLimit from 'p-limit';
import type { OpContext } from '../progress.js';
import type { CheckResult, Outcome, Prepared, Probe } from './evaluate.js';

export interface RoundsResult {
  passed: boolean;
  checks: CheckResult[];
  duration_ms: number;
  /** epoch ms from which every check held (the start of the round in which the last one did) */
  held_since?: number;
  /** whether some check failed in some round */
  failed_once: boolean;
  rounds: number;
}

const PAUSE_MS = 500;

export async function runRounds(prepared: Prepared[], probeOf: () => Probe, waitS: number, ctx: OpContext = {}): Promise<RoundsResult> {
  const t0 = Date.now();
  const deadline = t0 + waitS * 1000;
  const last = new Map<string, Outcome>();
  /** epoch ms of the round from which each check has held, while it holds */
  const since = new Map<string, number>();
  const tried = new Map<string, number>();
  const limit = pLimit(4);
  let failedOnce = false;
  let rounds = 0;
  let pending = prepared;
  let confirming = false;
  while (true) {
    rounds++;
    const start = Date.now();
    const probe = probeOf();
    await Promise.all(
      pending.map((p) =>
        limit(async () => {
          const o = await p
            .run(probe)
            .catch(
              (err: unknown): Outcome => ({ ok: false, expected: '', observed: 'error', detail: (err as Error).message.slice(0, 500) }),
            );
          last.set(p.id, o);
          tried.set(p.id, Date.now() - t0);
          if (o.ok) {
            if (!since.has(p.id)) since.set(p.id, start);
          } else {
            since.delete(p.id);
            failedOnce = true;
          }
        }),
      ),
    );
    const failing = prepared.filter((p) => !last.get(p.id)?.ok);
    ctx.progress?.(
      `${prepared.length - failing.length}/${prepared.length} checks hold`,
      Math.min(0.95, (Date.now() - t0) / Math.max(1, waitS * 1000)),
    );
    const allHold = failing.length === 0;
    const outOfTime = Date.now() + PAUSE_MS >= deadline || waitS === 0 || ctx.signal?.aborted;
    if (allHold && (confirming || rounds === 1 || waitS === 0)) break;
    if (allHold) {
      // Everything held at some point: ask them all once more, together.
      confirming = true;
      pending = prepared;
      continue;
    }
    if (outOfTime) break;
    confirming = false;
    pending = failing;
    await new Promise((r) => setTimeout(r, PAUSE_MS));
  }
  const checks = prepared.map((p): CheckResult => {
    const o = last.get(p.id) ?? { ok: false, expected: '', observed: 'not run', detail: '' };
    const held = since.get(p.id);
    return {
      id: p.id,
      check: p.check,
      target: p.target,
      ...o,
      took_ms: o.ok && held !== undefined ? held - t0 : (tried.get(p.id) ?? 0),
    };
  });
  const passed = checks.every((c) => c.ok);
  const heldSince = passed ? Math.max(t0, ...prepared.map((p) => since.get(p.id) ?? t0)) : undefined;
  return {
    passed,
    checks,
    duration_ms: Date.now() - t0,
    ...(heldSince !== undefined ? { held_since: heldSince } : {}),
    failed_once: failedOnce,
    rounds,
  };
}
