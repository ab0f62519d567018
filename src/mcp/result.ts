import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/**
 * A tool's result as MCP content: the JSON as text plus structuredContent (checked by clients
 * against the tool's output schema). An image (topology_graph png) is shown as one; its text
 * block describes it without the bytes.
 */
export function toolResult(result: Record<string, unknown>): CallToolResult {
  const { data_base64, mime_type } = result as { data_base64?: unknown; mime_type?: unknown };
  if (typeof data_base64 === 'string' && typeof mime_type === 'string' && mime_type.startsWith('image/')) {
    const { data_base64: _bytes, ...rest } = result;
    const size = `(${Math.round((data_base64.length * 3) / 4)} bytes of ${mime_type}, shown as an image)`;
    return {
      content: [
        { type: 'image', data: data_base64, mimeType: mime_type },
        { type: 'text', text: JSON.stringify({ ...rest, data_base64: size }, null, 2) },
      ],
      structuredContent: result,
    };
  }
  return { content: [{ type: 'text', text: JSON.stringify(result, null, 2) }], structuredContent: result };
}
