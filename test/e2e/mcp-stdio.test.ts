import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root, sweep, waitFor } from '../helpers/docker.js';
import { CheckedTools, manifest, type Result, spawnServer } from './mcp-client.js';

/** An MCP host's view: the server spawned exactly as manifest.json says, with a bare environment. */
const RUN = `mcp-${process.pid}`;

let client: Client;
/** every successful result below is validated against the tool's listed output schema */
let tools: CheckedTools;
const callTool = (name: string, args: Record<string, unknown>) => tools.call(name, args);
const ok = (name: string, args: Record<string, unknown>) => tools.ok(name, args);

describe('MCP over stdio, spawned from manifest.json', () => {
  beforeAll(async () => {
    client = (await spawnServer(RUN)).client;
    tools = new CheckedTools(client);
  });

  afterAll(async () => {
    await client?.close();
    await sweep(RUN);
    // the schema check really ran on the results of this file
    expect(tools.checked).toBeGreaterThan(20);
  });

  it('lists every tool with a strict input schema, an output schema and all four annotations', async () => {
    const listed = (await client.listTools()).tools;
    const names = listed.map((t) => t.name);
    expect(names).toEqual(manifest.tools.map((t: { name: string }) => t.name));
    for (const t of listed) {
      expect(t.inputSchema.additionalProperties, t.name).toBe(false);
      expect(t.outputSchema?.type, t.name).toBe('object');
      expect(Object.keys(t.annotations ?? {}).sort(), t.name).toEqual(
        ['destructiveHint', 'idempotentHint', 'openWorldHint', 'readOnlyHint', 'title'].sort(),
      );
    }
    const create = listed.find((t) => t.name === 'daemon_create');
    expect(create?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false, openWorldHint: false });
    expect(create?.inputSchema.required).toEqual(expect.arrayContaining(['name', 'kind', 'asn', 'interfaces']));
  });

  it('returns bad input as an isError result a person can act on', async () => {
    const r = await callTool('network_create', { name: 'e2e-core', subnet: '10.252.0.0/24', internet: true });
    expect(r.isError).toBe(true);
    expect(r.content[0]?.text).toContain('internet: unknown field');
  });

  it('runs the three-daemon scenario to Established', async () => {
    await ok('network_create', { name: 'e2e-core', subnet: '10.252.0.0/24' });
    const t0 = Date.now();
    const r1 = await ok('daemon_create', {
      name: 'e2e-r1',
      kind: 'frr',
      asn: 65101,
      interfaces: [{ network: 'e2e-core', ip: '10.252.0.11' }],
      neighbors: [
        { address: '10.252.0.12', asn: 65102 },
        { address: '10.252.0.13', asn: 65103 },
      ],
    });
    expect(r1).toMatchObject({ name: 'e2e-r1', kind: 'frr', state: 'running', router_id: '10.252.0.11' });
    await ok('daemon_create', {
      name: 'e2e-r2',
      kind: 'gobgp',
      asn: 65102,
      interfaces: [{ network: 'e2e-core', ip: '10.252.0.12' }],
      neighbors: [{ address: '10.252.0.11', asn: 65101 }],
    });
    await ok('daemon_create', {
      name: 'e2e-r3',
      kind: 'exabgp',
      asn: 65103,
      interfaces: [{ network: 'e2e-core', ip: '10.252.0.13' }],
      neighbors: [{ address: '10.252.0.11', asn: 65101 }],
      advertise: ['203.0.113.0/24'],
    });
    const s = await waitFor(
      'e2e sessions Established',
      async () => {
        const st = await ok('daemon_status', { name: 'e2e-r1' });
        return st.neighbors.length === 2 && st.neighbors.every((n: { state: string }) => n.state === 'Established') ? st : undefined;
      },
      90,
    );
    process.stderr.write(`[measure] MCP: first daemon_create -> Established: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    expect(s.neighbors.map((n: { asn: number }) => n.asn).sort()).toEqual([65102, 65103]);
    const r2 = await waitFor(
      'r2 learns 203.0.113.0/24',
      async () => {
        const st = await ok('daemon_status', { name: 'e2e-r2' });
        return st.routes?.some((r: { prefix: string }) => r.prefix === '203.0.113.0/24') ? st : undefined;
      },
      30,
    );
    expect(r2.neighbors[0].state).toBe('Established');
    const list = await ok('daemon_list', {});
    expect(list.daemons.map((d: { name: string }) => d.name)).toEqual(['e2e-r1', 'e2e-r2', 'e2e-r3']);
    // every change is in the audit log, with the front end and the client that asked
    const audit = await ok('audit_list', { tool: 'daemon_create' });
    expect(audit.entries.map((e: { front_end: string; caller: string; ok: boolean }) => [e.front_end, e.caller, e.ok])).toEqual([
      ['mcp-stdio', 'nslab-e2e 1.0.0', true],
      ['mcp-stdio', 'nslab-e2e 1.0.0', true],
      ['mcp-stdio', 'nslab-e2e 1.0.0', true],
    ]);
  });

  it('sends progress notifications while it recreates a daemon whose container is gone', async () => {
    await new Docker().getContainer('e2e-r3').remove({ force: true });
    const messages: string[] = [];
    const r = await tools.call('daemon_start', { name: 'e2e-r3' }, { onprogress: (p) => messages.push(p.message ?? '') });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ name: 'e2e-r3', state: 'running' });
    expect(messages).toEqual(expect.arrayContaining([expect.stringContaining('recreating it from the store')]));
  });

  it('stands up a topology with progress notifications and shows its graph as an image', async () => {
    const yaml = readFileSync(join(root, 'examples', 'vxlan-bgp.yaml'), 'utf8');
    await ok('topology_create', { yaml });
    const messages: string[] = [];
    const r = await tools.call(
      'topology_standup',
      { name: 'vxlan-bgp', wait_established_s: 60 },
      { onprogress: (p) => messages.push(p.message ?? ''), timeout: 170_000 },
    );
    expect(r.isError, r.content[0]?.text).toBeFalsy();
    expect(r.structuredContent?.established).toMatchObject({ all: true });
    expect(messages, JSON.stringify(messages)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^plan for vxlan-bgp: 9 create/), expect.stringMatching(/^node vxlan-bgp-ra up/)]),
    );
    const g = await tools.call('topology_graph', { name: 'vxlan-bgp', format: 'png' });
    expect(g.content[0]).toMatchObject({ type: 'image', mimeType: 'image/png' });
    expect(
      Buffer.from(g.content[0]?.data ?? '', 'base64')
        .subarray(1, 4)
        .toString(),
    ).toBe('PNG');
    expect(g.content[1]?.text).toContain('shown as an image');
    expect((await ok('topology_teardown', { name: 'vxlan-bgp' })).removed).toEqual({ containers: 4, networks: 3, tunnels: 1 });
  });

  it('stops a cancelled standup cleanly: what it made is removed', async () => {
    await ok('topology_create', { yaml: readFileSync(join(root, 'examples', 'ring.yaml'), 'utf8') });
    const ac = new AbortController();
    const call = tools.call(
      'topology_standup',
      { name: 'ring', concurrency: 2 },
      {
        signal: ac.signal,
        timeout: 170_000,
        onprogress: (p) => {
          if (p.message?.startsWith('node ')) ac.abort();
        },
      },
    );
    await expect(call).rejects.toThrow();
    const docker = new Docker();
    const left = await waitFor(
      'the cancelled standup to clean up',
      async () => {
        const cs = await docker.listContainers({
          all: true,
          filters: { label: ['netstream-lab.topology=ring', `netstream-lab.test=${RUN}`] },
        });
        const ns = await docker.listNetworks({ filters: { label: ['netstream-lab.topology=ring', `netstream-lab.test=${RUN}`] } });
        const t = await ok('topology_get', { name: 'ring' });
        return cs.length === 0 && ns.length === 0 && t.last_standup ? t : undefined;
      },
      60,
    );
    expect(left.last_standup).toMatchObject({ ok: false });
    expect(left.last_standup.summary).toMatch(/cancelled/);
    expect((await ok('daemon_list', {})).daemons.map((d: { name: string }) => d.name).filter((n: string) => n.startsWith('ring-'))).toEqual(
      [],
    );
    await ok('topology_delete', { name: 'ring' });
  });

  it('deletes what it made through the same tools', async () => {
    for (const n of ['e2e-r1', 'e2e-r2', 'e2e-r3']) await ok('daemon_delete', { name: n });
    await ok('network_delete', { name: 'e2e-core' });
    expect((await ok('network_list', {})).networks).toEqual([]);
    const r = await callTool('daemon_get', { name: 'e2e-r1' });
    expect(r.isError).toBe(true);
    expect(r.content[0]?.text).toContain("daemon 'e2e-r1' not found");
  });
});

describe('MCP in read-only mode (NSLAB_READ_ONLY=true)', () => {
  let ro: Client;
  beforeAll(async () => {
    ro = (await spawnServer(RUN, { NSLAB_READ_ONLY: 'true' })).client;
  });
  afterAll(async () => {
    await ro?.close();
  });

  it('lists only read-only tools and refuses a write with an explanation', async () => {
    const { tools } = await ro.listTools();
    expect(tools.length).toBeGreaterThan(0);
    expect(tools.every((t) => t.annotations?.readOnlyHint === true)).toBe(true);
    expect(tools.map((t) => t.name)).not.toContain('network_create');
    const roTools = new CheckedTools(ro);
    const r = await roTools.call('network_create', { name: 'ro-net', subnet: '10.252.9.0/24' });
    expect(r.isError).toBe(true);
    expect(r.content[0]?.text).toContain('read-only (NSLAB_READ_ONLY)');
    const list: Result = await roTools.call('network_list', {});
    expect(list.structuredContent).toEqual({ networks: [] });
  });
});
