import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type HttpOptions, isLoopback } from './options.js';
import { sendError } from './reply.js';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Bearer token, compared in constant time (hashes of equal length, so the length leaks nothing either). */
export function authorized(req: IncomingMessage, opts: HttpOptions): boolean {
  if (!opts.token) return true;
  const header = req.headers.authorization ?? '';
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return timingSafeEqual(digest(m?.[1] ?? ''), digest(opts.token));
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
    if (url.host.toLowerCase() === host.toLowerCase() && isLoopback(hostName(url.host))) return undefined;
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
