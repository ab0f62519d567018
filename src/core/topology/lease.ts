/** A topology's lease: one standup, teardown or activate of a topology at a time. */
import { hostname } from 'node:os';
import { conflict, notFound } from '../errors.js';
import { holderAlive } from '../pending.js';
import type { Store } from '../store/store.js';

/**
 * Run `fn` holding the topology's lease: a second standup, teardown or activate of the same
 * topology, from this process or another sharing the store, is refused while one runs. A lease
 * whose process is gone (killed) is taken over.
 */
export async function withLease<T>(store: Pick<Store, 'update'>, name: string, op: string, fn: () => Promise<T>): Promise<T> {
  const me = { op, pid: process.pid, host: hostname(), at: new Date().toISOString() };
  await store.update((s) => {
    const r = s.topologies[name];
    if (!r) throw notFound('topology', name);
    const l = r.lease;
    if (l && holderAlive(l)) {
      throw conflict(
        `a ${l.op} of '${name}' is already running (process ${l.pid} on ${l.host}, since ${l.at})`,
        'wait for it to finish, then try again',
      );
    }
    r.lease = me;
  });
  try {
    return await fn();
  } finally {
    await store
      .update((s) => {
        const r = s.topologies[name];
        if (r?.lease?.pid === me.pid && r.lease.at === me.at) delete r.lease;
      })
      .catch(() => undefined);
  }
}
