import { isIP } from 'node:net';

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
