/**
 * Undoing half-made work after a failure. What the undo could not remove is never swallowed: it is
 * added to the error the caller gets (and so to the audit log), with what sync_run does about it.
 */
import { engineMessage } from './docker/client.js';
import { LabError } from './errors.js';
import { undoSteps } from './steps/run.js';

/**
 * Run each undo, in the order given, through the step executor's undo (one way to undo, one way
 * to report what was left); return what failed, as "what: why".
 */
export async function undo(steps: Array<[what: string, fn: () => Promise<unknown>]>): Promise<string[]> {
  // undoSteps undoes the last of its list first: reversed, the undos run in the order given.
  const list = steps.map(([describe, fn]) => ({ describe, apply: async () => {}, undo: async () => void (await fn()) })).reverse();
  return (await undoSteps(list)).leftovers;
}

/** The error to throw after a rollback: the original, plus what the rollback left behind. */
export function withLeftovers(err: unknown, left: string[]): unknown {
  if (!left.length) return err;
  const note = `; the rollback could not remove ${left.join(', ')}`;
  const hint = 'sync_run reports what was left and apply removes or finishes it';
  if (err instanceof LabError)
    return new LabError(err.code, `${err.message}${note}`, { hint, cause: err, ...(err.issues ? { issues: err.issues } : {}) });
  return new LabError('DAEMON_ERROR', `${engineMessage(err)}${note}`, { hint, cause: err });
}
