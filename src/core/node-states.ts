/**
 * The container state of many node records at once: one label query per engine that holds any
 * of them (the containers of this store), not one inspect per node, so listing 500 nodes costs
 * what listing 5 does. A container by a node's name that is not this store's does not count.
 */
import type { ContainerSummary, DockerEngine } from './docker/engine.js';
import type { Placement } from './engines/placement.js';
import type { ContainerState } from './nodes/records.js';

/** `docker ps` words for a container's state, in the words of containerState (nodes/records.ts). */
export function summaryState(c: Pick<ContainerSummary, 'State'>): ContainerState {
  return c.State === 'running' || c.State === 'paused' || c.State === 'restarting' ? c.State : 'stopped';
}

/** Each record's container state by name ('missing' when its engine holds no container of ours by that name). */
export async function containerStates(
  placement: Pick<Placement, 'node'>,
  recs: ReadonlyArray<{ name: string; engine?: string | undefined }>,
): Promise<Map<string, ContainerState>> {
  const byEngine = new Map<DockerEngine, Promise<Map<string, ContainerState>>>();
  const on = (e: DockerEngine) => {
    let p = byEngine.get(e);
    if (!p) {
      p = e.containers.listOwned().then((cs) => new Map(cs.map((c) => [(c.Names[0] ?? '').replace(/^\//, ''), summaryState(c)] as const)));
      byEngine.set(e, p);
    }
    return p;
  };
  const states = await Promise.all(recs.map(async (r) => [r.name, (await on(placement.node(r))).get(r.name) ?? 'missing'] as const));
  return new Map(states);
}
