/**
 * Which files a containerlab file binds, so that a front end reading from disk (`nslab topology
 * import`) knows what to read next to it: every bind source under `topology` (defaults, kinds,
 * groups, nodes; `__clabNodeName__` expanded per node) that stays inside the lab's folder. Sources
 * outside it are not listed: the import refuses them, naming the field, and nothing is read.
 */
import { labPath, mapOf, parseClab } from './parse.js';

export function bindSources(yaml: string): string[] {
  const { topology, nodes } = parseClab(yaml);
  const nodeNames = Object.keys(nodes);
  const holders: unknown[] = [
    topology.defaults,
    ...Object.values(mapOf(topology.kinds, 'topology.kinds') ?? {}),
    ...Object.values(mapOf(topology.groups, 'topology.groups') ?? {}),
    ...Object.values(nodes),
  ];
  const out = new Set<string>();
  for (const h of holders) {
    const binds = h && typeof h === 'object' && !Array.isArray(h) ? (h as Record<string, unknown>).binds : undefined;
    if (!Array.isArray(binds)) continue;
    for (const b of binds) {
      if (typeof b !== 'string') continue;
      const src = b.split(':')[0] ?? '';
      const expanded = src.includes('__clabNodeName__') ? nodeNames.map((n) => src.replaceAll('__clabNodeName__', n)) : [src];
      for (const s of expanded) {
        const p = labPath(s);
        if (p !== undefined && !/__clab\w+__/.test(p)) out.add(p);
      }
    }
  }
  return [...out];
}
