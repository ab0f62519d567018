import { isIP } from 'node:net';
import { SSE_LIMITS, type SseLimits } from './events.js';

/** Settings of `nslab serve`, from flags over the environment. Throws a plain Error naming the setting. */
export interface HttpOptions {
  host: string;
  port: number;
  /** NSLAB_HTTP_TOKEN: bearer token on /mcp and the REST API */
  token: string | undefined;
  /** NSLAB_HTTP_CORS_ORIGINS: origins a browser page may call from (none: no CORS at all) */
  corsOrigins: string[];
  /** NSLAB_HTTP_ALLOWED_HOSTS: Host header values accepted besides the loopback names */
  allowedHosts: string[];
  /** how long in-flight calls may run on after SIGTERM before they are cancelled */
  drainMs: number;
  /** tests shorten the bounds on slow clients here; `nslab serve` uses HTTP_LIMITS (no env: they are not for tuning) */
  limits?: Partial<Omit<HttpLimits, 'sse'>> & { sse?: Partial<SseLimits> };
}

/**
 * What one client may hold of the server. Node's timeouts cover receiving a request, never the
 * answer: a tool call may run for minutes (a topology standup) whether or not it streams progress.
 */
export interface HttpLimits {
  /** the request line and headers must have arrived within this (a client trickling them is cut off) */
  headersTimeoutMs: number;
  /** the whole request, headers and body, must have arrived within this (408 and the connection closes) */
  requestTimeoutMs: number;
  /** a connection with no request open is closed after this */
  keepAliveTimeoutMs: number;
  /** how often Node checks the two request timeouts: they fire up to this much late */
  checkIntervalMs: number;
  /** connections in all; past it, one not being answered is closed to let the newcomer in */
  maxConnections: number;
  /** connections from one address (an IPv6 /64) that are not being answered: idle, or still sending */
  maxIdlePerAddress: number;
  /** GET /events readers: how many, heartbeats, how far one may fall behind (events.ts) */
  sse: SseLimits;
}

export const HTTP_LIMITS: HttpLimits = {
  // Headers are at most 16 KiB (Node's maxHeaderSize): every real client sends them at once.
  headersTimeoutMs: 10_000,
  // The largest body is a topology file under MAX_BODY_BYTES (2 MiB): 30 s is 70 KB/s for that.
  requestTimeoutMs: 30_000,
  // Node's own default; MCP clients and proxies reconnect when a pooled connection was closed.
  keepAliveTimeoutMs: 5_000,
  // Node's default is 30 s, which would let a 10 s headers bound run to 40 s; the check is a walk
  // over the open connections, cheap at these numbers.
  checkIntervalMs: 1_000,
  // Far above what one lab serves (200 MCP sessions, each a stream and a call or two), far below
  // the process's file descriptors.
  maxConnections: 512,
  // A browser opens 6, an MCP client a few, a reverse proxy pools tens; connections being answered
  // (long calls, MCP streams) do not count, so a proxy's many calls in flight are not limited.
  maxIdlePerAddress: 64,
  // An SSE reader is a connection being answered: 200 of them leave room under maxConnections.
  sse: SSE_LIMITS,
};

export function httpLimits(opts: HttpOptions): HttpLimits {
  return { ...HTTP_LIMITS, ...opts.limits, sse: { ...HTTP_LIMITS.sse, ...opts.limits?.sse } };
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

export function isLoopback(host: string): boolean {
  if (LOOPBACK_NAMES.has(host)) return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

const list = (raw: string | undefined): string[] =>
  (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export function httpOptions(env: NodeJS.ProcessEnv, flags: { host?: string; port?: string | number } = {}): HttpOptions {
  const host = (flags.host ?? env.NSLAB_HTTP_HOST ?? '').trim() || '127.0.0.1';
  const rawPort = String(flags.port ?? env.NSLAB_HTTP_PORT ?? '').trim() || '5010';
  const port = Number(rawPort);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`--port ${rawPort} is not a TCP port (0-65535)`);
  const token = env.NSLAB_HTTP_TOKEN?.trim() || undefined;
  if (token !== undefined && token.length < 16) {
    throw new Error('NSLAB_HTTP_TOKEN is shorter than 16 characters; use a long random one, e.g. `openssl rand -hex 32`');
  }
  if (!token && !isLoopback(host)) {
    throw new Error(
      `refusing to serve on ${host} without a token: anyone who reaches it could run containers. Set NSLAB_HTTP_TOKEN, or bind to 127.0.0.1`,
    );
  }
  const corsOrigins = list(env.NSLAB_HTTP_CORS_ORIGINS);
  for (const o of corsOrigins) {
    if (o === '*') throw new Error('NSLAB_HTTP_CORS_ORIGINS: "*" is not allowed; list the origins, e.g. http://localhost:3000');
    if (!/^https?:\/\/[^/\s]+$/.test(o)) throw new Error(`NSLAB_HTTP_CORS_ORIGINS: '${o}' is not an origin like https://lab.example.org`);
  }
  return { host, port, token, corsOrigins, allowedHosts: list(env.NSLAB_HTTP_ALLOWED_HOSTS), drainMs: 20_000 };
}
