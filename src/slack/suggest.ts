/** "did you mean network?": the closest known word, by edit distance, or a familiar synonym. */

const SYNONYMS: Record<string, string[]> = {
  list: ['ls', 'show-all', 'all'],
  get: ['show', 'describe', 'info', 'inspect'],
  delete: ['rm', 'remove', 'del', 'destroy'],
  create: ['add', 'new', 'make', 'mk'],
  standup: ['up', 'deploy', 'start', 'apply'],
  teardown: ['down', 'destroy', 'stop'],
  status: ['state', 'health', 'check'],
  exec: ['run', 'sh', 'cmd'],
  daemon: ['router', 'bgp', 'rtr', 'frr', 'gobgp', 'exabgp', 'bird', 'openbgpd', 'bgpd'],
  topology: ['topo', 'lab'],
  network: ['net', 'subnet', 'lan'],
};

/** Edit distance counting a swap of two neighbours as one edit (lsit -> list). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => d[i]?.[j] ?? 0;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = v;
    }
  }
  return at(a.length, b.length);
}

export function suggest(word: string, known: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  const synonym = known.find((k) => SYNONYMS[k]?.includes(w));
  if (synonym) return synonym;
  const prefixed = known.filter((k) => k.startsWith(w) || w.startsWith(k));
  if (prefixed.length === 1) return prefixed[0];
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const d = distance(w, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  // A guess only when it is close: at most a third of the word wrong.
  return best !== undefined && bestD <= Math.max(1, Math.floor(w.length / 3)) ? best : undefined;
}
