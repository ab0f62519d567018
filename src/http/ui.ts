/**
 * The web view at /ui (INTERFACES.md section 10): three static files (ui/index.html, app.js,
 * app.css, copied into dist by the build), the sign-in that turns the token into a session cookie
 * (session.ts), and the layout of each topology as data (`GET /ui/layout/{name}`: the same
 * Graphviz drawing as topology_graph). Everything else the page reads through the REST API and
 * GET /events, with the cookie standing for the token (guard.ts).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { checkCall, phraseError } from '../../tools/index.js';
import { asLabError, type LabError } from '../core/errors.js';
import type { Lab } from '../core/lab.js';
import { TopologyName } from '../core/topology/spec.js';
import { HttpRefusal, readBody } from './body.js';
import { authorized, refuseUnauthorized } from './guard.js';
import type { HttpOptions } from './options.js';
import { sendError, sendJson } from './reply.js';
import { clearedCookie, newSession, overHttps, revokeSession, sessionCookie, sessionOf } from './session.js';
import { statusOf } from './status.js';

/** No other origin may frame, script or read the page; it loads only its own two files. */
export const UI_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "object-src 'none'",
].join('; ');

/** The page's files: an exact list, so no path can name anything else. */
const FILES: Record<string, { file: string; type: string }> = {
  '/ui': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/ui/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/ui/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/ui/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

/** Beside this module: src/http/ui in a checkout run from source, dist/src/http/ui once built. */
export const UI_DIR = fileURLToPath(new URL('./ui/', import.meta.url));

/** A form with one token in it. */
const LOGIN_MAX_BYTES = 4096;
/** A wrong token waits this long: guessing is slow (a token has at least 16 characters anyway). */
const LOGIN_FAIL_DELAY_MS = 250;

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Headers of every answer under /ui. */
export function uiHeaders(res: ServerResponse): void {
  res.setHeader('Content-Security-Policy', UI_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
}

const isUiPath = (path: string): boolean => path === '/ui' || path.startsWith('/ui/');

export class WebView {
  readonly #cache = new Map<string, Buffer>();

  constructor(
    private readonly lab: Lab,
    private readonly opts: HttpOptions,
  ) {}

  /** Answers a request under /ui; false for any other path. */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const path = url.pathname;
    if (!isUiPath(path)) return false;
    uiHeaders(res);
    const method = req.method ?? 'GET';
    const file = FILES[path];
    if (file) {
      if (method !== 'GET' && method !== 'HEAD') return this.#notAllowed(res, method, path, 'GET');
      await this.#file(req, res, file.file, file.type);
      return true;
    }
    if (path === '/ui/login') {
      if (method !== 'POST') return this.#notAllowed(res, method, path, 'POST');
      await this.#login(req, res);
      return true;
    }
    if (path === '/ui/logout') {
      if (method !== 'POST') return this.#notAllowed(res, method, path, 'POST');
      req.resume();
      const secure = overHttps(req);
      if (this.opts.token) revokeSession(sessionOf(req), this.opts.token);
      res.setHeader('Set-Cookie', clearedCookie(secure));
      this.#redirect(res, '/ui/');
      return true;
    }
    if (path === '/ui/session') {
      if (method !== 'GET') return this.#notAllowed(res, method, path, 'GET');
      res.setHeader('Cache-Control', 'no-store');
      sendJson(res, 200, { token_required: !!this.opts.token, signed_in: authorized(req, this.opts) });
      return true;
    }
    const layout = /^\/ui\/layout\/([^/]+)$/.exec(path);
    if (layout) {
      if (method !== 'GET') return this.#notAllowed(res, method, path, 'GET');
      if (!authorized(req, this.opts)) {
        refuseUnauthorized(res);
        return true;
      }
      await this.#layout(req, res, layout[1] ?? '');
      return true;
    }
    res.setHeader('Cache-Control', 'no-store');
    sendError(res, 404, 'NOT_FOUND', `no such path: ${method} ${path}`, 'the web view is at /ui');
    return true;
  }

  async #file(req: IncomingMessage, res: ServerResponse, name: string, type: string): Promise<void> {
    let body = this.#cache.get(name);
    if (!body) {
      body = await readFile(`${UI_DIR}${name}`);
      this.#cache.set(name, body);
    }
    res.writeHead(200, {
      'Content-Type': type,
      'Content-Length': body.length,
      // The page asks the server who is signed in; its files change with the version only.
      'Cache-Control': 'no-cache',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  async #login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const token = this.opts.token;
    let body: Buffer;
    try {
      body = await readBody(req, { maxBytes: LOGIN_MAX_BYTES, timeoutMs: 10_000 });
    } catch (err) {
      if (!(err instanceof HttpRefusal)) throw err;
      res.setHeader('Connection', 'close');
      return sendError(res, err.status, err.code, err.message);
    }
    res.setHeader('Cache-Control', 'no-store');
    // No token: everyone is signed in already (a loopback server).
    if (!token) return this.#redirect(res, '/ui/');
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    const given = type === 'application/x-www-form-urlencoded' ? (new URLSearchParams(body.toString('utf8')).get('token') ?? '') : '';
    if (!timingSafeEqual(digest(given.trim()), digest(token))) {
      await new Promise((r) => setTimeout(r, LOGIN_FAIL_DELAY_MS));
      return this.#redirect(res, '/ui/?login=failed');
    }
    res.setHeader('Set-Cookie', sessionCookie(newSession(token), overHttps(req)));
    this.#redirect(res, '/ui/');
  }

  async #layout(req: IncomingMessage, res: ServerResponse, raw: string): Promise<void> {
    res.setHeader('Cache-Control', 'no-store');
    let name: string;
    try {
      name = decodeURIComponent(raw);
    } catch {
      return sendError(res, 400, 'INVALID_INPUT', 'the topology name is not URL-encoded text');
    }
    if (!TopologyName.safeParse(name).success) return sendError(res, 400, 'INVALID_INPUT', 'that is not a topology name');
    // What topology_graph may do here, the layout may: the same policy (toolset on, input valid).
    const ctx = { caller: { front_end: 'rest', id: req.socket.remoteAddress ?? 'unknown' } };
    const allowed = await checkCall(this.lab, 'topology_graph', { name, format: 'svg' }, ctx);
    if (!allowed.ok) return this.#labError(res, allowed.error);
    try {
      sendJson(res, 200, await this.lab.topologies.layout(name));
    } catch (err) {
      this.#labError(res, asLabError(err));
    }
  }

  #labError(res: ServerResponse, error: LabError): void {
    sendJson(res, statusOf(error.code), { error: phraseError(error, 'rest').toJSON() });
  }

  #redirect(res: ServerResponse, to: string): void {
    res.writeHead(303, { Location: to, 'Content-Length': 0 });
    res.end();
  }

  #notAllowed(res: ServerResponse, method: string, path: string, allow: string): true {
    res.setHeader('Allow', allow);
    sendError(res, 405, 'METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}`, `use ${allow}`);
    return true;
  }
}
