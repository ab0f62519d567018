import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogue } from '../../tools/index.js';
import { root, sweep, testEnv } from '../helpers/docker.js';
import { type Served, serve } from '../helpers/serve.js';

/** `nslab serve` as a remote MCP client sees it: a token, sessions, progress, cancellation. */
const RUN = `http-${process.pid}`;
const TOKEN = 'e2e-token-0123456789abcdef';
const env = { ...testEnv(RUN), NSLAB_HTTP_TOKEN: TOKEN };
let served: Served;

type Result = { isError?: boolean; structuredContent?: Record<string, any>; content: Array<{ type: string; text?: string }> };

async function connect(headers: Record<string, string> = { Authorization: `Bearer ${TOKEN}` }): Promise<Client> {
  const client = new Client({ name: 'nslab-http-e2e', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${served.url}/mcp`), { requestInit: { headers } }));
  return client;
}

const initialize = (headers: Record<string, string>) =>
  fetch(`${served.url}/mcp`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'curl', version: '1' } },
    }),
  });

const labContainers = async (prefix: string) =>
  (await new Docker().listContainers({ all: true, filters: { label: [`netstream-lab.test=${RUN}`] } })).filter((c) =>
    c.Names.some((n) => n.startsWith(`/${prefix}`)),
  );

describe('nslab serve: MCP over Streamable HTTP', () => {
  beforeAll(async () => {
    served = await serve(env);
  });
  afterAll(async () => {
    await served?.stop();
    await sweep(RUN);
  });

  it('serves /openapi.json without a token, and nothing else of the REST API', async () => {
    const doc = await fetch(`${served.url}/openapi.json`);
    expect(doc.status).toBe(200);
    expect(((await doc.json()) as { openapi: string }).openapi).toBe('3.1.0');
    expect((await fetch(`${served.url}/networks`)).status).toBe(401);
  });

  it('answers /healthz without a token, with the engine reachable', async () => {
    const r = await fetch(`${served.url}/healthz`);
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ status: 'ok', docker: 'ok' });
  });

  it('refuses /mcp without the token, with a wrong one, and from a foreign Origin or Host', async () => {
    const none = await initialize({});
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    expect((await initialize({ Authorization: 'Bearer wrong-token-of-some-length' })).status).toBe(401);
    const origin = await initialize({ Authorization: `Bearer ${TOKEN}`, Origin: 'http://evil.example' });
    expect(origin.status).toBe(403);
    expect(await origin.text()).toContain('NSLAB_HTTP_CORS_ORIGINS');
    expect(origin.headers.get('access-control-allow-origin')).toBeNull();
    // fetch will not forge Host; a raw request can (a DNS-rebinding page sends its own name).
    const http = await import('node:http');
    const status = await new Promise<number | undefined>((resolve) => {
      const u = new URL(served.url);
      http
        .request({ host: u.hostname, port: u.port, path: '/mcp', method: 'POST', headers: { Host: 'evil.example:5010' } }, (res) => {
          res.resume();
          resolve(res.statusCode);
        })
        .end('{}');
    });
    expect(status).toBe(403);
  });

  it('lists every tool to a client with the token, and runs one', async () => {
    const client = await connect();
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(catalogue.map((t) => t.name));
    const r = (await client.callTool({ name: 'network_list', arguments: {} })) as Result;
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toEqual({ networks: [] });
    await client.close();
  });

  it('keeps sessions apart and ends one on DELETE', async () => {
    const a = await connect();
    const b = await connect();
    const transportA = a.transport as StreamableHTTPClientTransport;
    expect(transportA.sessionId).toBeDefined();
    expect(transportA.sessionId).not.toBe((b.transport as StreamableHTTPClientTransport).sessionId);
    await transportA.terminateSession();
    const gone = await fetch(`${served.url}/mcp`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${TOKEN}`,
        'Mcp-Session-Id': transportA.sessionId ?? 'x',
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    expect(gone.status).toBe(404);
    expect((await b.listTools()).tools.length).toBe(catalogue.length);
    await b.close();
  });

  it('reports progress of a standup and says bad input in the MCP words', async () => {
    const client = await connect();
    const yaml = [
      'name: httpp',
      'networks: { lan: { subnet: 10.240.1.0/24 } }',
      'nodes:',
      '  h1: { kind: host, interfaces: { lan: auto } }',
      '  h2: { kind: host, interfaces: { lan: auto } }',
    ].join('\n');
    expect(((await client.callTool({ name: 'topology_create', arguments: { yaml } })) as Result).isError).toBeFalsy();
    const messages: string[] = [];
    const r = (await client.callTool({ name: 'topology_standup', arguments: { name: 'httpp' } }, undefined, {
      onprogress: (p) => messages.push(p.message ?? ''),
      timeout: 170_000,
    })) as Result;
    expect(r.isError, r.content[0]?.text).toBeFalsy();
    expect(messages.length).toBeGreaterThanOrEqual(2);
    expect(messages.join('\n')).toMatch(/node httpp-h1 up/);
    expect((await labContainers('httpp-')).length).toBe(2);
    const bad = (await client.callTool({ name: 'host_get', arguments: { name: 'nope-nope' } })) as Result;
    expect(bad.isError).toBe(true);
    expect(bad.content[0]?.text).toContain('host_list');
    await client.callTool({ name: 'topology_teardown', arguments: { name: 'httpp' } }, undefined, { timeout: 170_000 });
    expect(await labContainers('httpp-')).toHaveLength(0);
    await client.close();
  });

  it('cancels a standup when the client cancels, leaving nothing of it behind', async () => {
    const client = await connect();
    const nodes = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((h) => `  ${h}: { kind: host, interfaces: { lan: auto } }`);
    const yaml = ['name: httpc', 'networks: { lan: { subnet: 10.240.2.0/24 } }', 'nodes:', ...nodes].join('\n');
    await client.callTool({ name: 'topology_create', arguments: { yaml } });
    const abort = new AbortController();
    const call = client.callTool({ name: 'topology_standup', arguments: { name: 'httpc', concurrency: 1 } }, undefined, {
      signal: abort.signal,
      onprogress: (p) => {
        if (/node httpc-h\d up/.test(p.message ?? '')) abort.abort();
      },
      timeout: 170_000,
    });
    await expect(call).rejects.toThrow(/abort/i);
    // The server rolls back after the cancellation reaches it: wait for that, then nothing is left.
    const deadline = Date.now() + 60_000;
    while ((await labContainers('httpc-')).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
    expect(await labContainers('httpc-')).toHaveLength(0);
    const status = (await client.callTool({ name: 'topology_status', arguments: { name: 'httpc' } })) as Result;
    expect(JSON.stringify(status.structuredContent)).not.toMatch(/"running"/);
    await client.close();
  });

  it('is listed and called by the MCP Inspector CLI, a client no one on the project wrote', () => {
    const bin = join(root, 'node_modules', '.bin', 'mcp-inspector');
    const base = ['--cli', `${served.url}/mcp`, '--transport', 'http', '--header', `Authorization: Bearer ${TOKEN}`];
    const list = spawnSync(bin, [...base, '--method', 'tools/list'], { encoding: 'utf8', timeout: 60_000 });
    expect(list.status, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as { tools: unknown[] }).tools).toHaveLength(catalogue.length);
    const call = spawnSync(bin, [...base, '--method', 'tools/call', '--tool-name', 'daemon_list'], { encoding: 'utf8', timeout: 60_000 });
    expect(call.status, call.stderr).toBe(0);
    expect(JSON.parse(call.stdout).structuredContent).toEqual({ daemons: [] });
  });
});

describe('nslab serve: shutdown', () => {
  it('on SIGTERM lets a running standup finish, then exits 0', async () => {
    const own = await serve(env);
    const client = new Client({ name: 'nslab-http-e2e', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${own.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } } }),
    );
    const nodes = ['h1', 'h2', 'h3'].map((h) => `  ${h}: { kind: host, interfaces: { lan: auto } }`);
    const yaml = ['name: https', 'networks: { lan: { subnet: 10.240.3.0/24 } }', 'nodes:', ...nodes].join('\n');
    await client.callTool({ name: 'topology_create', arguments: { yaml } });
    let exited: Promise<number | null> | undefined;
    const r = (await client
      .callTool({ name: 'topology_standup', arguments: { name: 'https', concurrency: 1 } }, undefined, {
        onprogress: (p) => {
          if (!exited && /node https-h\d up/.test(p.message ?? '')) exited = own.stop();
        },
        timeout: 60_000,
      })
      .catch((err: Error) => {
        throw new Error(`${err.message}; server log:\n${own.log()}`);
      })) as Result;
    expect(exited).toBeDefined();
    expect(r.isError, r.content[0]?.text).toBeFalsy();
    expect(await exited).toBe(0);
    expect(own.log()).toContain('shutting down');
    expect((await labContainers('https-')).map((c) => c.State)).toEqual(['running', 'running', 'running']);
  });
});

describe('nslab serve: where it may listen', () => {
  it('refuses a public address without a token, naming the way out', () => {
    const r = spawnSync(process.execPath, [join(root, 'dist', 'src', 'cli', 'main.js'), 'serve', '--host', '0.0.0.0', '--port', '0'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...testEnv(`${RUN}-pub`) },
      timeout: 20_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('NSLAB_HTTP_TOKEN');
  });
});
