import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Lab } from '../core/lab.js';
import { createMcpServer } from '../mcp/server.js';
import { MAX_BODY_BYTES } from './body.js';
import { sendJson } from './reply.js';

interface Session {
  server: Server;
  transport: StreamableHTTPServerTransport;
  lastSeen: number;
}

const jsonRpcError = (res: ServerResponse, status: number, code: number, message: string) =>
  sendJson(res, status, { jsonrpc: '2.0', error: { code, message }, id: null });

/**
 * MCP over Streamable HTTP with sessions: one MCP server per session (so progress, cancellation,
 * logging levels and elicitation belong to one client), all sharing one lab. Sessions end by
 * DELETE, by idling out, or when the HTTP server shuts down.
 */
export class McpSessions {
  readonly #sessions = new Map<string, Session>();
  readonly #sweeper: NodeJS.Timeout;

  constructor(
    private readonly lab: Lab,
    private readonly limits = { maxSessions: 200, idleMs: 60 * 60_000 },
  ) {
    this.#sweeper = setInterval(() => this.#closeIdle(), 60_000).unref();
  }

  get size(): number {
    return this.#sessions.size;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const id = req.headers['mcp-session-id'];
    if (typeof id === 'string') {
      const session = this.#sessions.get(id);
      if (!session) return jsonRpcError(res, 404, -32001, 'Session not found: it ended or the server restarted; initialize a new one');
      session.lastSeen = Date.now();
      return session.transport.handleRequest(req, res);
    }
    if (req.method !== 'POST') return jsonRpcError(res, 400, -32000, 'Bad Request: no Mcp-Session-Id; start with an initialize POST');
    if (this.#sessions.size >= this.limits.maxSessions) {
      return jsonRpcError(res, 503, -32000, `too many MCP sessions (${this.limits.maxSessions}); end unused ones with DELETE /mcp`);
    }
    const server = createMcpServer(this.lab, 'mcp-http');
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      // The server refuses a declared length over this before any front end runs; a chunked body
      // (no length) is cut at the same bound by the transport's own reader.
      maxRequestBodySize: MAX_BODY_BYTES,
      onsessioninitialized: (sid) => {
        this.#sessions.set(sid, { server, transport, lastSeen: Date.now() });
      },
      onsessionclosed: (sid) => {
        this.#sessions.delete(sid);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) this.#sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    await transport.handleRequest(req, res);
    // Anything but a valid initialize leaves no session behind.
    if (!transport.sessionId || !this.#sessions.has(transport.sessionId)) await server.close();
  }

  /** Close every session: their in-flight calls are aborted (and roll back what they made). */
  async closeAll(): Promise<void> {
    clearInterval(this.#sweeper);
    const all = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.allSettled(all.map((s) => s.server.close()));
  }

  #closeIdle(): void {
    const cutoff = Date.now() - this.limits.idleMs;
    for (const [sid, s] of this.#sessions) {
      if (s.lastSeen < cutoff) {
        this.#sessions.delete(sid);
        void s.server.close().catch(() => undefined);
      }
    }
  }
}
