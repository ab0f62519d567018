import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { isIP, type Socket } from 'node:net';
import { type HttpOptions, isLoopback } from './options.js';
import { sendError } from './reply.js';
import { safeMethod, sameOrigin, sessionOf, validSession } from './session.js';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * Bearer token, compared in constant time (hashes of equal length, so the length leaks nothing
 * either), or the web view's session cookie (session.ts), which stands for the token on every
 * route; a cookie-authenticated request that may change something must come from our own page.
 */
export function authorized(req: IncomingMessage, opts: HttpOptions): boolean {
  if (!opts.token) return true;
  const header = req.headers.authorization ?? '';
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (timingSafeEqual(digest(m?.[1] ?? ''), digest(opts.token))) return true;
  return validSession(sessionOf(req), opts.token) && (safeMethod(req.method) || sameOrigin(req));
}

/** The name part of a Host header ("[::1]:5010" -> "[::1]", "lab:80" -> "lab"). */
function hostName(host: string): string {
  return host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : (host.split(':')[0] ?? '');
}

/**
 * DNS-rebinding protection (the MCP transport spec): a page on evil.example whose name resolves to
 * 127.0.0.1 sends Host: evil.example and Origin: http://evil.example. Loopback servers accept only
 * loopback Host names (plus NSLAB_HTTP_ALLOWED_HOSTS); any Origin must be our own or allow-listed.
 */
export function foreignRequest(req: IncomingMessage, opts: HttpOptions): string | undefined {
  const host = req.headers.host ?? '';
  const name = hostName(host).toLowerCase();
  const knownHost = isLoopback(name) || opts.allowedHosts.includes(host) || opts.allowedHosts.includes(name);
  if (isLoopback(opts.host) && !knownHost) return `Host '${host}' is not this server (set NSLAB_HTTP_ALLOWED_HOSTS to allow it)`;
  if (!isLoopback(opts.host) && opts.allowedHosts.length > 0 && !knownHost) return `Host '${host}' is not in NSLAB_HTTP_ALLOWED_HOSTS`;
  const origin = req.headers.origin;
  if (origin === undefined) return undefined;
  if (opts.corsOrigins.includes(origin)) return undefined;
  try {
    const url = new URL(origin);
    // Our own page (the web view at /ui), on a loopback name or one NSLAB_HTTP_ALLOWED_HOSTS lists.
    if (url.host.toLowerCase() === host.toLowerCase() && knownHost) return undefined;
  } catch {
    return `Origin '${origin}' is not a URL`;
  }
  return `Origin '${origin}' may not call this server (set NSLAB_HTTP_CORS_ORIGINS to allow it)`;
}

/** CORS only for allow-listed origins; answers preflights. Returns true when the request is done. */
export function cors(req: IncomingMessage, res: ServerResponse, opts: HttpOptions): boolean {
  const origin = req.headers.origin;
  if (!origin || !opts.corsOrigins.includes(origin)) return false;
  res.setHeader('Access-Control-Allow-Origin', origin);
  res.setHeader('Vary', 'Origin');
  res.setHeader('Access-Control-Expose-Headers', 'Mcp-Session-Id');
  if (req.method !== 'OPTIONS') return false;
  res.setHeader('Access-Control-Allow-Methods', 'GET, POST, DELETE, OPTIONS');
  res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID');
  res.setHeader('Access-Control-Max-Age', '600');
  res.writeHead(204).end();
  return true;
}

export function refuseUnauthorized(res: ServerResponse): void {
  res.setHeader('WWW-Authenticate', 'Bearer realm="netstream-lab"');
  sendError(res, 401, 'UNAUTHORIZED', 'a bearer token is required', 'send the header Authorization: Bearer <NSLAB_HTTP_TOKEN>');
}

/**
 * Slack signs every request but its SSL check (`ssl_check=1`, a form of some 40 bytes): an HMAC of
 * the body, so the signature itself can only be checked once the body is read. What the headers
 * already show is checked first, so that nobody can make the server read a body Slack did not send:
 * X-Slack-Request-Timestamp within SLACK_SKEW_S of now (Slack's own rule against replays) and
 * X-Slack-Signature shaped like one.
 */
export const SLACK_SKEW_S = 300;
/**
 * Slash commands are under 8 KB; an interactive payload (a button click) repeats the message the
 * button sits on, at most 50 blocks of 3,000 characters, which URL-encoded JSON roughly doubles:
 * some 400 KB. 1 MiB holds that with room, and is a quarter of Bolt's default (4 MB).
 */
export const SLACK_MAX_BODY_BYTES = 1024 * 1024;
/** The unsigned SSL check: `ssl_check=1&token=...` */
export const SLACK_UNSIGNED_MAX_BYTES = 256;
/**
 * Slack sends a body at once and stops waiting for an answer after 3 s: a body still arriving
 * after 5 s is no request from Slack.
 */
export const SLACK_BODY_TIMEOUT_MS = 5_000;

export type SlackPrecheck = { ok: true; maxBytes: number } | { ok: false; status: number; message: string };

const one = (v: string | string[] | undefined): string | undefined => (typeof v === 'string' ? v : undefined);

/** What the headers of a POST to /slack/events allow: how large a body to read, or a refusal. */
export function slackPrecheck(req: IncomingMessage, nowMs = Date.now()): SlackPrecheck {
  const ts = one(req.headers['x-slack-request-timestamp']);
  const signature = one(req.headers['x-slack-signature']);
  const length = Number(req.headers['content-length'] ?? Number.NaN);
  if (ts === undefined && signature === undefined) {
    // Only Slack's SSL check comes unsigned: a short form with its length declared. Bolt answers
    // it, and refuses anything else unsigned, once it has those few bytes.
    const form = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() === 'application/x-www-form-urlencoded';
    if (form && Number.isInteger(length) && length >= 0 && length <= SLACK_UNSIGNED_MAX_BYTES) {
      return { ok: true, maxBytes: SLACK_UNSIGNED_MAX_BYTES };
    }
    return { ok: false, status: 401, message: 'not signed by Slack: X-Slack-Signature and X-Slack-Request-Timestamp are missing' };
  }
  if (ts === undefined || !/^\d{1,12}$/.test(ts)) {
    return { ok: false, status: 401, message: 'X-Slack-Request-Timestamp is missing or not a number of seconds' };
  }
  if (Math.abs(nowMs / 1000 - Number(ts)) > SLACK_SKEW_S) {
    return { ok: false, status: 401, message: `X-Slack-Request-Timestamp is more than ${SLACK_SKEW_S} s from now` };
  }
  if (signature === undefined || !/^v0=[0-9a-f]{64}$/i.test(signature)) {
    return { ok: false, status: 401, message: 'X-Slack-Signature is missing or not a v0 signature' };
  }
  if (Number.isFinite(length) && length > SLACK_MAX_BODY_BYTES) {
    return { ok: false, status: 413, message: `the body is larger than ${SLACK_MAX_BODY_BYTES} bytes; Slack sends far less` };
  }
  return { ok: true, maxBytes: SLACK_MAX_BODY_BYTES };
}

interface Connection {
  key: string;
  opened: number;
  /** requests answered on it so far */
  answered: number;
  /** requests whose answers are still being written */
  open: Set<IncomingMessage>;
}

/**
 * One client's share of the connections: an IPv4 address, or an IPv6 /64 (one machine usually
 * has a whole /64 to pick addresses from).
 */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return mapped[1];
  const plain = address.split('%')[0] ?? '';
  if (isIP(plain) !== 6) return address;
  const [head = '', tail] = plain.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

/**
 * Caps the server's connections. Node's server.maxConnections alone turns every newcomer away once
 * the count is reached, so whoever opens that many connections and sends nothing locks everyone
 * out until the headers timeout. Here, at the cap, a connection that is not being answered (no
 * request yet, one still arriving, or idle between requests) is closed to let the newcomer in, the
 * ones that never completed a request first, oldest first; one being answered (a long tool call,
 * an MCP stream) never is. Only when every connection is being answered is the newcomer refused.
 * One address may hold at most maxIdlePerAddress connections not being answered: past that, its own
 * oldest goes, so one client cannot take the whole cap.
 */
export class ConnectionCap {
  readonly #conns = new Map<Socket, Connection>();
  #closed = 0;
  #refused = 0;

  constructor(private readonly limits: { maxConnections: number; maxIdlePerAddress: number }) {}

  watch(server: Server): void {
    // A backstop only: admit() keeps the count at the cap; the margin covers sockets it closed
    // that have not finished closing.
    server.maxConnections = 2 * this.limits.maxConnections;
    server.on('connection', (socket: Socket) => this.#admit(socket));
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const conn = this.#conns.get(req.socket);
      if (!conn) return;
      conn.open.add(req);
      res.once('close', () => {
        conn.open.delete(req);
        conn.answered++;
      });
    });
  }

  get size(): number {
    return this.#conns.size;
  }

  /** Connections closed to make room and newcomers refused since the last call (for the log). */
  takeCounts(): { closed: number; refused: number } {
    const counts = { closed: this.#closed, refused: this.#refused };
    this.#closed = 0;
    this.#refused = 0;
    return counts;
  }

  #admit(socket: Socket): void {
    const key = addressKey(socket.remoteAddress ?? '');
    for (;;) {
      const idle = this.#idle((c) => c.key === key);
      if (idle.length < this.limits.maxIdlePerAddress) break;
      this.#close(idle[0] as Socket);
    }
    if (this.#conns.size >= this.limits.maxConnections) {
      const idle = this.#idle(() => true);
      if (idle[0] === undefined) {
        this.#refused++;
        socket.destroy();
        return;
      }
      this.#close(idle[0]);
    }
    this.#conns.set(socket, { key, opened: Date.now(), answered: 0, open: new Set() });
    socket.once('close', () => this.#conns.delete(socket));
  }

  /** Connections not being answered, in the order they should go. */
  #idle(which: (c: Connection) => boolean): Socket[] {
    const beingAnswered = (c: Connection) => [...c.open].some((req) => req.complete);
    return [...this.#conns]
      .filter(([, c]) => which(c) && !beingAnswered(c))
      .sort(([, a], [, b]) => Number(a.answered > 0) - Number(b.answered > 0) || a.opened - b.opened)
      .map(([s]) => s);
  }

  #close(socket: Socket): void {
    this.#conns.delete(socket);
    this.#closed++;
    socket.destroy();
  }
}
