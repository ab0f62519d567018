/**
 * Undoing half-made work after a failure. What the undo could not remove is never swallowed: it is
 * added to the error the caller gets (and so to the audit log), with what sync_run does about it.
 */
import { engineMessage } from './docker/client.js';
import { LabError } from './errors.js';

/** Run each undo step; return what failed, as "what: why". */
export async function undo(steps: Array<[what: string, fn: () => Promise<unknown>]>): Promise<string[]> {
  const left: string[] = [];
  for (const [what, fn] of steps) {
    try {
      await fn();
    } catch (err) {
      left.push(`${what}: ${err instanceof LabError ? err.message : engineMessage(err)}`);
    }
  }
  return left;
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
