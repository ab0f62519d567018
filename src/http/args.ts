import type { AnyTool } from '../../tools/define.js';
import { inputJsonSchema, type JsonSchema } from '../../tools/json-schema.js';
import { bareMap, ownValue } from '../core/keys.js';
import { booleanOf, numberOf } from '../core/text.js';
import { invalidInput } from '../core/validation.js';
import type { Route } from './routes.js';

const typeOf = (p: JsonSchema | undefined): string | undefined => (Array.isArray(p?.type) ? p.type[0] : p?.type);

/**
 * A query string value as the field's type, read as every front end reads text (src/core/text.ts):
 * "3" for a number, the yes/no words for a boolean, or a bare `?force`, which a query string means as "on".
 * Anything else stays a string, so that the tool's schema names the field it fails.
 */
function coerce(raw: string, type: string | undefined): unknown {
  if (type === 'integer' || type === 'number') return numberOf(raw) ?? raw;
  if (type === 'boolean') return raw === '' ? true : (booleanOf(raw) ?? raw);
  return raw;
}

function fromQuery(tool: AnyTool, query: URLSearchParams): Record<string, unknown> {
  // The field types from the tool's one JSON Schema (derived once per tool, shared with MCP and Slack).
  const props = inputJsonSchema(tool).properties ?? {};
  const out = bareMap<unknown>();
  for (const key of new Set(query.keys())) {
    const values = query.getAll(key);
    const prop = ownValue(props, key);
    if (typeOf(prop) === 'array') out[key] = values.map((v) => coerce(v, typeOf(prop?.items)));
    // A field given twice stays a list, and the schema says that it takes one value.
    else out[key] = values.length === 1 ? coerce(values[0] ?? '', typeOf(prop)) : values;
  }
  return out;
}

const show = (v: unknown): string => {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

/**
 * The tool's arguments: path parameters, query parameters and the JSON body merged. The same field
 * given twice with different values (path and body, query and body) is refused naming the field.
 */
export function buildArgs(
  route: Route,
  pathValues: Record<string, string>,
  query: URLSearchParams,
  body: Record<string, unknown>,
): Record<string, unknown> {
  // No prototype: a `__proto__` field from the query string stays a field (which the tool refuses).
  const args = Object.assign(bareMap<unknown>(), body);
  const origin = new Map(Object.keys(body).map((k) => [k, 'the body']));
  const clashes: Array<{ path: string; message: string }> = [];
  const put = (field: string, value: unknown, from: string) => {
    const before = origin.get(field);
    if (before && JSON.stringify(args[field]) !== JSON.stringify(value)) {
      clashes.push({ path: field, message: `given twice: ${from} says ${show(value)}, ${before} ${show(args[field])}; give it once` });
      return;
    }
    args[field] = value;
    origin.set(field, from);
  };
  for (const [field, value] of Object.entries(fromQuery(route.tool, query))) put(field, value, 'the query string');
  for (const { param, field } of route.params) put(field, pathValues[param], `the path {${param}}`);
  if (clashes.length > 0) throw invalidInput(route.tool.name, clashes);
  return args;
}
