import type { JsonSchema } from './coerce.js';

/** Status markers: the words the tools use for states, sorted into good, passing and bad. */
const GOOD = new Set(['running', 'established', 'present', 'pass', 'up', 'live', 'healthy', 'ok', 'keep']);
const WARN = new Set([
  'active',
  'connect',
  'opensent',
  'openconfirm',
  'restarting',
  'reload',
  'config_only',
  'skip',
  'unknown',
  'update',
  'recreate',
]);
const BAD = new Set(['missing', 'stopped', 'idle', 'fail', 'failed', 'not_answering', 'not_running', 'down', 'foreign', 'delete', 'error']);
/** Booleans that are good news when true. */
const GOOD_WHEN_TRUE = new Set(['healthy', 'valid', 'in_sync', 'all', 'ok', 'up', 'deployed', 'live']);

export function marker(value: string, key = ''): string {
  const v = value.toLowerCase();
  if (v === 'true' || v === 'false') {
    if (!GOOD_WHEN_TRUE.has(key)) return '';
    return v === 'true' ? '🟢' : '🔴';
  }
  if (GOOD.has(v)) return '🟢';
  if (WARN.has(v)) return '🟡';
  if (BAD.has(v)) return '🔴';
  return '';
}

const CELL = 28;

/** A fixed-width text table (shown in a code block) with the item schema's columns. */
export function table(items: Record<string, unknown>[], item: JsonSchema): string {
  const cols = Object.keys(item.properties ?? {}).filter((k) => items.some((it) => it[k] !== undefined && cell(it[k]) !== ''));
  const rows = items.map((it) => cols.map((c) => cell(it[c])));
  const width = cols.map((c, i) => Math.min(CELL, Math.max(c.length, ...rows.map((r) => (r[i] ?? '').length))));
  const line = (cells: string[]) =>
    cells
      .map((x, i) => {
        const w = width[i] ?? CELL;
        return (x.length > w ? `${x.slice(0, w - 1)}…` : x).padEnd(w);
      })
      .join('  ')
      .trimEnd();
  return [line(cols), ...rows.map(line)].join('\n');
}

/** One value in one cell: markers for states, `network=ip` for short objects, counts for long ones. */
function cell(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x !== 'object')) return v.join(',');
    const small = v.every((x) => x && typeof x === 'object' && Object.keys(x).length <= 2);
    return small ? v.map((x) => Object.values(x as object).join('=')).join(' ') : `${v.length} items`;
  }
  if (typeof v === 'object') return Object.values(v as object).join('/');
  const s = String(v);
  const m = marker(s);
  return m ? `${m}${s}` : s;
}
