import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { type LoggingLevel, LoggingLevelSchema, type ServerNotification, SetLevelRequestSchema } from '@modelcontextprotocol/sdk/types.js';

/** How a notification is sent: the server's own `notification` or a request's `extra.sendNotification`. */
export type Notify = (n: ServerNotification) => Promise<void>;

const SEVERITY: readonly LoggingLevel[] = LoggingLevelSchema.options;

/**
 * The MCP logging capability of one server (one client): `logging/setLevel` sets the least
 * severe level this client receives (info until it asks), and `notifications/message` carries
 * the server's notable events. Everything goes through JSON-RPC; nothing is written to stdout.
 */
export class McpLog {
  #level: LoggingLevel = 'info';

  constructor(private readonly server: Server) {
    // Replaces the SDK's default handler, which keys levels by session in a map on the server.
    server.setRequestHandler(SetLevelRequestSchema, async (req) => {
      this.setLevel(req.params.level);
      return {};
    });
  }

  get level(): LoggingLevel {
    return this.#level;
  }

  setLevel(level: LoggingLevel): void {
    this.#level = level;
  }

  wants(level: LoggingLevel): boolean {
    return SEVERITY.indexOf(level) >= SEVERITY.indexOf(this.#level);
  }

  /**
   * Send one message; a client that is gone or a send that fails never reaches the caller. `via`
   * is a request's own sender (over HTTP the message then travels on that request's stream).
   */
  send(level: LoggingLevel, message: string, data: Record<string, unknown> = {}, via?: Notify): void {
    if (!this.wants(level)) return;
    const notification = {
      method: 'notifications/message' as const,
      params: { level, logger: 'netstream-lab', data: { message, ...data } },
    };
    try {
      (via ? via(notification) : this.server.notification(notification)).catch(() => undefined);
    } catch {
      // not connected (yet, or any more): there is no one to tell
    }
  }
}
