import { z } from 'zod';
import type { AnyTool } from '../../tools/define.js';
import { bareMap, ownValue } from '../core/keys.js';
import { invalidInput } from '../core/validation.js';
import type { Route } from './routes.js';

type Property = { type?: string | string[]; items?: Property };

/** The JSON types of a tool's input fields, read once from its zod schema. */
const shapes = new WeakMap<AnyTool, Record<string, Property>>();
function propertiesOf(tool: AnyTool): Record<string, Property> {
  let props = shapes.get(tool);
  if (!props) {
    const schema = z.toJSONSchema(tool.input, { io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, Property> };
    props = schema.properties ?? {};
    shapes.set(tool, props);
  }
  return props;
}

const typeOf = (p: Property | undefined): string | undefined => (Array.isArray(p?.type) ? p.type[0] : p?.type);

/**
 * A query string value as the field's type: "3" for a number, "true"/"false" (or a bare `?force`)
 * for a boolean. Anything else stays a string, so that the tool's schema names the field it fails.
 */
function coerce(raw: string, type: string | undefined): unknown {
  if ((type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?$/.test(raw.trim())) return Number(raw);
  if (type === 'boolean') {
    if (raw === '' || raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
  }
  return raw;
}

function fromQuery(tool: AnyTool, query: URLSearchParams): Record<string, unknown> {
  const props = propertiesOf(tool);
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
