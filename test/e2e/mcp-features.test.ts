import { execFile } from 'node:child_process';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  type ElicitRequest,
  ElicitRequestSchema,
  type ElicitResult,
  LoggingMessageNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweep, testEnv, waitFor } from '../helpers/docker.js';
import { CheckedTools, serverCommand, spawnServer } from './mcp-client.js';

/**
 * The MCP features beyond tools, seen by a real SDK client over stdio: resources, prompts,
 * completion, logging, confirmation by elicitation, progress and cancellation. Names mcpx-*,
 * subnets in 10.245.0.0/16.
 */
const RUN = `mcpx-${process.pid}`;
const TOPOLOGY = [
  'name: mcpx-t1',
  'networks:',
  '  core: {subnet: 10.245.12.0/24}',
  'nodes:',
  '  a: {kind: frr, asn: 65401, interfaces: {core: auto}}',
  '  b: {kind: gobgp, asn: 65402, interfaces: {core: auto}}',
  'bgp:',
  '  sessions:',
  '    - [a, b]',
  '',
].join('\n');

let client: Client;
let tools: CheckedTools;
const logs: Array<{ level: string; data: { message: string } }> = [];
const asked: ElicitRequest['params'][] = [];
/** what the person answers to the next confirmation questions, in order */
const answers: ElicitResult[] = [];

/** The text of a resource content or a prompt message (both may be other kinds). */
const text = (c: unknown): string => {
  const t = (c as { text?: unknown } | undefined)?.text;
  if (typeof t !== 'string') throw new Error(`no text in ${JSON.stringify(c)}`);
  return t;
};

const mcpError = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (err) {
    return err as { code: number; message: string };
  }
  throw new Error('expected an MCP error');
};

describe('MCP features over stdio (client with elicitation)', () => {
  beforeAll(async () => {
    client = (await spawnServer(RUN, {}, { capabilities: { elicitation: {} } })).client;
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      logs.push(n.params as (typeof logs)[number]);
    });
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      asked.push(req.params);
      return answers.shift() ?? { action: 'cancel' };
    });
    tools = new CheckedTools(client);
  });

  afterAll(async () => {
    await client?.close();
    await sweep(RUN);
  });

  it('reports a daemon_create step by step, with progress numbers that only grow', async () => {
    await tools.ok('network_create', { name: 'mcpx-net', subnet: '10.245.10.0/24' });
    const steps: Array<{ progress: number; message?: string }> = [];
    await tools.ok(
      'daemon_create',
      {
        name: 'mcpx-r1',
        kind: 'frr',
        asn: 65301,
        interfaces: [{ network: 'mcpx-net', ip: '10.245.10.11' }],
        neighbors: [{ address: '10.245.10.12', asn: 65302, password: 'mcpx-secret-1' }],
      },
      { onprogress: (p) => steps.push(p) },
    );
    expect(steps.map((s) => s.message)).toEqual(
      expect.arrayContaining(['creating container mcpx-r1', 'waiting for frr in mcpx-r1 to answer']),
    );
    for (let i = 1; i < steps.length; i++) expect(steps[i]?.progress).toBeGreaterThan(steps[i - 1]?.progress ?? 0);
    await tools.ok('daemon_create', {
      name: 'mcpx-r2',
      kind: 'gobgp',
      asn: 65302,
      interfaces: [{ network: 'mcpx-net', ip: '10.245.10.12' }],
      neighbors: [{ address: '10.245.10.11', asn: 65301, password: 'mcpx-secret-1' }],
      advertise: ['198.51.100.0/24'],
    });
    await tools.ok('topology_create', { yaml: TOPOLOGY });
  });

  it('lists, reads and templates resources, and answers an unknown one with a not-found error naming it', async () => {
    expect(client.getInstructions()).toContain('nslab://daemon/{name}/config');
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate)).toEqual([
      'nslab://topology/{name}/file',
      'nslab://topology/{name}/status',
      'nslab://daemon/{name}/config',
      'nslab://daemon/{name}/config/{file}',
      'nslab://daemon/{name}/status',
    ]);
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri)).toEqual([
      'nslab://topology/mcpx-t1/file',
      'nslab://topology/mcpx-t1/status',
      'nslab://daemon/mcpx-r1/config',
      'nslab://daemon/mcpx-r2/config',
      'nslab://events',
      'nslab://daemon/mcpx-r1/status',
      'nslab://daemon/mcpx-r2/status',
    ]);
    const file = await client.readResource({ uri: 'nslab://topology/mcpx-t1/file' });
    expect(file.contents).toEqual([{ uri: 'nslab://topology/mcpx-t1/file', mimeType: 'application/yaml', text: TOPOLOGY }]);
    const status = JSON.parse(text((await client.readResource({ uri: 'nslab://topology/mcpx-t1/status' })).contents[0]));
    expect(status).toMatchObject({ name: 'mcpx-t1', deployed: false });
    expect(status.nodes.map((n: { name: string }) => n.name).sort()).toEqual(['mcpx-t1-a', 'mcpx-t1-b']);

    const frr = (await client.readResource({ uri: 'nslab://daemon/mcpx-r1/config' })).contents;
    expect(frr.map((c) => c.uri)).toEqual(['nslab://daemon/mcpx-r1/config/frr.conf']);
    const conf = text(frr[0]);
    expect(conf).toContain('router bgp 65301');
    expect(conf).toContain('neighbor 10.245.10.12 remote-as 65302');
    expect(conf).toContain('neighbor 10.245.10.12 password ***');
    expect(conf).not.toContain('mcpx-secret-1');
    // the file the daemon really runs with is the one shown, but for the password (daemon_exec asks first)
    answers.push({ action: 'accept', content: { confirm: true } });
    const inside = await tools.ok('daemon_exec', { name: 'mcpx-r1', command: ['cat', '/etc/frr/frr.conf'] });
    expect(inside.stdout.replace('mcpx-secret-1', '***')).toBe(conf);

    const gobgp = (await client.readResource({ uri: 'nslab://daemon/mcpx-r2/config' })).contents;
    expect(gobgp.map((c) => c.uri)).toEqual(['nslab://daemon/mcpx-r2/config/gobgpd.toml', 'nslab://daemon/mcpx-r2/config/advertise']);
    const one = await client.readResource({ uri: 'nslab://daemon/mcpx-r2/config/advertise' });
    expect(one.contents).toHaveLength(1);
    expect(text(one.contents[0])).toContain('198.51.100.0/24');

    for (const uri of [
      'nslab://daemon/mcpx-nope/config',
      'nslab://topology/mcpx-nope/status',
      'nslab://daemon/mcpx-r2/config/frr.conf',
      'nslab://other',
    ]) {
      const err = await mcpError(client.readResource({ uri }));
      expect(err.code, uri).toBe(-32002);
      expect(err.message).toContain(`Resource not found: ${uri}`);
    }
  });

  it('completes template and prompt arguments with names from the store', async () => {
    const complete = async (ref: Parameters<Client['complete']>[0]['ref'], name: string, value: string, args?: Record<string, string>) =>
      (await client.complete({ ref, argument: { name, value }, ...(args ? { context: { arguments: args } } : {}) })).completion.values;
    expect(await complete({ type: 'ref/resource', uri: 'nslab://daemon/{name}/config' }, 'name', 'mcpx-r')).toEqual(['mcpx-r1', 'mcpx-r2']);
    expect(await complete({ type: 'ref/resource', uri: 'nslab://daemon/{name}/config' }, 'name', 'zz')).toEqual([]);
    expect(await complete({ type: 'ref/resource', uri: 'nslab://topology/{name}/status' }, 'name', '')).toEqual(['mcpx-t1']);
    expect(await complete({ type: 'ref/resource', uri: 'nslab://daemon/{name}/config/{file}' }, 'file', 'go', { name: 'mcpx-r2' })).toEqual(
      ['gobgpd.toml'],
    );
    expect(await complete({ type: 'ref/prompt', name: 'plan-and-apply-topology' }, 'topology', 'mc')).toEqual(['mcpx-t1']);
    expect(await complete({ type: 'ref/prompt', name: 'troubleshoot-bgp-session' }, 'daemon', 'mcpx-r2')).toEqual(['mcpx-r2']);
    expect(await complete({ type: 'ref/prompt', name: 'troubleshoot-bgp-session' }, 'neighbor', '10.', { daemon: 'mcpx-r1' })).toEqual([
      '10.245.10.12',
    ]);
  });

  it('offers the two prompts, filled in from the store, and refuses bad arguments naming them', async () => {
    const { prompts } = await client.listPrompts();
    expect(prompts.map((p) => p.name)).toEqual(['plan-and-apply-topology', 'troubleshoot-bgp-session']);
    const plan = await client.getPrompt({ name: 'plan-and-apply-topology', arguments: { topology: 'mcpx-t1' } });
    const steps = text(plan.messages[0]?.content);
    const order = ['topology_validate', 'topology_plan', 'Ask me to confirm', 'topology_standup', 'topology_status'].map((x) =>
      steps.indexOf(x),
    );
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(plan.messages[1]?.content).toMatchObject({
      type: 'resource',
      resource: { uri: 'nslab://topology/mcpx-t1/file', text: TOPOLOGY },
    });
    const fromYaml = await client.getPrompt({ name: 'plan-and-apply-topology', arguments: { topology: TOPOLOGY } });
    expect(text(fromYaml.messages[0]?.content)).toContain('topology_create');

    const t = await client.getPrompt({ name: 'troubleshoot-bgp-session', arguments: { daemon: 'mcpx-r1', neighbor: '10.245.10.12' } });
    const tt = text(t.messages[0]?.content);
    expect(tt).toContain("10.245.10.12 is lab daemon 'mcpx-r2' (gobgp, AS 65302), which has mcpx-r1 configured as a neighbor");
    expect(tt).toContain('daemon_status {"name": "mcpx-r1"}');
    expect(tt).toContain('["vtysh","-c","show bgp neighbors 10.245.10.12"]');

    expect((await mcpError(client.getPrompt({ name: 'plan-and-apply-topology', arguments: { topology: 'mcpx-none' } }))).message).toContain(
      "topology: no saved topology 'mcpx-none'",
    );
    expect(
      (await mcpError(client.getPrompt({ name: 'troubleshoot-bgp-session', arguments: { daemon: 'mcpx-r1', neighbour: 'x' } }))).message,
    ).toContain('neighbour: unknown argument');
    expect((await mcpError(client.getPrompt({ name: 'no-such-prompt' }))).message).toContain("unknown prompt 'no-such-prompt'");
  });

  it('sends log messages at the level the client sets, never on stdout outside JSON-RPC', async () => {
    await client.setLoggingLevel('debug');
    logs.length = 0;
    await tools.ok('network_list');
    expect(logs.map((l) => [l.level, l.data.message.replace(/\d+ ms/, 'N ms')])).toEqual([
      ['debug', 'calling network_list'],
      ['info', 'network_list done in N ms'],
    ]);
    await client.setLoggingLevel('warning');
    logs.length = 0;
    await tools.ok('network_list');
    expect((await tools.call('network_get', { name: 'mcpx-nope' })).isError).toBe(true);
    expect(logs.map((l) => l.level)).toEqual(['warning']);
    expect(logs[0]?.data.message).toContain("network_get failed (NOT_FOUND): network 'mcpx-nope' not found");
  });

  it('asks before a destructive tool: a refusal changes nothing, a yes runs it; other tools and missing names are not asked', async () => {
    const before = asked.length;
    await tools.ok('network_create', { name: 'mcpx-spare', subnet: '10.245.11.0/24' });
    expect(asked).toHaveLength(before);
    const names = async () => (await tools.ok('network_list')).networks.map((n: { name: string }) => n.name);
    for (const answer of [
      { action: 'decline' },
      { action: 'cancel' },
      { action: 'accept', content: { confirm: false } },
    ] as ElicitResult[]) {
      answers.push(answer);
      const r = await tools.call('network_delete', { name: 'mcpx-spare' });
      expect(r.isError, JSON.stringify(answer)).toBe(true);
      expect(r.content[0]?.text).toMatch(
        /^network_delete was not run: the confirmation was (declined|cancelled|not confirmed)\. Nothing was changed\./,
      );
      expect(await names()).toContain('mcpx-spare');
    }
    expect(asked).toHaveLength(before + 3);
    expect(asked[before]?.message).toContain("Delete lab network 'mcpx-spare'.");
    expect(asked[before]).toMatchObject({ requestedSchema: { properties: { confirm: { type: 'boolean' } }, required: ['confirm'] } });
    answers.push({ action: 'accept', content: { confirm: true } });
    expect(await tools.ok('network_delete', { name: 'mcpx-spare' })).toEqual({ deleted: 'mcpx-spare' });
    expect(await names()).not.toContain('mcpx-spare');
    // bad input, or a name that is not there, is refused as it is, without a question
    expect((await tools.call('network_delete', { name: 'mcpx-spare', extra: 1 })).isError).toBe(true);
    const gone = await tools.call('network_delete', { name: 'mcpx-spare' });
    expect(gone.content[0]?.text).toContain("network 'mcpx-spare' not found");
    expect(asked).toHaveLength(before + 4);
  });

  it('keeps a long silent tool alive with "still running" progress steps', async () => {
    answers.push({ action: 'accept', content: { confirm: true } });
    const steps: string[] = [];
    const r = await tools.ok(
      'daemon_exec',
      { name: 'mcpx-r1', command: ['sleep', '7'] },
      { onprogress: (p) => steps.push(p.message ?? '') },
    );
    expect(r.exit_code).toBe(0);
    expect(steps[0]).toMatch(/^daemon_exec still running \(\d+ s\)$/);
  });

  it('removes what a cancelled daemon_create made: no container, no record, its address free again', async () => {
    const ac = new AbortController();
    const call = tools.call(
      'daemon_create',
      { name: 'mcpx-r9', kind: 'frr', asn: 65309, interfaces: [{ network: 'mcpx-net', ip: '10.245.10.19' }] },
      {
        signal: ac.signal,
        onprogress: (p) => {
          if (p.message === 'creating container mcpx-r9') ac.abort();
        },
      },
    );
    await expect(call).rejects.toThrow(/abort/i);
    const docker = new Docker();
    const audit = await waitFor(
      'the cancelled create to clean up',
      async () => {
        const a = await tools.ok('audit_list', { tool: 'daemon_create', limit: 1 });
        return a.entries[0]?.args?.name === 'mcpx-r9' ? a.entries[0] : undefined;
      },
      60,
    );
    expect(audit).toMatchObject({ ok: false, error: 'TIMEOUT' });
    expect(audit.message).toMatch(/cancelled/);
    expect(await docker.listContainers({ all: true, filters: { name: ['^/mcpx-r9$'] } })).toEqual([]);
    expect((await tools.ok('daemon_list')).daemons.map((d: { name: string }) => d.name)).toEqual(['mcpx-r1', 'mcpx-r2']);
    const net = await tools.ok('network_get', { name: 'mcpx-net' });
    expect(JSON.stringify(net)).not.toContain('10.245.10.19');
    // the address is free: the same create, not cancelled, works
    expect(
      await tools.ok('daemon_create', {
        name: 'mcpx-r9',
        kind: 'frr',
        asn: 65309,
        interfaces: [{ network: 'mcpx-net', ip: '10.245.10.19' }],
      }),
    ).toMatchObject({ name: 'mcpx-r9', state: 'running' });
    expect(tools.checked).toBeGreaterThan(10);
  });
});

describe('MCP confirmation and read-only without elicitation', () => {
  it('refuses to start with a bad NSLAB_CONFIRM_DESTRUCTIVE, naming the variable and the choices', async () => {
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const p = execFile(serverCommand.command, serverCommand.args, {
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NSLAB_CONFIRM_DESTRUCTIVE: 'maybe', ...testEnv(RUN) },
        timeout: 20_000,
      });
      let stderr = '';
      p.stderr?.on('data', (b: Buffer) => {
        stderr += b.toString();
      });
      p.on('close', (code) => resolve({ code, stderr }));
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('NSLAB_CONFIRM_DESTRUCTIVE=maybe is not one of elicit, never, always');
  });

  it('NSLAB_CONFIRM_DESTRUCTIVE=always refuses destructive tools a client cannot confirm, and changes nothing', async () => {
    const { client: c } = await spawnServer(RUN, { NSLAB_CONFIRM_DESTRUCTIVE: 'always' });
    try {
      const t = new CheckedTools(c);
      await t.ok('network_create', { name: 'mcpx-keep', subnet: '10.245.13.0/24' });
      const r = await t.call('network_delete', { name: 'mcpx-keep' });
      expect(r.isError).toBe(true);
      expect(r.content[0]?.text).toContain('NSLAB_CONFIRM_DESTRUCTIVE=always');
      expect(r.content[0]?.text).toContain('Nothing was changed');
      expect((await t.ok('network_list')).networks.map((n: { name: string }) => n.name)).toEqual(['mcpx-keep']);
    } finally {
      await c.close();
      await sweep(RUN);
    }
  });

  it('a read-only server offers no prompt that needs a hidden tool, and still reads resources', async () => {
    const { client: c } = await spawnServer(RUN, { NSLAB_READ_ONLY: 'true' });
    try {
      expect((await c.listPrompts()).prompts.map((p) => p.name)).toEqual(['troubleshoot-bgp-session']);
      expect(c.getInstructions()).toContain('This server is read-only');
      expect(c.getInstructions()).not.toContain('topology_create');
      expect((await mcpError(c.getPrompt({ name: 'plan-and-apply-topology', arguments: { topology: 'x' } }))).message).toContain(
        "unknown prompt 'plan-and-apply-topology'",
      );
      expect((await c.listResourceTemplates()).resourceTemplates).toHaveLength(5);
      expect((await c.listResources()).resources.map((r) => r.uri)).toEqual(['nslab://events']);
    } finally {
      await c.close();
    }
  });
});
