import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, type CallToolResult, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { runTool, visibleTools } from '../../tools/index.js';
import type { Lab } from '../core/lab.js';
import { VERSION } from '../version.js';
import { annotations, inputJsonSchema, outputJsonSchema } from './schema.js';

export const SERVER_INFO = { name: 'netstream-lab', version: VERSION };

/**
 * An MCP server built from the catalogue. The low-level Server is used on purpose: tools are
 * registered with their strict JSON Schemas as declared (the high-level API would strip unknown
 * keys before validation), and every call goes through runTool like on the other front ends.
 */
export function createMcpServer(lab: Lab, frontEnd = 'mcp-stdio'): Server {
  const server = new Server(SERVER_INFO, {
    capabilities: { tools: { listChanged: false } },
    instructions:
      'netstream-lab runs container BGP labs (FRR, GoBGP, ExaBGP daemons, hosts, networks, GRE/VXLAN tunnels). Whole labs: topology_create (YAML) then topology_standup with wait_established_s, topology_status, topology_graph (png shows the lab). One at a time: network_create, daemon_create, daemon_peer_add / daemon_route_advertise (live), daemon_status until neighbors are Established, host_create + host_exec ping to check forwarding, tunnel_create + tunnel_diagnose / tunnel_fix.',
  });

  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: visibleTools(lab.config).map((t) => ({
      name: t.name,
      title: t.title,
      description: t.description,
      inputSchema: inputJsonSchema(t),
      outputSchema: outputJsonSchema(t),
      annotations: annotations(t),
    })),
  }));

  server.setRequestHandler(CallToolRequestSchema, async (req, extra): Promise<CallToolResult> => {
    const token = req.params._meta?.progressToken;
    let step = 0;
    const progress =
      token === undefined
        ? undefined
        : (message: string) => {
            step += 1;
            void extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: step, message } });
          };
    const client = server.getClientVersion();
    const outcome = await runTool(lab, req.params.name, req.params.arguments ?? {}, {
      signal: extra.signal,
      caller: { front_end: frontEnd, id: client ? `${client.name} ${client.version}` : undefined },
      ...(progress ? { progress } : {}),
    });
    if (!outcome.ok) return { isError: true, content: [{ type: 'text', text: outcome.error.toText() }] };
    const { data_base64, mime_type } = outcome.result as { data_base64?: unknown; mime_type?: unknown };
    if (typeof data_base64 === 'string' && typeof mime_type === 'string' && mime_type.startsWith('image/')) {
      // An image (topology_graph png) is shown as one; the text block describes it without the bytes.
      const { data_base64: _bytes, ...rest } = outcome.result;
      return {
        content: [
          { type: 'image', data: data_base64, mimeType: mime_type },
          {
            type: 'text',
            text: JSON.stringify(
              { ...rest, data_base64: `(${Math.round((data_base64.length * 3) / 4)} bytes of ${mime_type}, shown as an image)` },
              null,
              2,
            ),
          },
        ],
        structuredContent: outcome.result,
      };
    }
    return {
      content: [{ type: 'text', text: JSON.stringify(outcome.result, null, 2) }],
      structuredContent: outcome.result,
    };
  });
  return server;
}
