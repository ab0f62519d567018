import type { AnyTool } from '../../tools/index.js';
import { mapStrings } from '../core/keys.js';
import { type JsonSchema, schemaOf } from './coerce.js';
import { marker, table } from './table.js';

/**
 * Block Kit for any tool's result, derived from its output schema rather than written per tool:
 * plain fields as a field grid (states marked), lists of things with a state one line each (BGP
 * neighbors, checks), other lists as tables, long text in code blocks. Slack's limits hold: what
 * does not fit is cut, and the whole of it goes into a file.
 */
export type Block = Record<string, unknown>;
export interface Upload {
  filename: string;
  content: string | Buffer;
  title: string;
  /** shown in the message as an image, not as a file */
  image?: boolean;
}
export interface Rendered {
  blocks: Block[];
  /** notification and fallback text */
  text: string;
  uploads: Upload[];
}

/** Slack: 3000 characters a section, 50 blocks a message; we keep margins. */
export const LIMITS = { section: 2900, blocks: 45, field: 1900 };

export const section = (text: string): Block => ({ type: 'section', text: { type: 'mrkdwn', text: clip(text, LIMITS.section) } });
export const context = (text: string): Block => ({ type: 'context', elements: [{ type: 'mrkdwn', text: clip(text, LIMITS.field) }] });
export const clip = (s: string, n: number): string => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

const types = (s: JsonSchema | undefined): string[] => (Array.isArray(s?.type) ? s.type : s?.type ? [s.type] : []);
const isScalar = (s: JsonSchema | undefined): boolean =>
  !!s && (s.enum !== undefined || types(s).some((t) => ['string', 'number', 'integer', 'boolean'].includes(t)));

/**
 * Text that came from elsewhere (a container's output, a daemon's description, an error quoting
 * input) shown as text: `<!channel>`, `<@U123>` and links are Slack control sequences, so `&`, `<`
 * and `>` are escaped as Slack asks. Our own mentions are added around it, never inside it.
 */
export const escapeMrkdwn = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A copy of a result with every string escaped for mrkdwn. */
export const escapeAll = (value: unknown): unknown => mapStrings(value, escapeMrkdwn);

export function renderResult(tool: AnyTool, raw: Record<string, unknown>, heading: string): Rendered {
  const schema = schemaOf(tool).output;
  const result = escapeAll(raw) as Record<string, unknown>;
  const blocks: Block[] = [section(heading)];
  const uploads: Upload[] = [];
  let cut = false;
  const code = (label: string, text: string) => {
    const body = text.replace(/```/g, "'''");
    if (body.length > LIMITS.section - 40) cut = true;
    blocks.push(section(`*${label}*\n\`\`\`${clip(body, LIMITS.section - 40 - label.length)}\`\`\``));
  };
  if (typeof result.data_base64 === 'string') {
    uploads.push({
      filename: `${String(result.name ?? tool.name)}.png`,
      content: Buffer.from(result.data_base64, 'base64'),
      title: heading,
      image: true,
    });
  }
  const fields: string[] = [];
  for (const [key, s] of Object.entries(schema.properties ?? {})) {
    const value = result[key];
    if (value === undefined || key === 'data_base64' || tool.chatOmits?.includes(key)) continue;
    if (isScalar(s) && !(typeof value === 'string' && (value.includes('\n') || value.length > 200))) {
      fields.push(`*${key}*\n${scalar(key, value)}`);
    } else if (typeof value === 'string') {
      code(key, value);
    } else if (Array.isArray(value)) {
      renderList(key, value, s?.items, blocks, () => (cut = true));
    } else if (value && typeof value === 'object') {
      blocks.push(section(`*${key}*: ${inline(value as Record<string, unknown>)}`));
    }
  }
  if (fields.length)
    blocks.splice(
      1,
      0,
      ...chunk(fields, 10).map((f) => ({ type: 'section', fields: f.map((t) => ({ type: 'mrkdwn', text: clip(t, LIMITS.field) })) })),
    );
  if (blocks.length > LIMITS.blocks) {
    blocks.splice(LIMITS.blocks - 1);
    cut = true;
  }
  if (cut) {
    blocks.push(context('The output was too long for one message: it is cut here, and the whole of it is in the file below.'));
    uploads.push({ filename: `${tool.name}.json`, content: `${JSON.stringify(raw, null, 2)}\n`, title: `${heading} (full output)` });
  }
  return { blocks, text: heading.replace(/[*`]/g, ''), uploads };
}

function renderList(key: string, items: unknown[], item: JsonSchema | undefined, blocks: Block[], cut: () => void): void {
  if (!items.length) {
    blocks.push(section(`*${key}*: none`));
    return;
  }
  if (!item?.properties) {
    const text = items.map((v) => `• ${typeof v === 'string' ? v : JSON.stringify(v)}`).join('\n');
    if (text.length > LIMITS.section - key.length) cut();
    blocks.push(section(`*${key}*\n${text}`));
    return;
  }
  const props = Object.keys(item.properties);
  const stateKey = props.find((p) => ['state', 'result', 'a_state'].includes(p));
  if (stateKey) {
    // Things with a state read best one per line, marked: BGP neighbors, checks, nodes.
    const lines = items.map((raw) => {
      const it = raw as Record<string, unknown>;
      const [idKey, ...rest] = props.filter((p) => p !== stateKey && isScalar(item.properties?.[p]) && it[p] !== undefined);
      const extra = rest.map((p) => `${p} ${scalar(p, it[p], false)}`);
      const state = stateKey === 'a_state' ? `${String(it.a_state ?? '?')} / ${String(it.b_state ?? '?')}` : String(it[stateKey]);
      return `${marker(String(it[stateKey]))} *${idKey ? String(it[idKey]) : ''}* ${state}${extra.length ? ` · ${extra.join(' · ')}` : ''}`;
    });
    pushLines(key, lines, blocks, cut);
    return;
  }
  const text = table(items as Record<string, unknown>[], item);
  if (text.length > LIMITS.section - key.length - 20) cut();
  blocks.push(section(`*${key}* (${items.length})\n\`\`\`${clip(text, LIMITS.section - key.length - 30)}\`\`\``));
}

function pushLines(key: string, lines: string[], blocks: Block[], cut: () => void): void {
  let cur = `*${key}* (${lines.length})`;
  for (const line of lines) {
    if (cur.length + line.length + 1 > LIMITS.section) {
      blocks.push(section(cur));
      cur = '';
      if (blocks.length >= LIMITS.blocks) {
        cut();
        return;
      }
    }
    cur += `\n${line}`;
  }
  blocks.push(section(cur));
}

export function scalar(key: string, value: unknown, mark = true): string {
  if (typeof value === 'boolean') {
    const m = mark ? marker(String(value), key) : '';
    return `${m ? `${m} ` : ''}${value ? 'yes' : 'no'}`;
  }
  if (typeof value === 'number' && key.endsWith('_s')) return duration(value);
  const text = String(value);
  const m = mark ? marker(text, key) : '';
  return m ? `${m} ${text}` : text;
}

function inline(obj: Record<string, unknown>): string {
  return Object.entries(obj)
    .map(
      ([k, v]) =>
        `${k} ${v && typeof v === 'object' ? (Array.isArray(v) ? v.join(', ') || 'none' : inline(v as Record<string, unknown>)) : scalar(k, v)}`,
    )
    .join(' · ');
}

export function duration(s: number): string {
  if (s < 60) return `${Math.round(s * 10) / 10} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

const chunk = <T>(xs: T[], n: number): T[][] => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));
