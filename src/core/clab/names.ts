/** containerlab names made into ours: node and network keys (LocalName) and the topology name. */

const LOCAL = /^[a-z0-9][a-z0-9_-]{0,29}$/;
const TOPOLOGY = /^[a-z0-9][a-z0-9-]{0,29}$/;

export const isLocalName = (s: string): boolean => LOCAL.test(s);

function fitName(raw: string, allowed: RegExp, fallback: string): string {
  const s = raw
    .toLowerCase()
    .replace(allowed, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 30);
  return s === '' ? fallback : s;
}

/** A name not yet in `used` (which it is added to): the name itself when valid, else a mapped one. */
export function uniqueName(raw: string, used: Set<string>, fallback = 'node'): string {
  const base = LOCAL.test(raw) ? raw : fitName(raw, /[^a-z0-9_-]/g, fallback);
  let name = base;
  for (let n = 2; used.has(name); n++) name = `${base.slice(0, 30 - String(n).length - 1)}-${n}`;
  used.add(name);
  return name;
}

/** Our topology name from containerlab's `name`. */
export function topologyName(raw: string | undefined): string {
  if (raw !== undefined && TOPOLOGY.test(raw)) return raw;
  return fitName(raw ?? '', /[^a-z0-9-]/g, 'clab');
}
