import type { AnyTool } from '../../tools/index.js';
import { bareMap, ownValue } from '../core/keys.js';
import { assign, CoerceError, type JsonSchema, schemaOf, structured } from './coerce.js';
import { suggest } from './suggest.js';
import { type Token, tokenize } from './tokens.js';

/**
 * `/lab <resource> <verb> [name] [key=value ...] [--yes] [--public]`, derived from the tool names
 * (`<resource>_<verb>`): a tool added to the catalogue is a command with no Slack code of its own.
 */
export type Command =
  | { kind: 'help'; resource?: string; tool?: AnyTool }
  | { kind: 'call'; tool: AnyTool; args: Record<string, unknown>; yes: boolean; public: boolean }
  | { kind: 'error'; message: string; hint?: string; field?: string; tool?: AnyTool };

export const resourceOf = (t: AnyTool): string => t.name.split('_')[0] as string;
export const verbOf = (t: AnyTool): string => t.name.slice(resourceOf(t).length + 1);
/** How a user types it: `/lab daemon peer_add`. */
export const usageName = (t: AnyTool): string => `/lab ${resourceOf(t)} ${verbOf(t)}`;

const HELP = new Set(['help', '-h', '--help', '?']);

/** `tools`: the tools this server offers (enabled toolsets, read-only mode). */
export function parseCommand(text: string, tools: readonly AnyTool[]): Command {
  let tokens: Token[];
  try {
    tokens = tokenize(text);
  } catch (err) {
    return { kind: 'error', message: (err as Error).message };
  }
  const first = tokens[0]?.text.toLowerCase();
  if (first === undefined || HELP.has(first)) return { kind: 'help' };
  const resources = [...new Set(tools.map(resourceOf))];
  const resource = resources.find((r) => r === first || `${r}s` === first);
  if (!resource) {
    const guess = suggest(first, resources);
    return {
      kind: 'error',
      message: `unknown resource '${first}'${guess ? `: did you mean ${guess}?` : ''}`,
      hint: `resources: ${resources.join(', ')}. \`/lab help\` lists the commands`,
    };
  }
  const mine = tools.filter((t) => resourceOf(t) === resource);
  const verbWord = tokens[1]?.text.toLowerCase().replace(/-/g, '_');
  if (verbWord === undefined || HELP.has(verbWord)) return { kind: 'help', resource };
  // Two-word verbs read naturally: `/lab daemon peer add` is `peer_add`.
  const twoWords = `${verbWord}_${tokens[2]?.text.toLowerCase() ?? ''}`;
  let tool = mine.find((t) => verbOf(t) === verbWord);
  let rest = tokens.slice(2);
  if (!tool && tokens[2] && mine.some((t) => verbOf(t) === twoWords)) {
    tool = mine.find((t) => verbOf(t) === twoWords);
    rest = tokens.slice(3);
  }
  if (!tool) {
    const guess = suggest(verbWord, mine.map(verbOf));
    return {
      kind: 'error',
      message: `unknown command '${resource} ${verbWord}'${guess ? `: did you mean \`/lab ${resource} ${guess}\`?` : ''}`,
      hint: `${resource} commands: ${mine.map(verbOf).join(', ')}. \`/lab ${resource} help\` explains them`,
    };
  }
  return parseArguments(tool, rest);
}

function parseArguments(tool: AnyTool, tokens: Token[]): Command {
  const schema = schemaOf(tool).input;
  const props = schema.properties ?? {};
  const args = bareMap<unknown>();
  const flags = { yes: false, public: false };
  const slots = positionalSlots(schema);
  const fail = (message: string, field?: string): Command => ({
    kind: 'error',
    message,
    hint: `\`${usageName(tool)} --help\` shows its arguments`,
    tool,
    ...(field ? { field } : {}),
  });
  try {
    for (const t of tokens) {
      const pair = t.block ? /^([a-zA-Z_][\w.]*)=([\s\S]*)$/.exec(t.text) : /^([a-zA-Z_][\w.]*)=(.*)$/s.exec(t.text);
      if (!t.quoted && /^--?[a-z]/i.test(t.text) && !pair) {
        const flag = t.text.replace(/^--?/, '').toLowerCase();
        if (HELP.has(flag) || flag === 'h') return { kind: 'help', tool };
        if (flag === 'yes' || flag === 'y') flags.yes = true;
        else if (flag === 'public') flags.public = true;
        else if (ownValue(props, flag.replace(/-/g, '_'))?.type === 'boolean') args[flag.replace(/-/g, '_')] = true;
        else return fail(`unknown option '${t.text}': use --yes, --public, --help or key=value`, flag);
      } else if (pair) {
        assign(args, pair[1] as string, pair[2] as string, schema, t);
      } else if (t.block && !t.text.includes('=')) {
        placeBlock(args, t.text, schema);
      } else if (t.text.toLowerCase() === 'help' && !t.quoted) {
        return { kind: 'help', tool };
      } else {
        const slot = slots.shift();
        if (!slot) {
          return fail(
            `unexpected '${t.text}': ${tool.name.replace('_', ' ')} takes values as key=value (fields: ${Object.keys(props).join(', ') || 'none'})`,
          );
        }
        assign(args, slot, t.text, schema, t);
      }
    }
  } catch (err) {
    if (err instanceof CoerceError) return fail(`invalid input for ${tool.name}: ${err.path}: ${err.message}`, err.path);
    throw err;
  }
  return { kind: 'call', tool, args, ...flags };
}

/** Words without `key=`: the name, or else the required text fields (`network connect core r1`). */
export function positionalSlots(schema: JsonSchema): string[] {
  const props = schema.properties ?? {};
  if ('name' in props) return ['name'];
  return (schema.required ?? []).filter((k) => props[k]?.type === 'string' && !props[k]?.enum);
}

/** A pasted code block: the tool's `yaml` text when it takes one, otherwise its arguments as an object. */
function placeBlock(args: Record<string, unknown>, text: string, schema: JsonSchema): void {
  if (schema.properties?.yaml?.type === 'string') {
    args.yaml = text;
    return;
  }
  const value = structured(text, '(code block)');
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new CoerceError('(code block)', 'must be an object of arguments');
  Object.assign(args, value);
}
