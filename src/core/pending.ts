/**
 * Marks of work under way (a create or delete in the store, a topology lease) and whether the
 * process that wrote one is still at it. A mark whose process is gone was left by a crash.
 */
import { hostname } from 'node:os';
import type { Pending } from './store/schema.js';

export function pendingMark(op: Pending['op']): Pending {
  return { op, pid: process.pid, host: hostname(), at: new Date().toISOString() };
}

/** A holder on this machine is alive while its process is; on another machine, for 30 minutes. */
export function holderAlive(l: { pid: number; host: string; at: string }): boolean {
  if (l.host !== hostname()) return Date.now() - Date.parse(l.at) < 30 * 60_000;
  if (l.pid === process.pid) return true;
  try {
    process.kill(l.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Test hook, read by the core only: NSLAB_TEST_CRASH_AT=<step>[:<n>] makes this process kill
 * itself with SIGKILL the n-th time (default the first) it reaches that step, so crash-safety tests
 * hit a point deterministically. Unset (always, outside tests), it does nothing.
 */
const hits = new Map<string, number>();
export function crashPoint(step: string): void {
  const at = process.env.NSLAB_TEST_CRASH_AT;
  if (!at) return;
  const [name, nth] = at.split(':');
  if (name !== step) return;
  const n = (hits.get(step) ?? 0) + 1;
  hits.set(step, n);
  if (n === Number(nth ?? 1)) process.kill(process.pid, 'SIGKILL');
}
