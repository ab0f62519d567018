import type { AnyTool } from '../../tools/index.js';

/** tools/list shows the catalogue's one JSON Schema per tool, the same that Slack and REST read. */
export { inputJsonSchema, outputJsonSchema } from '../../tools/json-schema.js';

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
