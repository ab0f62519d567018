import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLab, type Lab } from '../../src/core/lab.js';
import { emptyState } from '../../src/core/store/schema.js';
import { toLayout } from '../../src/core/topology/graph.js';
import { resolveTopology } from '../../src/core/topology/resolve.js';
import { parseTopology } from '../../src/core/topology/spec.js';
import { httpOptions } from '../../src/http/options.js';
import { createRestHandler } from '../../src/http/rest.js';
import { type RunningServer, startHttpServer } from '../../src/http/server.js';
import { newSession, SESSION_COOKIE, SESSION_TTL_S, validSession } from '../../src/http/session.js';
import { UI_CSP, UI_DIR } from '../../src/http/ui.js';

/**
 * The web view at /ui without Docker: its files and headers, sign-in with the token and the session
 * cookie that stands for it (on REST, /events and the layout), CSRF, logout, and paths that try to
 * leave the page's folder. The browser test (test/e2e/web-ui.test.ts) draws a real lab.
 */
const TOKEN = 'web-ui-token-0123456789abcdef';
const OTHER = 'another-token-0123456789abcdef';

let lab: Lab;
let server: RunningServer;
let open: RunningServer;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request with the path sent exactly as given (fetch would normalise `..` away). */
function raw(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method, path, headers: { Host: u.host, ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        text += d;
        // An event stream never ends: its first bytes are enough.
        if (String(res.headers['content-type']).startsWith('text/event-stream')) res.destroy();
      });
      const done = () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text });
      res.on('end', done);
      res.on('close', done);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const form = (token: string) => ({ 'Content-Type': 'application/x-www-form-urlencoded', body: `token=${encodeURIComponent(token)}` });

async function login(base: string, token = TOKEN, headers: Record<string, string> = {}): Promise<Answer> {
  const { body, ...h } = form(token);
  return raw(base, 'POST', '/ui/login', { ...h, ...headers }, body);
}

const cookieOf = (a: Answer): string | undefined => {
  const set = a.headers['set-cookie'];
  const line = Array.isArray(set) ? set[0] : set;
  return line ? /^nslab_session=([^;]*)/.exec(line)?.[1] : undefined;
};

async function signedIn(): Promise<string> {
  const c = cookieOf(await login(server.url));
  if (!c) throw new Error('no cookie');
  return c;
}

const withCookie = (value: string, more: Record<string, string> = {}) => ({ Cookie: `${SESSION_COOKIE}=${value}`, ...more });

beforeAll(async () => {
  lab = createLab(loadConfig({ NSLAB_DATA_DIR: mkdtempSync(join(tmpdir(), 'nslab-web-ui-')), DOCKER_HOST: 'unix:///nonexistent.sock' }));
  server = await startHttpServer(
    lab,
    { ...httpOptions({ NSLAB_HTTP_TOKEN: TOKEN }, { port: 0 }), drainMs: 500 },
    { rest: createRestHandler(lab) },
  );
  open = await startHttpServer(lab, { ...httpOptions({}, { port: 0 }), drainMs: 500 }, { rest: createRestHandler(lab) });
});

afterAll(async () => {
  await server?.close();
  await open?.close();
});

describe('the web view: files and headers', () => {
  it('serves the page, its script and its style with a strict CSP and no inline script or style', async () => {
    for (const [path, type] of [
      ['/ui', 'text/html'],
      ['/ui/', 'text/html'],
      ['/ui/app.js', 'text/javascript'],
      ['/ui/app.css', 'text/css'],
    ] as const) {
      const a = await raw(server.url, 'GET', path);
      expect(a.status, path).toBe(200);
      expect(String(a.headers['content-type'])).toContain(type);
      expect(a.headers['content-security-policy']).toBe(UI_CSP);
      expect(a.headers['x-content-type-options']).toBe('nosniff');
      expect(a.headers['referrer-policy']).toBe('no-referrer');
      expect(a.headers['x-frame-options']).toBe('DENY');
    }
    for (const part of [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data:",
      "connect-src 'self'",
      "frame-ancestors 'none'",
    ]) {
      expect(UI_CSP).toContain(part);
    }
    expect(UI_CSP).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    const html = (await raw(server.url, 'GET', '/ui/')).body;
    // Every script is a file of our own; no <style>, no style= or on...= attributes.
    for (const tag of html.match(/<script[^>]*>/g) ?? []) expect(tag).toMatch(/src="\/ui\/app\.js"/);
    expect(html).not.toMatch(/<script[^>]*>[^<\s]/);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    expect(html).not.toMatch(/https?:\/\//);
    // The script never writes HTML from text.
    const js = readFileSync(join(UI_DIR, 'app.js'), 'utf8');
    expect(js).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
  });

  it('keeps the script within its budget (200 KB)', () => {
    const size = statSync(join(UI_DIR, 'app.js')).size;
    expect(size).toBeLessThan(200 * 1024);
  });

  it('answers nothing outside its three files, however the path is written', async () => {
    const tries = [
      '/ui/../../etc/passwd',
      '/ui/%2e%2e/%2e%2e/etc/passwd',
      '/ui/%2E%2E/%2E%2E/etc/passwd',
      '/ui/..%2f..%2fetc%2fpasswd',
      '/ui/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
      '/ui/..%252f..%252fetc%252fpasswd',
      '/ui/..\\..\\etc\\passwd',
      '/ui//etc/passwd',
      '/ui/app.js/../../../../etc/passwd',
      '/ui/app.js%00.html',
      '/ui/index.html',
      '/ui/ui.ts',
      '/ui/../ui.ts',
      '/ui/%2e%2e/ui.ts',
      '/ui/.%2e/session.ts',
    ];
    for (const path of tries) {
      const a = await raw(server.url, 'GET', path);
      expect([401, 404], `${path}: ${a.status} ${a.body.slice(0, 80)}`).toContain(a.status);
      expect(a.body).not.toMatch(/root:|import |createHmac/);
    }
  });

  it('refuses other methods on the files', async () => {
    const a = await raw(server.url, 'POST', '/ui/app.js', { Origin: server.url });
    expect(a.status).toBe(405);
    expect(a.headers.allow).toBe('GET');
  });
});

describe('the web view: sign-in with the token, then a cookie', () => {
  it('refuses a wrong token: no cookie, back to the form', async () => {
    for (const t of [OTHER, '', `${TOKEN}x`, TOKEN.slice(0, -1)]) {
      const a = await login(server.url, t);
      expect(a.status).toBe(303);
      expect(a.headers.location).toBe('/ui/?login=failed');
      expect(a.headers['set-cookie']).toBeUndefined();
    }
    const json = await raw(server.url, 'POST', '/ui/login', { 'Content-Type': 'application/json' }, JSON.stringify({ token: TOKEN }));
    expect(json.headers['set-cookie']).toBeUndefined();
  });

  it('sets an HttpOnly, SameSite=Strict, Path=/ cookie that is not the token; Secure over https', async () => {
    const a = await login(server.url);
    expect(a.status).toBe(303);
    expect(a.headers.location).toBe('/ui/');
    const line = String(a.headers['set-cookie']);
    expect(line).toMatch(/^nslab_session=[^;]+; /);
    expect(line).toContain('; HttpOnly');
    expect(line).toContain('; SameSite=Strict');
    expect(line).toContain('; Path=/');
    expect(line).toContain(`; Max-Age=${SESSION_TTL_S}`);
    expect(line).not.toContain('Secure');
    expect(line).not.toContain(TOKEN);
    expect(line).not.toContain(encodeURIComponent(TOKEN));
    expect(line).not.toContain(Buffer.from(TOKEN).toString('base64'));
    const https = await login(server.url, TOKEN, { 'X-Forwarded-Proto': 'https' });
    expect(String(https.headers['set-cookie'])).toContain('; Secure');
    // Two sign-ins, two sessions.
    expect(cookieOf(https)).not.toBe(cookieOf(a));
  });

  it('accepts the cookie like the bearer token: REST, the layout, the event stream', async () => {
    const c = await signedIn();
    const session = await raw(server.url, 'GET', '/ui/session', withCookie(c));
    expect(JSON.parse(session.body)).toEqual({ token_required: true, signed_in: true });
    expect((await raw(server.url, 'GET', '/topologies', withCookie(c))).status).toBe(200);
    expect((await raw(server.url, 'GET', '/topologies')).status).toBe(401);
    const layout = await raw(server.url, 'GET', '/ui/layout/nope', withCookie(c));
    expect(layout.status).toBe(404);
    expect(JSON.parse(layout.body).error.code).toBe('NOT_FOUND');
    expect((await raw(server.url, 'GET', '/ui/layout/nope')).status).toBe(401);
    const events = await raw(server.url, 'GET', '/events', withCookie(c));
    expect(events.status).toBe(200);
    expect(String(events.headers['content-type'])).toContain('text/event-stream');
    expect((await raw(server.url, 'GET', '/events')).status).toBe(401);
  });

  it('refuses a tampered, foreign, expired or malformed cookie', async () => {
    const c = await signedIn();
    const [v, exp, nonce, mac] = c.split('.') as [string, string, string, string];
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    const bad = [
      `${v}.${exp}.${nonce}.${flip(mac, 5)}`,
      `${v}.${Number(exp) + 3600}.${nonce}.${mac}`,
      `${v}.${exp}.${flip(nonce, 3)}.${mac}`,
      `v2.${exp}.${nonce}.${mac}`,
      `${v}.${exp}.${nonce}.${mac}x`,
      `${v}.${exp}.${nonce}`,
      newSession(OTHER),
      newSession(TOKEN, Date.now() - (SESSION_TTL_S + 60) * 1000),
      TOKEN,
      '',
      'x'.repeat(5000),
    ];
    for (const b of bad) {
      expect((await raw(server.url, 'GET', '/topologies', withCookie(b))).status, b.slice(0, 60)).toBe(401);
      expect((await raw(server.url, 'GET', '/events', withCookie(b))).status).toBe(401);
    }
    expect(validSession(c, TOKEN)).toBe(true);
    expect(validSession(c, OTHER)).toBe(false);
  });

  it('lets a cookie change something only from our own page (Origin), never from another', async () => {
    const c = await signedIn();
    const post = (headers: Record<string, string>) =>
      raw(server.url, 'POST', '/topologies/nope/verify', { 'Content-Type': 'application/json', ...withCookie(c), ...headers }, '{}');
    // No Origin: a cookie alone does not authorise a change.
    expect((await post({})).status).toBe(401);
    expect((await post({ Origin: 'http://evil.example' })).status).toBe(403);
    expect((await post({ Origin: 'null' })).status).toBe(403);
    const own = await post({ Origin: server.url });
    expect([401, 403]).not.toContain(own.status);
    // The bearer token needs no Origin, as before.
    const bearer = await raw(
      server.url,
      'POST',
      '/topologies/nope/verify',
      { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` },
      '{}',
    );
    expect([401, 403]).not.toContain(bearer.status);
  });

  it('logs out: the cookie is cleared and refused from then on', async () => {
    const c = await signedIn();
    const out = await raw(server.url, 'POST', '/ui/logout', { ...withCookie(c), Origin: server.url });
    expect(out.status).toBe(303);
    expect(out.headers.location).toBe('/ui/');
    const line = String(out.headers['set-cookie']);
    expect(line).toMatch(/^nslab_session=; /);
    expect(line).toContain('Max-Age=0');
    expect(line).toContain('HttpOnly');
    expect((await raw(server.url, 'GET', '/topologies', withCookie(c))).status).toBe(401);
    expect(JSON.parse((await raw(server.url, 'GET', '/ui/session', withCookie(c))).body).signed_in).toBe(false);
    // Another browser's session is untouched.
    const other = await signedIn();
    expect((await raw(server.url, 'GET', '/topologies', withCookie(other))).status).toBe(200);
  });

  it('needs no sign-in on a loopback server without a token', async () => {
    expect(JSON.parse((await raw(open.url, 'GET', '/ui/session')).body)).toEqual({ token_required: false, signed_in: true });
    const a = await login(open.url, 'anything-at-all-really');
    expect(a.status).toBe(303);
    expect(a.headers['set-cookie']).toBeUndefined();
  });
});

describe('the layout behind the web view (graph.ts toLayout)', () => {
  const yaml = [
    'name: lay',
    'networks: { core: { subnet: 10.175.9.0/24 } }',
    'nodes:',
    '  r1: { kind: frr, asn: 65101, interfaces: { core: auto } }',
    '  r-1: { kind: gobgp, asn: 65102, interfaces: { core: auto } }',
    '  r_1: { kind: frr, asn: 65103, interfaces: { core: auto } }',
    '  h1: { kind: host, interfaces: { core: auto } }',
    'bgp: { sessions: [ [r1, r-1], [r1, r_1] ] }',
  ].join('\n');
  const desired = () => resolveTopology(parseTopology({ yaml }), emptyState());

  it('places every network, node and edge inside the drawing, with the names and addresses events use', async () => {
    const l = await toLayout(desired());
    expect(l.live).toBe(false);
    expect(l.nodes.map((n) => n.name).sort()).toEqual(['lay-h1', 'lay-r-1', 'lay-r1', 'lay-r_1']);
    expect(l.networks.map((n) => n.name)).toEqual(['lay-core']);
    for (const b of [...l.nodes, ...l.networks]) {
      expect(b.x).toBeGreaterThan(0);
      expect(b.x).toBeLessThan(l.width);
      expect(b.y).toBeGreaterThan(0);
      expect(b.y).toBeLessThan(l.height);
      expect(b.w).toBeGreaterThan(0);
    }
    expect(l.nodes.find((n) => n.name === 'lay-r1')?.text.map((t) => t.text)).toEqual(['r1', 'frr AS65101']);
    expect(l.edges.filter((e) => e.kind === 'link')).toHaveLength(4);
    const sessions = l.edges.filter((e) => e.kind === 'session');
    expect(sessions.map((e) => `${e.a}|${e.b}`)).toEqual(['lay-r1|lay-r-1', 'lay-r1|lay-r_1']);
    for (const e of l.edges) expect(e.path).toMatch(/^M[\d.]+,[\d.]+ C/);
    expect(sessions[0]).toMatchObject({
      a_ip: expect.stringMatching(/^10\.175\.9\./),
      b_ip: expect.stringMatching(/^10\.175\.9\./),
      state: 'unknown',
    });
  });

  it('says the live state of nodes and sessions', async () => {
    const d = desired();
    const [s1, s2] = d.sessions;
    const l = await toLayout(d, {
      sessions: [
        { a: s1!.a, b: s1!.b, via: s1!.via, a_state: 'Established', b_state: 'Established' },
        { a: s2!.a, b: s2!.b, via: s2!.via, a_state: 'Established', b_state: 'Active' },
      ],
      tunnels: [],
      nodes: [{ name: 'lay-r1', state: 'running' }],
    });
    expect(l.live).toBe(true);
    expect(l.edges.filter((e) => e.kind === 'session').map((e) => e.state)).toEqual(['up', 'down']);
    expect(l.nodes.find((n) => n.name === 'lay-r1')?.state).toBe('running');
    expect(l.nodes.find((n) => n.name === 'lay-h1')?.state).toBe('missing');
  });
});
