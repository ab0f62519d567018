import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceListChangedNotificationSchema, ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root, sweep, testEnv } from '../helpers/docker.js';
import { type Served, serve } from '../helpers/serve.js';
import { sse } from '../helpers/sse.js';

/**
 * The lab event stream end to end: a spawned `nslab serve` with two FRR routers and one session;
 * a `docker kill` of one is heard by an SSE reader, a subscribed MCP client over Streamable HTTP
 * and `nslab watch --json`; the SSE reader resumes with Last-Event-ID; event_list filters.
 */
const RUN = `evt-${process.pid}`;
const TOKEN = 'events-token-0123456789abcdef';
const env = { ...testEnv(RUN), NSLAB_HTTP_TOKEN: TOKEN, NSLAB_WATCH_INTERVAL_S: '1' };
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const docker = promisify(execFile);
const YAML = [
  'name: evt',
  'networks: { core: { subnet: 10.170.1.0/24 } }',
  'nodes:',
  '  r1: { kind: frr, asn: 65101, interfaces: { core: auto } }',
  '  r2: { kind: frr, asn: 65102, interfaces: { core: auto } }',
  'bgp: { sessions: [ { a: r1, b: r2, hold_s: 3, keepalive_s: 1 } ] }',
].join('\n');

let served: Served;
const rest = async (method: string, path: string, body?: unknown) => {
  const r = await fetch(`${served.url}${path}`, {
    method,
    headers: { ...AUTH, 'Content-Type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const json = (await r.json()) as Record<string, any>;
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(json)}`);
  return json;
};
const list = (q: string) => rest('GET', `/events/list?${q}`) as Promise<{ events: Array<Record<string, any>>; last_seq: number }>;

async function mcpClient() {
  const client = new Client({ name: 'nslab-events-test', version: '1.0.0' });
  const updates: Array<{ uri: string; at: number }> = [];
  let listChanged = 0;
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push({ uri: n.params.uri, at: Date.now() }));
  client.setNotificationHandler(ResourceListChangedNotificationSchema, () => void listChanged++);
  await client.connect(new StreamableHTTPClientTransport(new URL(`${served.url}/mcp`), { requestInit: { headers: AUTH } }));
  return { client, updates, listChanged: () => listChanged };
}

function watchJson(): { child: ChildProcess; lines: Array<{ e: Record<string, any>; at: number }>; stderr: () => string } {
  const child = spawn(process.execPath, [join(root, 'dist', 'src', 'cli', 'main.js'), 'watch', 'evt', '--json'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<{ e: Record<string, any>; at: number }> = [];
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    for (let i = out.indexOf('\n'); i >= 0; i = out.indexOf('\n')) {
      lines.push({ e: JSON.parse(out.slice(0, i)), at: Date.now() });
      out = out.slice(i + 1);
    }
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return { child, lines, stderr: () => err };
}

const until = async <T>(what: string, f: () => T | undefined, ms: number): Promise<T> => {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

describe('the lab event stream on nslab serve', () => {
  beforeAll(async () => {
    served = await serve(env);
    await rest('POST', '/topologies', { yaml: YAML });
    const up = await rest('POST', '/topology/standup', { name: 'evt', wait_established_s: 90 });
    expect(up.established?.all, JSON.stringify(up.established)).toBe(true);
  });
  afterAll(async () => {
    await served?.stop();
    await sweep(RUN);
  });

  it('is refused without the token, and a bad Last-Event-ID is a 400', async () => {
    expect((await fetch(`${served.url}/events`)).status).toBe(401);
    const bad = await fetch(`${served.url}/events`, { headers: { ...AUTH, 'Last-Event-ID': 'yesterday' } });
    expect(bad.status).toBe(400);
  });

  it('tells an SSE reader, a subscribed MCP client and nslab watch of a docker kill within seconds; the reader resumes with Last-Event-ID', async () => {
    const reader = await sse(served.url, '/events', AUTH);
    expect(reader.status).toBe(200);
    const mcp = await mcpClient();
    await mcp.client.subscribeResource({ uri: 'nslab://topology/evt/status' });
    const watch = watchJson();
    try {
      // Let the first poll take its silent baseline, and the watch process open Docker's stream.
      await new Promise((r) => setTimeout(r, 4000));
      const killedAt = Date.now();
      await docker('docker', ['kill', 'evt-r2']);
      const died = await reader.waitFor('node_died', (r) => r.events().find((e) => e.type === 'node_died' && e.node === 'evt-r2'), 10_000);
      const down = await reader.waitFor('session_down', (r) => r.events().find((e) => e.type === 'session_down'), 10_000);
      expect(died).toMatchObject({ topology: 'evt', detail: { role: 'daemon', by: 'outside' } });
      expect(down.detail).toMatchObject({ from: 'Established' });
      const updated = await until('resources/updated', () => mcp.updates.find((u) => u.uri === 'nslab://topology/evt/status'), 10_000);
      const watched = await until(
        'nslab watch line',
        () => watch.lines.find((l) => l.e.type === 'node_died' && l.e.node === 'evt-r2'),
        10_000,
      );
      expect(watched.e).toMatchObject({ topology: 'evt', type: 'node_died' });
      // r1's own view: its hold timer (3 s) runs out.
      const r1down = await reader.waitFor(
        'r1 session_down',
        (r) => r.events().find((e) => e.type === 'session_down' && e.node === 'evt-r1'),
        15_000,
      );
      console.log(
        `docker kill -> SSE node_died ${died.at - killedAt} ms, SSE session_down ${down.at - killedAt} ms (r1's view ${r1down.at - killedAt} ms), MCP resources/updated ${updated.at - killedAt} ms, nslab watch ${watched.at - killedAt} ms`,
      );
      for (const ms of [died.at, down.at, updated.at, watched.at]) expect(ms - killedAt).toBeLessThan(5000);

      // Disconnect, let things happen, come back with Last-Event-ID.
      const seen = reader.events().map((e) => e.seq);
      const last = Math.max(...seen);
      reader.close();
      await docker('docker', ['start', 'evt-r2']);
      const deadline = Date.now() + 60_000;
      let missed: Array<Record<string, any>> = [];
      while (Date.now() < deadline) {
        missed = (await list(`since_seq=${last}&limit=1000`)).events;
        if (missed.filter((e) => e.type === 'session_up').length >= 2) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(missed.map((e) => e.type)).toEqual(expect.arrayContaining(['node_started', 'session_up']));
      const again = await sse(served.url, '/events', { ...AUTH, 'Last-Event-ID': String(last) });
      await again.waitFor('the missed events', (r) => (r.events().length >= missed.length ? true : undefined), 10_000);
      const resumed = again.events().map((e) => e.seq);
      expect(resumed.slice(0, missed.length)).toEqual(missed.map((e) => e.seq));
      expect(new Set([...seen, ...resumed]).size).toBe(seen.length + resumed.length);
      again.close();
      // ?since= does the same for a first connection.
      const fromStart = await sse(served.url, '/events?since=0&types=node_died', AUTH);
      await fromStart.waitFor('replay', (r) => (r.events().length > 0 ? true : undefined), 5000);
      expect(fromStart.events().every((e) => e.type === 'node_died')).toBe(true);
      fromStart.close();
    } finally {
      reader.close();
      watch.child.kill('SIGINT');
      await mcp.client.close();
    }
    const code = await new Promise((r) => (watch.child.exitCode !== null ? r(watch.child.exitCode) : watch.child.once('exit', r)));
    expect(code, watch.stderr()).toBe(0);
  });

  it('adds verify results and faults from tool calls, and event_list filters by type and topology', async () => {
    await rest('POST', '/topologies/evt/verify', { wait_s: 60 });
    const f = await rest('POST', '/faults', { kind: 'node_pause', node: 'r1', topology: 'evt' });
    await rest('POST', '/faults/clear', { id: f.id });
    const all = await list('topology=evt&limit=1000');
    const types = all.events.map((e) => e.type);
    expect(types).toEqual(
      expect.arrayContaining(['standup_done', 'node_died', 'session_down', 'verify_passed', 'fault_injected', 'fault_cleared']),
    );
    const only = await list('types=node_died&types=fault_injected&topology=evt');
    expect(only.events.length).toBeGreaterThanOrEqual(2);
    expect(new Set(only.events.map((e) => e.type))).toEqual(new Set(['node_died', 'fault_injected']));
    expect((await list('topology=nothing-here')).events).toEqual([]);
    const since = await list(`since_seq=${all.last_seq - 1}`);
    expect(since.events.map((e) => e.seq)).toEqual([all.last_seq]);
    const bad = await fetch(`${served.url}/events/list?types=nope`, { headers: AUTH });
    expect(bad.status).toBe(400);
  });

  it('offers nslab://events and daemon status resources, and says list_changed when a topology comes', async () => {
    const mcp = await mcpClient();
    try {
      const { resources } = await mcp.client.listResources();
      expect(resources.map((r) => r.uri)).toEqual(expect.arrayContaining(['nslab://events', 'nslab://daemon/evt-r1/status']));
      const recent = JSON.parse(((await mcp.client.readResource({ uri: 'nslab://events' })).contents[0] as { text: string }).text);
      expect(recent.events.length).toBeGreaterThan(0);
      await mcp.client.subscribeResource({ uri: 'nslab://daemon/evt-r1/status' });
      await new Promise((r) => setTimeout(r, 500));
      await rest('POST', '/topologies', {
        yaml: 'name: evt2\nnetworks: { lan: { subnet: 10.170.9.0/24 } }\nnodes:\n  h1: { kind: host, interfaces: { lan: auto } }',
      });
      await until('list_changed', () => mcp.listChanged() > 0, 10_000);
      await mcp.client.unsubscribeResource({ uri: 'nslab://daemon/evt-r1/status' });
    } finally {
      await mcp.client.close();
    }
  });

  it('keeps its recent history across a restart, numbering on', async () => {
    const before = await list('limit=1000');
    await served.stop();
    served = await serve(env);
    const after = await list('limit=1000');
    expect(after.events.map((e) => e.seq)).toEqual(before.events.map((e) => e.seq));
    const reader = await sse(served.url, '/events', AUTH);
    await docker('docker', ['restart', '-t', '0', 'evt-r1']);
    const e = await reader.waitFor('node_died after restart', (r) => r.events().find((x) => x.type === 'node_died'), 10_000);
    expect(e.seq).toBeGreaterThan(before.last_seq);
    reader.close();
  });
});
