import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lab } from '../../src/core/lab.js';
import { type HttpLimits, httpOptions } from '../../src/http/options.js';
import { createRestHandler } from '../../src/http/rest.js';
import { type RunningServer, startHttpServer } from '../../src/http/server.js';
import { createSlack, type SlackFrontEnd } from '../../src/slack/app.js';
import { sweep, testEnv, testLab } from '../helpers/docker.js';
import { FakeSlack, signedPost, slashForm } from '../helpers/fake-slack.js';
import { type Served, serve } from '../helpers/serve.js';

/**
 * Clients that send slowly, send nothing, or open too many connections, against `nslab serve`'s
 * HTTP server in-process (bounds shortened through its options, so this runs in seconds) and one
 * spawned `nslab serve` with its real bounds. Raw sockets to 127.0.0.1 only; the cap tests speak
 * from other loopback source addresses (127.0.0.2 and up) to be other clients.
 */
const RUN = `slow-${process.pid}`;
const TOKEN = 'slow-test-token-0123456789abcdef';
const SECRET = 'slow-signing-secret';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let lab: Lab;
const servers: RunningServer[] = [];

async function start(limits: Partial<HttpLimits>, slack?: SlackFrontEnd): Promise<RunningServer> {
  const opts = { ...httpOptions({ NSLAB_HTTP_TOKEN: TOKEN }, { port: 0 }), limits, drainMs: 1000 };
  const s = await startHttpServer(lab, opts, {
    rest: createRestHandler(lab),
    ...(slack ? { slack: (req: IncomingMessage, res: ServerResponse) => slack.handle(req, res) } : {}),
  });
  servers.push(s);
  return s;
}

/** A raw connection: what it received, and when the server closed it (ms after it opened). */
interface Raw {
  socket: Socket;
  text(): string;
  status(): number | undefined;
  open(): boolean;
  closed: Promise<number>;
}
function raw(url: string, localAddress?: string): Promise<Raw> {
  const u = new URL(url);
  const socket = connect({ host: '127.0.0.1', port: Number(u.port), ...(localAddress ? { localAddress } : {}) });
  const opened = Date.now();
  let text = '';
  let isOpen = true;
  socket.on('data', (d: Buffer) => {
    text += d.toString('latin1');
  });
  socket.on('error', () => {}); // a reset is one way of being cut off
  const closed = new Promise<number>((r) =>
    socket.once('close', () => {
      isOpen = false;
      r(Date.now() - opened);
    }),
  );
  return new Promise((resolve, reject) => {
    socket.once('connect', () =>
      resolve({
        socket,
        text: () => text,
        status: () => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]) || undefined,
        open: () => isOpen,
        closed,
      }),
    );
    socket.once('error', reject);
  });
}
const head = (method: string, path: string, headers: Record<string, string | number> = {}) =>
  `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
const auth = { Authorization: `Bearer ${TOKEN}` };
/** An authorised request as a user's client makes it. */
const normal = (s: { url: string }, path = '/networks') =>
  fetch(`${s.url}${path}`, { headers: auth, signal: AbortSignal.timeout(10_000) }).then(async (r) => ({
    status: r.status,
    body: await r.text(),
  }));
/** Let the server see what the sockets did (connection events, destroys). */
const settle = () => sleep(150);

/** lab.networks.list answers after `ms`: a tool call that runs long and writes nothing meanwhile. */
function slowList(ms: number): () => void {
  const networks = lab.networks;
  const list = networks.list.bind(networks);
  networks.list = async (...args: Parameters<typeof list>) => {
    await sleep(ms);
    return list(...args);
  };
  return () => {
    networks.list = list;
  };
}

beforeAll(() => {
  lab = testLab(RUN);
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await sweep(RUN);
});

describe('slow clients, in-process server with short bounds', () => {
  const limits = { headersTimeoutMs: 500, requestTimeoutMs: 1000, keepAliveTimeoutMs: 300, checkIntervalMs: 100 };
  let s: RunningServer;
  beforeAll(async () => {
    s = await start(limits);
  });

  it('(a) a client that sends headers and stalls on the body gets 408 within the request bound; others are answered meanwhile', async () => {
    const stall = await raw(s.url);
    stall.socket.write(`${head('POST', '/networks', { ...auth, 'Content-Type': 'application/json', 'Content-Length': 100 })}{"na`);
    const unauth = await raw(s.url); // the same without a token: refused at once, its body never read
    unauth.socket.write(`${head('POST', '/mcp', { 'Content-Type': 'application/json', 'Content-Length': 100 * 1024 * 1024 })}{"js`);
    const others = await Promise.all([normal(s), normal(s, '/healthz'), normal(s)]);
    expect(others.map((o) => o.status)).toEqual([200, 200, 200]);
    expect(stall.open()).toBe(true);
    const ms = await stall.closed;
    expect(stall.status()).toBe(408);
    expect(ms).toBeGreaterThanOrEqual(limits.requestTimeoutMs - 50);
    expect(ms).toBeLessThan(limits.requestTimeoutMs + limits.checkIntervalMs + 700);
    expect(await unauth.closed).toBeLessThan(500);
    expect(unauth.status()).toBe(401);
    expect(unauth.text()).toMatch(/connection: close/i);
  });

  it('(b) a client that trickles its headers a byte at a time is cut off by the headers bound', async () => {
    const slow = await raw(s.url);
    const request = head('GET', '/networks', { ...auth, 'X-Padding': 'x'.repeat(200) });
    let sent = 0;
    const timer = setInterval(() => {
      if (slow.open() && sent < request.length) slow.socket.write(request[sent++] as string);
    }, 50);
    const ms = await slow.closed;
    clearInterval(timer);
    expect(sent).toBeLessThan(request.length); // cut off long before it could have finished (~15 s)
    expect(slow.status()).toBe(408);
    expect(ms).toBeGreaterThanOrEqual(limits.headersTimeoutMs - 50);
    expect(ms).toBeLessThan(limits.headersTimeoutMs + limits.checkIntervalMs + 700);
  });

  it('(c) an idle keep-alive connection is closed, and so is one that never sends a byte', async () => {
    const idle = await raw(s.url);
    idle.socket.write(head('GET', '/openapi.json'));
    const silent = await raw(s.url);
    await sleep(100);
    expect(idle.status()).toBe(200);
    expect(idle.text()).toMatch(/keep-alive/i);
    const answeredAt = Date.now();
    const [idleMs, silentMs] = await Promise.all([idle.closed, silent.closed]);
    // Node adds up to a second to keepAliveTimeout before it closes.
    expect(Date.now() - answeredAt).toBeLessThan(limits.keepAliveTimeoutMs + 1000 + 700);
    expect(idleMs).toBeGreaterThanOrEqual(limits.keepAliveTimeoutMs);
    expect(silentMs).toBeGreaterThanOrEqual(limits.headersTimeoutMs - 50);
    expect(silentMs).toBeLessThan(limits.headersTimeoutMs + limits.checkIntervalMs + 700);
    expect(silent.status()).toBe(408);
  });

  it('(f) a call that runs far longer than every bound, writing nothing meanwhile, gets its answer over MCP and REST', async () => {
    const restore = slowList(2500);
    const client = new Client({ name: 'slow-clients', version: '1.0.0' });
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(`${s.url}/mcp`), { requestInit: { headers: auth } }));
      const started = Date.now();
      const [viaMcp, viaRest] = await Promise.all([client.callTool({ name: 'network_list', arguments: {} }), normal(s)]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(2500);
      expect(viaMcp.isError).toBeFalsy();
      expect(viaMcp.structuredContent).toEqual({ networks: [] });
      expect(viaRest.status).toBe(200);
      expect(JSON.parse(viaRest.body)).toEqual({ networks: [] });
      restore();
      // The session and its stream outlived the bounds too: a second call on it works.
      const again = await client.callTool({ name: 'network_list', arguments: {} });
      expect(again.isError).toBeFalsy();
    } finally {
      restore();
      await client.close();
    }
  });
});

describe('(d) more connections than the cap', () => {
  // The headers bound is long here: the attack's connections stay until the cap closes them.
  const limits = { headersTimeoutMs: 10_000, requestTimeoutMs: 20_000, checkIntervalMs: 100, maxConnections: 8, maxIdlePerAddress: 3 };
  let s: RunningServer;
  const attack: Raw[] = [];
  beforeAll(async () => {
    s = await start(limits);
  });
  afterAll(() => {
    for (const a of attack) a.socket.destroy();
  });

  it('one address holds at most its share of idle connections: its oldest go, and another client is still served', async () => {
    const first = [];
    for (let i = 0; i < 10; i++) first.push(await raw(s.url, '127.0.0.2'));
    attack.push(...first);
    await settle();
    expect(first.map((r) => r.open())).toEqual([...Array(7).fill(false), true, true, true]);
    expect((await normal(s)).status).toBe(200);
  });

  it('at the cap, connections not being answered are closed for newcomers: an authorised request is answered during the attack', async () => {
    // 4 addresses, 3 silent connections each: 12 more, against a cap of 8
    for (let a = 3; a <= 6; a++) for (let i = 0; i < 3; i++) attack.push(await raw(s.url, `127.0.0.${a}`));
    await settle();
    const alive = () => attack.filter((r) => r.open()).length;
    // (this test's own idle fetch connection may hold one place: the never-answered go first)
    expect(alive()).toBeGreaterThanOrEqual(limits.maxConnections - 1);
    expect(alive()).toBeLessThanOrEqual(limits.maxConnections);
    const started = Date.now();
    const answer = await normal(s);
    expect(answer.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(1000); // not after the headers bound cleared the attack
    await settle();
    expect(alive()).toBeGreaterThanOrEqual(limits.maxConnections - 2); // the attack goes on
    // None of them got an answer: they were closed, not served.
    expect(attack.every((r) => r.text() === '')).toBe(true);
  });

  it('when every connection is being answered a newcomer is refused, and is served once they are done', async () => {
    for (const a of attack) a.socket.destroy();
    await settle();
    const restore = slowList(1500);
    try {
      // Eight clients (one address each), each with a call in flight.
      const busy: Raw[] = [];
      for (let i = 1; i <= limits.maxConnections; i++) {
        const b = await raw(s.url, `127.0.1.${i}`);
        b.socket.write(head('GET', '/networks', { ...auth, Connection: 'close' }));
        busy.push(b);
        await sleep(20);
      }
      await settle();
      const turnedAway = await raw(s.url, '127.0.2.1');
      expect(await turnedAway.closed).toBeLessThan(500);
      expect(turnedAway.text()).toBe('');
      await Promise.all(busy.map((b) => b.closed));
      expect(busy.map((b) => b.status())).toEqual(Array(limits.maxConnections).fill(200));
      expect((await normal(s)).status).toBe(200);
    } finally {
      restore();
    }
  });
});

describe('(e) /slack/events checks the signature headers before it reads a body', () => {
  const BODY_TIMEOUT_MS = 500;
  const HUGE = 100 * 1024 * 1024;
  let s: RunningServer;
  let fake: FakeSlack;
  beforeAll(async () => {
    fake = await new FakeSlack().start();
    const env = { SLACK_SIGNING_SECRET: SECRET, SLACK_BOT_TOKEN: 'xoxb-test', SLACK_API_URL: fake.apiUrl };
    const slack = createSlack(lab, env, { bodyTimeoutMs: BODY_TIMEOUT_MS }) as SlackFrontEnd;
    s = await start({ requestTimeoutMs: 60_000 }, slack);
  });
  afterAll(async () => {
    await fake?.stop();
  });

  const now = () => Math.floor(Date.now() / 1000);
  const shaped = `v0=${'ab'.repeat(32)}`; // a signature's shape, not the right one
  /** Declare `length` bytes, send a few, and see what comes back and when. */
  async function post(headers: Record<string, string | number>, length: number) {
    const r = await raw(s.url);
    r.socket.write(
      `${head('POST', '/slack/events', { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': length, ...headers })}command=%2Flab`,
    );
    const ms = await r.closed;
    return { status: r.status(), ms, text: r.text() };
  }

  it('refuses (401) at once, without waiting for the 100 MB it declares, a request with no signature headers or a stale or odd one', async () => {
    const refused = await Promise.all([
      post({}, HUGE),
      post({ 'X-Slack-Request-Timestamp': now() - 600, 'X-Slack-Signature': shaped }, HUGE),
      post({ 'X-Slack-Request-Timestamp': now() + 600, 'X-Slack-Signature': shaped }, HUGE),
      post({ 'X-Slack-Request-Timestamp': now(), 'X-Slack-Signature': 'v0=deadbeef' }, HUGE),
      post({ 'X-Slack-Request-Timestamp': 'yesterday', 'X-Slack-Signature': shaped }, HUGE),
      post({ 'X-Slack-Signature': shaped }, HUGE),
    ]);
    for (const r of refused) {
      expect(r.status).toBe(401);
      expect(r.ms).toBeLessThan(500);
      expect(r.text).toMatch(/connection: close/i);
    }
  });

  it('refuses (413) a signed-looking request that declares more than Slack ever sends, and (408) one whose body does not come', async () => {
    const big = await post({ 'X-Slack-Request-Timestamp': now(), 'X-Slack-Signature': shaped }, 2 * 1024 * 1024);
    expect(big.status).toBe(413);
    expect(big.ms).toBeLessThan(500);
    const stalled = await post({ 'X-Slack-Request-Timestamp': now(), 'X-Slack-Signature': shaped }, 4000);
    expect(stalled.status).toBe(408);
    expect(stalled.ms).toBeGreaterThanOrEqual(BODY_TIMEOUT_MS - 50);
    expect(stalled.ms).toBeLessThan(BODY_TIMEOUT_MS + 700);
  });

  it("still answers Slack: a signed command, a wrong signature (Bolt's 401) and the unsigned SSL check", async () => {
    const events = `${s.url}/slack/events`;
    const help = await signedPost(events, slashForm('help', 'U1', 'C1', fake.newResponseUrl()), SECRET);
    expect(help.status).toBe(200);
    expect(String(help.json().text)).toContain('network');
    expect((await signedPost(events, slashForm('help', 'U1', 'C1', 'x'), 'another-secret')).status).toBe(401);
    const check = await fetch(events, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'ssl_check=1&token=x',
    });
    expect(check.status).toBe(200);
    const unsigned = await fetch(events, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'command=%2Flab',
    });
    expect(unsigned.status).toBe(401);
  });
});

describe('`nslab serve` as started: its real bounds', () => {
  let served: Served;
  let fake: FakeSlack;
  beforeAll(async () => {
    fake = await new FakeSlack().start();
    const slack = { SLACK_SIGNING_SECRET: SECRET, SLACK_BOT_TOKEN: 'xoxb-test', SLACK_API_URL: fake.apiUrl };
    served = await serve({ ...testEnv(RUN), NSLAB_HTTP_TOKEN: TOKEN, ...slack });
  });
  afterAll(async () => {
    expect(await served?.stop()).toBe(0);
    await fake?.stop();
  });

  it('refuses an oversized body before reading it, and closes a silent connection after its 10 s headers bound', async () => {
    const silent = await raw(served.url);
    const huge = await raw(served.url);
    huge.socket.write(`${head('POST', '/mcp', { ...auth, 'Content-Type': 'application/json', 'Content-Length': 100 * 1024 * 1024 })}{"js`);
    expect(await huge.closed).toBeLessThan(1000);
    expect(huge.status()).toBe(413);
    const slack = await raw(served.url);
    slack.socket.write(`${head('POST', '/slack/events', { 'Content-Length': 100 * 1024 * 1024 })}x`);
    expect(await slack.closed).toBeLessThan(1000);
    expect(slack.status()).toBe(401);
    // Chunked (no length to refuse on): cut at the same 2 MiB by the MCP transport's reader.
    const init = await fetch(`${served.url}/mcp`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
      body: new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode(`{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"${'x'.repeat(3 * 1024 * 1024)}"}}`));
          c.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(init.status).toBe(413);
    expect((await normal(served)).status).toBe(200);
    const ms = await silent.closed;
    expect(silent.status()).toBe(408);
    expect(ms).toBeGreaterThanOrEqual(10_000 - 50);
    expect(ms).toBeLessThan(12_000);
  }, 20_000);
});
