import { type AnyTool, phrase } from '../../tools/index.js';
import { mayRun, type Role } from './access.js';
import { type JsonSchema, schemaOf } from './coerce.js';
import { positionalSlots, resourceOf, usageName, verbOf } from './grammar.js';

/** Help at three levels, written from the tool declarations, listing only what this caller may run. */

const MARK: Record<AnyTool['effect'], string> = { read: '', write: ' ✏️', destructive: ' ⚠️' };
const ROLE_TEXT: Record<Role, string> = {
  admin: 'You are an admin: every command is yours (⚠️ ones ask you to confirm).',
  operator: 'You are an operator: you may read and change the lab (✏️); ⚠️ commands need an admin.',
  reader: 'You may run read commands; changes need an operator, removals an admin.',
};

export function overview(tools: readonly AnyTool[], role: Role): string {
  const mine = tools.filter((t) => mayRun(role, t));
  const byResource = new Map<string, string[]>();
  for (const t of mine) byResource.set(resourceOf(t), [...(byResource.get(resourceOf(t)) ?? []), `${verbOf(t)}${MARK[t.effect]}`]);
  const lines = [...byResource].map(([r, verbs]) => `• *${r}*: ${verbs.join(', ')}`);
  const hidden = tools.length - mine.length;
  return [
    '*netstream-lab* — `/lab <resource> <verb> [name] [key=value ...] [--public] [--yes]`',
    ...lines,
    '',
    ROLE_TEXT[role] + (hidden ? ` (${hidden} more commands are not listed.)` : ''),
    'More: `/lab <resource> help`, `/lab <resource> <verb> --help`. Lists as `a,b`; objects as `core:10.1.0.5` or JSON; paste YAML in a code block. `--public` shows a read to the channel.',
  ].join('\n');
}

export function resourceHelp(resource: string, tools: readonly AnyTool[], role: Role): string {
  const all = tools.filter((t) => resourceOf(t) === resource);
  const mine = all.filter((t) => mayRun(role, t));
  const lines = mine.map((t) => `• \`${usageLine(t)}\`${MARK[t.effect]} — ${t.title}`);
  const hidden = all.length - mine.length;
  return [
    `*${resource}* commands`,
    ...(lines.length ? lines : ['(none you may run)']),
    '',
    hidden ? `${hidden} more ${resource} commands need more rights. ${ROLE_TEXT[role]}` : ROLE_TEXT[role],
    `Details: \`/lab ${resource} <verb> --help\``,
  ].join('\n');
}

export function toolHelp(tool: AnyTool): string {
  const schema = schemaOf(tool).input;
  const required = new Set(schema.required ?? []);
  const fields = Object.entries(schema.properties ?? {}).map(
    ([k, s]) =>
      `• \`${k}\`${required.has(k) ? ' (required)' : ''}: ${typeText(s)}${s.description ? ` — ${phrase(s.description, 'slack')}` : ''}`,
  );
  const effect = {
    read: 'Reads only; the answer is shown to you alone (add `--public` for the channel).',
    write: 'Changes the lab (operators and admins); the result is posted in the channel.',
    destructive: 'Removes or interrupts part of the lab (admins only); asks you to confirm first.',
  }[tool.effect];
  return [
    `*${tool.title}* — \`${usageLine(tool)}\``,
    phrase(tool.description, 'slack'),
    ...(fields.length ? ['', '*Arguments*', ...fields] : ['', 'No arguments.']),
    '',
    effect,
  ].join('\n');
}

export function usageLine(tool: AnyTool): string {
  const schema = schemaOf(tool).input;
  const required = new Set(schema.required ?? []);
  const slots = positionalSlots(schema);
  const named = Object.entries(schema.properties ?? {}).filter(([k]) => !slots.includes(k));
  const parts = [
    ...slots.map((k) => `<${k}>`),
    ...named.map(([k, s]) => (required.has(k) ? `${k}=${placeholder(s)}` : `[${k}=${placeholder(s)}]`)),
  ];
  return [usageName(tool), ...parts].join(' ');
}

function placeholder(s: JsonSchema): string {
  if (s.enum) return s.enum.join('|');
  if (s.type === 'integer' || s.type === 'number') return 'N';
  if (s.type === 'boolean') return 'true|false';
  if (s.type === 'array') return s.items?.properties ? `${colonForm(s.items, true)},...` : 'a,b';
  if (s.type === 'object' && s.properties) return colonForm(s, true);
  if (s.type === 'object') return '```yaml```';
  if (s.anyOf?.some((v) => v.type === 'object')) return s.anyOf.map((v) => Object.keys(v.properties ?? {}).join(':')).join('|');
  return '…';
}

function typeText(s: JsonSchema): string {
  if (s.enum) return `one of ${s.enum.join(', ')}`;
  if (s.type === 'integer' || s.type === 'number') {
    return `number${s.minimum !== undefined && s.maximum !== undefined ? ` ${s.minimum}..${s.maximum}` : ''}`;
  }
  if (s.type === 'boolean') return 'true or false';
  if (s.type === 'array') {
    const item = s.items?.properties ? `\`${colonForm(s.items)}\`` : 'values';
    return `list of ${item}, comma separated (or JSON)`;
  }
  if (s.type === 'object' && s.properties) return `\`${colonForm(s)}\` or JSON`;
  if (s.type === 'object') return 'JSON or YAML (paste it as a code block)';
  if (s.anyOf?.some((v) => v.type === 'object')) {
    return `${s.anyOf.map((v) => `\`${Object.keys(v.properties ?? {}).join(':')}\``).join(' or ')} (or JSON)`;
  }
  return 'text';
}

/** An object written as its values in declared order: `network[:ip]`; short: the required part, then `[:…]`. */
function colonForm(s: JsonSchema, short = false): string {
  const keys = Object.keys(s.properties ?? {});
  const required = new Set(s.required ?? []);
  const head = keys.filter((_k, i) => keys.slice(i).some((x) => required.has(x)));
  const tail = keys.slice(head.length);
  if (!tail.length) return head.join(':');
  return `${head.join(':')}[:${short && tail.length > 1 ? '…' : tail.join(':')}]`;
}
