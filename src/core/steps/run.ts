/**
 * The one executor of steps: phases in order, the steps of a phase with bounded concurrency,
 * progress as each settles, cancellation between steps, and on failure or cancellation the
 * applied steps undone newest first. An undo that fails is reported (leftovers), never thrown,
 * and never stops the other undos: a rollback removes all it can and says what it could not.
 */
import pLimit from 'p-limit';
import { engineMessage } from '../docker/client.js';
import { LabError } from '../errors.js';
import type { Phase, RunOptions, RunResult, Step, StepFailure } from './step.js';

export type { Phase, RunOptions, RunResult, Step, StepFailure } from './step.js';

/** An error as a user reads it: a LabError's message, else what Docker (or the system) said. */
export function reason(err: unknown): string {
  return err instanceof LabError ? err.message : engineMessage(err);
}

/**
 * Undo `steps` newest first (the last of the list first), at most `concurrency` at a time.
 * Returns how many were undone and, as "describe: why", what could not be.
 */
export async function undoSteps(steps: readonly Step[], concurrency = 1): Promise<{ undone: number; leftovers: string[] }> {
  const limit = pLimit(concurrency);
  let undone = 0;
  const leftovers: string[] = [];
  await Promise.all(
    [...steps].reverse().map((step) =>
      limit(async () => {
        if (!step.undo) return;
        try {
          await step.undo();
          undone++;
        } catch (err) {
          leftovers.push(`${step.describe}: ${reason(err)}`);
        }
      }),
    ),
  );
  return { undone, leftovers };
}

export async function runSteps<S extends Step>(phases: readonly Phase<S>[], opts: RunOptions = {}): Promise<RunResult<S>> {
  const total = phases.reduce((n, p) => n + p.steps.length, 0);
  // Progress is a courtesy to the caller: a front end that fails to show it must not fail the work.
  const tell = (message: string, fraction: number) => {
    try {
      opts.progress?.(message, fraction);
    } catch {}
  };
  const aborted = () => opts.signal?.aborted === true;
  const applied: Array<{ step: S; phase: number }> = [];
  const failures: StepFailure<S>[] = [];
  // Cancelled means some step was not started because of the signal: work that all finished
  // before the signal came is not undone for it.
  let cancelled = false;
  let before = 0;
  for (const [index, phase] of phases.entries()) {
    const n = phase.steps.length;
    if (!n) continue;
    if (aborted()) {
      cancelled = true;
      break;
    }
    const [from, to] = phase.span ?? [before / total, (before + n) / total];
    before += n;
    if (phase.title) tell(phase.title, from);
    const limit = pLimit(phase.concurrency ?? Number.POSITIVE_INFINITY);
    let done = 0;
    let stop = false;
    await Promise.all(
      phase.steps.map((step) =>
        limit(async () => {
          if (aborted()) cancelled = true;
          if (stop || cancelled) return;
          let failed = false;
          try {
            await step.apply(opts.signal);
            applied.push({ step, phase: index });
          } catch (error) {
            failed = true;
            failures.push({ step, error });
            if (!phase.keepGoing) stop = true;
          }
          done++;
          const count = { done, total: n, failed };
          const said = phase.say ? phase.say(step, count) : `${step.describe} ${failed ? 'failed' : 'done'} (${done}/${n})`;
          if (said !== undefined) tell(said, from + ((to - from) * done) / n);
        }),
      ),
    );
    if (failures.length || cancelled) break;
  }

  const ok = !failures.length && !cancelled;
  let undone = 0;
  const leftovers: string[] = [];
  const undoable = applied.filter((a) => a.step.undo);
  if (!ok && opts.rollback !== false) {
    opts.onRollback?.(undoable.map((a) => a.step));
    // Phase by phase, the last first; within a phase newest first, as many at a time as it ran.
    for (let i = phases.length - 1; i >= 0; i--) {
      const mine = undoable.filter((a) => a.phase === i).map((a) => a.step);
      if (!mine.length) continue;
      const r = await undoSteps(mine, phases[i]?.concurrency ?? Number.POSITIVE_INFINITY);
      undone += r.undone;
      leftovers.push(...r.leftovers);
    }
  }
  return { ok, failures, cancelled, applied: applied.map((a) => a.step), undone, leftovers };
}
