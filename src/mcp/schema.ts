import { z } from 'zod';
import type { AnyTool } from '../../tools/index.js';

type JsonSchema = { type: 'object'; [k: string]: unknown };

/** JSON Schema of a tool's input: what a caller may send (strict objects keep additionalProperties false). */
export function inputJsonSchema(tool: AnyTool): JsonSchema {
  const { $schema: _drop, ...schema } = z.toJSONSchema(tool.input, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return schema;
}

export function outputJsonSchema(tool: AnyTool): JsonSchema {
  const { $schema: _drop, ...schema } = z.toJSONSchema(tool.output, { io: 'output', unrepresentable: 'any' }) as JsonSchema;
  return schema;
}

/** The four MCP annotations, from the declaration. Lab operations never reach the open world. */
export function annotations(tool: AnyTool) {
  return {
    title: tool.title,
    readOnlyHint: tool.effect === 'read',
    destructiveHint: tool.effect === 'destructive',
    idempotentHint: tool.idempotent,
    openWorldHint: false,
  };
}
