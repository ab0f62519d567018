import { z } from 'zod';
import type { AnyTool } from './define.js';

/**
 * A tool's input and output as JSON Schema, derived from its zod schemas here and nowhere else:
 * MCP lists them, Slack reads field types and order from them (coercion, help, rendering), REST
 * reads the query string's types from them. One derivation, so no front end can read a field
 * differently from another.
 */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  additionalProperties?: boolean | JsonSchema;
  description?: string;
  minimum?: number;
  maximum?: number;
  [keyword: string]: unknown;
}

/** What a tool takes and returns is always an object (MCP requires it of both). */
export type ObjectJsonSchema = JsonSchema & { type: 'object' };

/** Frozen: every front end shares the one object, so none may change it for the others. */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function derive(schema: z.ZodType, io: 'input' | 'output'): ObjectJsonSchema {
  // $schema names the draft: noise for every reader here (MCP clients assume 2020-12).
  const { $schema: _draft, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as ObjectJsonSchema;
  return deepFreeze(rest as ObjectJsonSchema);
}

const inputs = new WeakMap<AnyTool, ObjectJsonSchema>();
const outputs = new WeakMap<AnyTool, ObjectJsonSchema>();

/** What a caller may send; strict objects keep additionalProperties: false. Derived once per tool. */
export function inputJsonSchema(tool: AnyTool): ObjectJsonSchema {
  let s = inputs.get(tool);
  if (!s) {
    s = derive(tool.input, 'input');
    inputs.set(tool, s);
  }
  return s;
}

/** What the tool returns (its structured content). Derived once per tool. */
export function outputJsonSchema(tool: AnyTool): ObjectJsonSchema {
  let s = outputs.get(tool);
  if (!s) {
    s = derive(tool.output, 'output');
    outputs.set(tool, s);
  }
  return s;
}
