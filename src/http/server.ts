import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { callsInFlight, drainCalls } from '../../tools/index.js';
import type { Lab } from '../core/lab.js';
import { withTimeout } from '../core/timeout.js';
import { VERSION } from '../version.js';
import { bodyUnread, declaredLength, lingerBeforeClose, MAX_BODY_BYTES } from './body.js';
import { EventFeeds } from './events.js';
import { authorized, ConnectionCap, cors, foreignRequest, refuseUnauthorized } from './guard.js';
import { McpSessions } from './mcp.js';
import { type HttpOptions, httpLimits } from './options.js';
import { sendError, sendJson } from './reply.js';
import { WebView } from './ui.js';

/**
 * A front end mounted on the server: answers a request, or returns false when the path is not its.
 * `shutdown` aborts when the server stops waiting for calls at shutdown: pass it on to runTool.
 */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse, url: URL, shutdown: AbortSignal) => Promise<boolean>;

export interface HttpFrontEnds {
  /** the REST API at the old service's paths (bearer token applies) */
  rest?: HttpHandler;
  /** Slack's events and interactivity; Slack signs its requests, so no bearer token */
  slack?: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
}

export interface RunningServer {
  url: string;
  server: Server;
  mcp: McpSessions;
  /** stop accepting, let calls finish (then cancel them), close sessions; resolves when done */
  close(): Promise<void>;
}

export async function startHttpServer(
  lab: Lab,
  opts: HttpOptions,
  fronts: HttpFrontEnds = {},
  log = (_: string) => {},
): Promise<RunningServer> {
  const mcp = new McpSessions(lab);
  const shutdown = new AbortController();
  const limits = httpLimits(opts);
  // GET /events: the lab's event stream as Server-Sent Events, token as for REST.
  const feeds = new EventFeeds(lab, limits.sse);
  // GET /ui: the web view (ui.ts); its cookie stands for the token on every route (guard.ts).
  const webView = new WebView(lab, opts);
  let closing = false;

  // A refusal that leaves a body unread closes the connection: kept alive, Node would read the
  // rest of the body, however large, to reach the next request.
  const closingIfUnread = (req: IncomingMessage, res: ServerResponse) => {
    if (bodyUnread(req)) {
      res.setHeader('Connection', 'close');
      lingerBeforeClose(res);
    }
    return res;
  };
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/healthz') return health(lab, res, mcp, feeds);
    // Slack signs its requests: the front end checks the headers before it reads a body.
    if (url.pathname === '/slack/events' && fronts.slack) return fronts.slack(req, res);
    const foreign = foreignRequest(req, opts);
    if (foreign) return sendError(closingIfUnread(req, res), 403, 'FORBIDDEN', foreign);
    if (cors(req, res, opts)) return;
    // The web view's page and sign-in hold no lab data; it checks the token (or cookie) for the rest.
    if (await webView.handle(req, res, url)) return;
    // The API's description is public (it holds no lab data); everything else needs the token.
    const isPublic = url.pathname === '/openapi.json' && req.method === 'GET';
    if (!isPublic && !authorized(req, opts)) return refuseUnauthorized(closingIfUnread(req, res));
    if (closing) {
      res.setHeader('Connection', 'close');
      return sendError(res, 503, 'SHUTTING_DOWN', 'the server is shutting down', 'try again when it is back');
    }
    // REST counts the bytes of its bodies itself; MCP's transport does not, so a declared size is
    // checked here for every path.
    if ((declaredLength(req) ?? 0) > MAX_BODY_BYTES) {
      return sendError(closingIfUnread(req, res), 413, 'PAYLOAD_TOO_LARGE', `the request body is larger than ${MAX_BODY_BYTES} bytes`);
    }
    if (url.pathname === '/mcp') return mcp.handle(req, res);
    if (url.pathname === '/events') return feeds.handle(req, res, url);
    if (fronts.rest && (await fronts.rest(req, res, url, shutdown.signal))) return;
    sendError(
      closingIfUnread(req, res),
      404,
      'NOT_FOUND',
      `no such path: ${req.method} ${url.pathname}`,
      'GET /openapi.json lists the REST API; MCP is at /mcp',
    );
  };

  // Answers still being written (an MCP call's SSE response, a REST call); the standalone MCP GET
  // stream stays open for the session's life and is not waited for.
  const answering = new Set<ServerResponse>();
  // Node's request timeouts cover receiving a request (headers, then body), never the answer: a
  // call may run for minutes with nothing written (a standup between progress messages), so there
  // is no idle timeout on a connection being answered (server.timeout stays 0). Between requests,
  // keepAliveTimeout closes it.
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: limits.checkIntervalMs,
    },
    (req, res) => {
      if (req.method !== 'GET') {
        answering.add(res);
        res.once('close', () => answering.delete(res));
      }
      route(req, res).catch((err: unknown) => {
        log(`request ${req.method} ${req.url} failed: ${err instanceof Error ? err.stack : String(err)}`);
        if (!res.headersSent) sendError(res, 500, 'INTERNAL', 'internal error; the server log has the details');
        else res.end();
      });
    },
  );
  server.timeout = 0; // (the default, said here: see above)
  const cap = new ConnectionCap(limits);
  cap.watch(server);
  // Said once a minute at most: under a flood, a line per connection would flood the log too.
  const report = setInterval(() => {
    const { closed, refused } = cap.takeCounts();
    if (closed + refused > 0) {
      log(
        `connection cap (${limits.maxConnections}, ${limits.maxIdlePerAddress} idle per address): closed ${closed} idle, refused ${refused} in the last minute`,
      );
    }
  }, 60_000).unref();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;

  return {
    url: `http://${host}:${addr.port}`,
    server,
    mcp,
    async close() {
      closing = true;
      clearInterval(report);
      feeds.closeAll();
      const stopped = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      // In-flight calls finish on their own first; after the grace time they are cancelled, and
      // a cancelled call rolls back what it made before it returns.
      if (!(await drainCalls(opts.drainMs))) {
        log(`cancelling ${callsInFlight()} call(s) still running after ${opts.drainMs} ms`);
        shutdown.abort(new Error('the server is shutting down'));
        await mcp.closeAll();
        await drainCalls(opts.drainMs);
      }
      // A finished call still has its answer to write: let it reach the client before closing.
      const deadline = Date.now() + 5000;
      while (answering.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await mcp.closeAll();
      server.closeAllConnections();
      await stopped;
    },
  };
}

async function health(lab: Lab, res: ServerResponse, mcp: McpSessions, feeds: EventFeeds): Promise<void> {
  const started = Date.now();
  let docker = 'ok';
  try {
    await withTimeout(lab.engine.system.ping(), 3000, 'the Docker engine');
  } catch {
    docker = 'unreachable';
  }
  sendJson(res, docker === 'ok' ? 200 : 503, {
    status: docker === 'ok' ? 'ok' : 'degraded',
    version: VERSION,
    docker,
    mcp_sessions: mcp.size,
    event_readers: feeds.size,
    calls_in_flight: callsInFlight(),
    checked_in_ms: Date.now() - started,
  });
}
