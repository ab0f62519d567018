import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  CompleteRequestSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { runTool, visibleTools } from '../../tools/index.js';
import type { ConfirmMode } from '../config.js';
import type { Lab } from '../core/lab.js';
import { VERSION } from '../version.js';
import { mcpConfirmer } from './confirm.js';
import { instructions } from './instructions.js';
import { McpLog } from './logging.js';
import { callProgress } from './progress.js';
import { Prompts } from './prompts.js';
import { Resources } from './resources.js';
import { toolResult } from './result.js';
import { annotations, inputJsonSchema, outputJsonSchema } from './schema.js';
import { ResourceWatch } from './subscriptions.js';

export const SERVER_INFO = { name: 'netstream-lab', version: VERSION };

export interface McpServerOptions {
  /** confirmation of destructive tools for this server (default: the config's NSLAB_CONFIRM_DESTRUCTIVE) */
  confirm?: ConfirmMode;
  /** during a call with a progress token, a "still running" step after this much silence (default 5 s) */
  heartbeatMs?: number;
}

/**
 * An MCP server built from the catalogue, one per client (stdio process or HTTP session): its
 * logging level and confirmations belong to that client; the lab is shared. The low-level Server
 * is used on purpose: tools are registered with their strict JSON Schemas as declared (the
 * high-level API would strip unknown keys before validation), and every call goes through runTool
 * like on the other front ends.
 */
export function createMcpServer(lab: Lab, frontEnd = 'mcp-stdio', opts: McpServerOptions = {}): Server {
  const confirmMode = opts.confirm ?? lab.config.confirmDestructive;
  const visible = () => new Set(visibleTools(lab.config).map((t) => t.name));
  const server = new Server(SERVER_INFO, {
    capabilities: {
      tools: { listChanged: false },
      resources: { listChanged: true, subscribe: true },
      prompts: { listChanged: false },
      completions: {},
      logging: {},
    },
    instructions: instructions(visible(), lab.config.readOnly, confirmMode),
  });
  const log = new McpLog(server);
  const resources = new Resources(lab, visible, frontEnd);
  const prompts = new Prompts(lab, visible);
  const heartbeatMs = opts.heartbeatMs ?? 5000;

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
    const { name } = req.params;
    const args = req.params.arguments ?? {};
    const notify = extra.sendNotification;
    const client = server.getClientVersion();
    const started = Date.now();
    const progress = callProgress(name, req.params._meta?.progressToken, notify, log, heartbeatMs);
    log.send('debug', `calling ${name}`, { tool: name }, notify);
    const outcome = await runTool(
      lab,
      name,
      args,
      {
        signal: extra.signal,
        caller: { front_end: frontEnd, id: client ? `${client.name} ${client.version}` : undefined },
        progress: progress.progress,
      },
      // The policy asks only for a call that would run: bad input or a hidden tool is refused as it is.
      { confirm: mcpConfirmer(server, confirmMode, extra) },
    ).finally(progress.stop);
    const ms = Date.now() - started;
    if (!outcome.ok && outcome.error.code === 'NOT_CONFIRMED') {
      log.send('notice', `${name} not run: not confirmed`, { tool: name }, notify);
      return { isError: true, content: [{ type: 'text', text: outcome.error.message }] };
    }
    if (!outcome.ok) {
      const level = outcome.error.code === 'INTERNAL' ? 'error' : 'warning';
      log.send(
        level,
        `${name} failed (${outcome.error.code}): ${outcome.error.message}`,
        { tool: name, code: outcome.error.code, duration_ms: ms },
        notify,
      );
      return { isError: true, content: [{ type: 'text', text: outcome.error.toText() }] };
    }
    log.send('info', `${name} done in ${ms} ms`, { tool: name, duration_ms: ms }, notify);
    const warnings = outcome.result.warnings;
    if (Array.isArray(warnings)) for (const w of warnings) log.send('warning', `${name}: ${String(w)}`, { tool: name }, notify);
    return toolResult(outcome.result);
  });

  server.setRequestHandler(ListResourcesRequestSchema, async () => ({ resources: await resources.list() }));
  server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => ({ resourceTemplates: resources.templates() }));
  server.setRequestHandler(ReadResourceRequestSchema, (req) => resources.read(req.params.uri));
  // Subscriptions follow the lab's event stream (src/core/events); they end with the client.
  const watch = new ResourceWatch(server, lab);
  server.setRequestHandler(SubscribeRequestSchema, async (req) => {
    watch.subscribe(req.params.uri);
    return {};
  });
  server.setRequestHandler(UnsubscribeRequestSchema, async (req) => {
    watch.unsubscribe(req.params.uri);
    return {};
  });
  server.onclose = () => watch.dispose();

  server.setRequestHandler(ListPromptsRequestSchema, async () => ({ prompts: prompts.list() }));
  server.setRequestHandler(GetPromptRequestSchema, (req) => prompts.get(req.params.name, req.params.arguments ?? {}));

  server.setRequestHandler(CompleteRequestSchema, async (req) => {
    const { ref, argument } = req.params;
    const context = req.params.context?.arguments ?? {};
    const all =
      ref.type === 'ref/prompt'
        ? await prompts.complete(ref.name, argument.name, argument.value, context)
        : await resources.complete(ref.uri, argument.name, argument.value, context);
    // The specification allows at most 100 values per answer.
    return { completion: { values: all.slice(0, 100), total: all.length, hasMore: all.length > 100 } };
  });
  return server;
}
