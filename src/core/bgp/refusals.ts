/** What a daemon kind cannot configure on a neighbor: one rule for tools, topology files and rebuilt records. */
import { drivers } from './index.js';
import type { BgpNeighbor, DaemonKind } from './types.js';

export interface NeighborRefusal {
  field: keyof BgpNeighbor;
  why: string;
}

/** Every option `n` sets that a `kind` daemon cannot configure, by field, with the reason. */
export function neighborRefusals(kind: DaemonKind, n: BgpNeighbor): NeighborRefusal[] {
  const driver = drivers[kind];
  const out: NeighborRefusal[] = [];
  for (const [field, why] of Object.entries(driver.unsupported ?? {})) {
    const v = n[field as keyof BgpNeighbor];
    if (v !== undefined && v !== false) out.push({ field: field as keyof BgpNeighbor, why });
  }
  const problem = driver.neighborProblem?.(n);
  if (problem && !out.some((r) => r.field === problem.field)) out.push(problem);
  return out;
}
