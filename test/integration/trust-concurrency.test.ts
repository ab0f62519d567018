import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import Docker from 'dockerode';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLab } from '../../src/core/lab.js';
import { call, root, sweep, TEST_LABEL, testEnv } from '../helpers/docker.js';

/**
 * Two server processes on one store (as an editor's stdio server and a Slack bot would be), each
 * driven by the MCP SDK client: 40 host creates at once, 20 through each, all with automatic
 * addresses on one network. None is lost, no address is given twice, and the store, Docker and
 * both servers agree.
 */
const RUN = `trust-cc-${process.pid}`;
const env = testEnv(RUN);
const docker = new Docker();
const clients: Client[] = [];
const PER_SERVER = 20;

async function server(): Promise<Client> {
  const transport = new StdioClientTransport({
    command: 'node',
    args: [join(root, 'dist', 'src', 'cli', 'main.js'), 'mcp'],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stderr: 'ignore',
  });
  const client = new Client({ name: 'trust-concurrency', version: '1.0.0' });
  await client.connect(transport);
  clients.push(client);
  return client;
}

type ToolResult = { isError?: boolean; structuredContent?: Record<string, unknown>; content: Array<{ text?: string }> };

describe('two server processes, one store', () => {
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await sweep(RUN);
  });

  it('keeps all 40 concurrent creates and never gives one address twice', async () => {
    const [a, b] = await Promise.all([server(), server()]);
    const first = (await (a as Client).callTool({
      name: 'network_create',
      arguments: { name: 'trust-cc-net', subnet: '10.242.50.0/24' },
    })) as ToolResult;
    expect(first.isError, first.content[0]?.text).toBeFalsy();

    const t0 = Date.now();
    const results = (await Promise.all(
      Array.from({ length: 2 * PER_SERVER }, (_, i) =>
        (i % 2 ? (b as Client) : (a as Client)).callTool(
          { name: 'host_create', arguments: { name: `trust-cc-h${i}`, interfaces: [{ network: 'trust-cc-net' }] } },
          undefined,
          { timeout: 300_000 },
        ),
      ),
    )) as ToolResult[];
    const seconds = (Date.now() - t0) / 1000;
    const failed = results.filter((r) => r.isError).map((r) => r.content[0]?.text);
    expect(failed).toEqual([]);
    const given = results.map((r) => (r.structuredContent?.interfaces as Array<{ ip: string }> | undefined)?.[0]?.ip);
    expect(new Set(given).size).toBe(40);

    // The store (read by a third process), Docker and the servers agree.
    const lab = createLab(loadConfig({ ...process.env, ...env }, {}, root));
    const hosts = (await call<{ hosts: Array<{ name: string; state: string; interfaces: Array<{ ip: string }> }> }>(lab, 'host_list', {}))
      .hosts;
    expect(hosts).toHaveLength(40);
    expect(hosts.every((h) => h.state === 'running')).toBe(true);
    const stored = new Map(hosts.map((h) => [h.name, h.interfaces[0]?.ip]));
    expect(new Set(stored.values()).size).toBe(40);
    const net = await call<{ containers: Array<{ name: string; ip: string }> }>(lab, 'network_get', { name: 'trust-cc-net' });
    expect(net.containers).toHaveLength(40);
    const inDocker = await docker.listContainers({ all: true, filters: { label: [`${TEST_LABEL}=${RUN}`] } });
    expect(inDocker).toHaveLength(40);
    for (const c of inDocker) {
      const name = (c.Names[0] ?? '').slice(1);
      expect(c.NetworkSettings.Networks['trust-cc-net']?.IPAddress, name).toBe(stored.get(name));
    }
    const viaB = (await (b as Client).callTool({ name: 'host_list', arguments: {} })) as ToolResult;
    expect(viaB.structuredContent?.hosts).toHaveLength(40);
    console.log(`[concurrency] 40 host_create through 2 MCP servers on one store: ${seconds.toFixed(1)} s, 40 kept, 40 distinct addresses`);
  }, 600_000);
});
