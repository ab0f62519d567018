/**
 * key=value text becomes the types the tool's own schema asks for, read from the schema (as JSON
 * Schema, which zod derives): numbers, booleans, lists `a,b`, objects `core:10.1.0.5` (values in
 * the order the schema declares its fields), JSON or YAML. What cannot be read is passed on as
 * written, so that the tool's zod schema refuses it with the same words as on MCP.
 */
import { parse as parseYaml } from 'yaml';
import type { AnyTool } from '../../tools/index.js';
import { inputJsonSchema, type JsonSchema, outputJsonSchema } from '../../tools/json-schema.js';
import { bareMap, isUnsafeKey, ownValue } from '../core/keys.js';
import { booleanOf, numberOf } from '../core/text.js';
import { words } from './tokens.js';

export type { JsonSchema };

/** The tool's one JSON Schema (tools/json-schema.ts, cached there), as the grammar, help and replies read it. */
export function schemaOf(tool: AnyTool): { input: JsonSchema; output: JsonSchema } {
  return { input: inputJsonSchema(tool), output: outputJsonSchema(tool) };
}

/** A value that could not be read at all (broken JSON): the field and why. */
export class CoerceError extends Error {
  constructor(
    readonly path: string,
    why: string,
  ) {
    super(why);
  }
}

const types = (s: JsonSchema): string[] => (Array.isArray(s.type) ? s.type : s.type ? [s.type] : []);

export function coerce(
  value: string,
  schema: JsonSchema | undefined,
  path: string,
  opts: { quoted?: boolean; block?: boolean } = {},
): unknown {
  if (!schema) return value;
  const t = types(schema);
  if (schema.anyOf) return coerceUnion(value, schema.anyOf, path, opts);
  if (t.includes('string') || t.length === 0) return value;
  if (opts.block || /^\s*[[{]/.test(value)) return structured(value, path);
  if (t.includes('integer') || t.includes('number')) return numberOf(value) ?? value;
  if (t.includes('boolean')) return booleanOf(value) ?? value;
  if (t.includes('array')) {
    const item = schema.items;
    // argv given as one quoted string: split it the way the words of the command are split
    const parts = value.includes(',') || !opts.quoted ? value.split(',') : words(value);
    return parts
      .map((p) => p.trim())
      .filter((p) => p !== '')
      .map((p, i) => coerce(p, item, `${path}.${i}`));
  }
  if (t.includes('object')) return positional(value, schema, path) ?? value;
  return value;
}

/** `core:10.1.0.5` -> {network: core, ip: 10.1.0.5}: the parts fill the fields in declared order. */
function positional(value: string, schema: JsonSchema, path: string): Record<string, unknown> | undefined {
  const keys = Object.keys(schema.properties ?? {});
  if (!keys.length) return undefined;
  const parts = value.split(':');
  if (parts.length > keys.length) return undefined;
  return Object.fromEntries(parts.map((p, i) => [keys[i], coerce(p, schema.properties?.[keys[i] as string], `${path}.${keys[i]}`)]));
}

function coerceUnion(value: string, variants: JsonSchema[], path: string, opts: { quoted?: boolean; block?: boolean }): unknown {
  if (variants.every((v) => types(v).includes('string') || v.const !== undefined)) return value;
  if (opts.block || /^\s*[[{]/.test(value)) return structured(value, path);
  // Objects: the first variant the number of `:` parts fits (b=r2:172.31.0.2/30 or b=192.0.2.1).
  const n = value.split(':').length;
  const fits = variants.find((v) => {
    const keys = Object.keys(v.properties ?? {});
    return types(v).includes('object') && n <= keys.length && n >= (v.required?.length ?? 0);
  });
  if (fits) return coerce(value, fits, path, opts);
  const scalar = variants.find((v) => !types(v).includes('object') && !types(v).includes('array'));
  return coerce(value, scalar, path, opts);
}

/** JSON, or YAML (a superset, so pasted JSON works too). */
export function structured(text: string, path: string): unknown {
  try {
    return parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    throw new CoerceError(path, `is neither JSON nor YAML: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** Set `a.container=r1` into args, reading each level's schema. */
export function assign(
  args: Record<string, unknown>,
  key: string,
  raw: string,
  root: JsonSchema,
  opts: { quoted?: boolean; block?: boolean },
): void {
  const path = key.split('.');
  // A path through __proto__ or constructor.prototype would write into every object of the process.
  const unsafe = path.find(isUnsafeKey);
  if (unsafe) throw new CoerceError(key, `'${unsafe}' is not a field name; use the fields \`--help\` lists`);
  let target = args;
  let schema: JsonSchema | undefined = root;
  for (const [i, seg] of path.entries()) {
    schema = propertyOf(schema, seg);
    if (i === path.length - 1) {
      target[seg] = coerce(raw, schema, key, opts);
      return;
    }
    const next = ownValue(target, seg);
    if (!next || typeof next !== 'object' || Array.isArray(next)) target[seg] = bareMap();
    target = target[seg] as Record<string, unknown>;
  }
}

export function propertyOf(schema: JsonSchema | undefined, key: string): JsonSchema | undefined {
  if (!schema) return undefined;
  const own = ownValue(schema.properties, key);
  if (own) return own;
  for (const v of schema.anyOf ?? []) {
    const inVariant = ownValue(v.properties, key);
    if (inVariant) return inVariant;
  }
  return typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
}
