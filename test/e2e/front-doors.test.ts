import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweep, testEnv } from '../helpers/docker.js';
import { FakeSlack, signedPost, slashForm } from '../helpers/fake-slack.js';
import { type Served, serve } from '../helpers/serve.js';

/**
 * The shared front doors of `nslab serve`, tried as a hostile user would, through the real
 * transports: signed Slack requests into real Bolt, REST and MCP over HTTP, all in one process.
 */
const RUN = `door-${process.pid}`;
const TOKEN = 'front-doors-token-0123456789';
const SECRET = 'door-signing-secret';
const ADMIN = 'UDADMIN';
const OPERATOR = 'UDOPER';
const READER = 'UDREAD';
const CHANNEL = 'CDOOR';
const PASSWORD = 'pw-Front-7788';
const SLACK_PASSWORD = 'pw-Slack-5566';
const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...testEnv(RUN) };
let fake: FakeSlack;
let served: Served;

const auth = { Authorization: `Bearer ${TOKEN}` };
const rest = (method: string, path: string, body?: unknown) =>
  fetch(`${served.url}${path}`, {
    method,
    headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });

async function slash(text: string, user: string): Promise<{ status: number; text: string; all: () => string }> {
  const responseUrl = fake.newResponseUrl();
  const res = await signedPost(`${served.url}/slack/events`, slashForm(text, user, CHANNEL, responseUrl), SECRET);
  const first = res.body ? JSON.stringify(res.json()) : '';
  return { status: res.status, text: first, all: () => first + JSON.stringify(fake.responsesTo(responseUrl)) };
}

async function mcp(): Promise<Client> {
  const client = new Client({ name: 'front-doors', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${served.url}/mcp`), { requestInit: { headers: auth } }));
  return client;
}

/** Every front end of the process still answers a plain call. */
async function everyFrontEndWorks(): Promise<void> {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  const list = await rest('GET', '/networks');
  expect(list.status, await list.clone().text()).toBe(200);
  const made = await rest('POST', '/networks', { name: 'door-probe', subnet: '10.241.9.0/24' });
  expect(made.status, await made.clone().text()).toBe(201);
  expect((await rest('DELETE', '/networks/door-probe')).status).toBe(200);
  const client = await mcp();
  try {
    const tools = await client.listTools(); // JSON Schema of every input: throws once Object.prototype is polluted
    expect(tools.tools.length).toBeGreaterThan(40);
    const r = (await client.callTool({ name: 'network_list', arguments: {} })) as { isError?: boolean };
    expect(r.isError).toBeFalsy();
  } finally {
    await client.close();
  }
  const s = await slash('network list', READER);
  expect(s.status).toBe(200);
  expect(s.text).not.toContain('Unrecognized key');
}

describe('shared front doors under attack', () => {
  beforeAll(async () => {
    fake = await new FakeSlack().start();
    served = await serve({
      ...env,
      NSLAB_HTTP_TOKEN: TOKEN,
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_API_URL: fake.apiUrl,
      NSLAB_SLACK_ADMINS: ADMIN,
      NSLAB_SLACK_OPERATORS: OPERATOR,
      NSLAB_SLACK_ALLOW_YES: '1',
    });
  });
  afterAll(async () => {
    await served?.stop();
    await fake?.stop();
    await sweep(RUN);
  });

  it('a Slack reader cannot pollute the process through key paths: the command is refused naming the field, every front end keeps working', async () => {
    for (const text of [
      'daemon list __proto__.polluted=1',
      'daemon list constructor.prototype.polluted=1',
      'network create x1 __proto__=1',
      'topology get t1 prototype.polluted=yes',
    ]) {
      const r = await slash(text, READER);
      expect(r.status).toBe(200);
      expect(r.text, text).toMatch(/is not a field name/);
    }
    // A pasted code block that carries __proto__ as a key: the field is named, nothing assigned.
    const block = await slash('network create x2 ```{"__proto__": {"polluted": 1}, "subnet": "10.241.8.0/24"}```', OPERATOR);
    expect(block.all()).toContain('__proto__');
    await everyFrontEndWorks();
    // The same through REST and MCP bodies: __proto__ anywhere in the input is refused as a field, 400.
    const body = await rest('POST', '/networks', '{"name":"door-x3","subnet":"10.241.7.0/24","__proto__":{"polluted":1}}');
    expect(body.status).toBe(400);
    expect(await body.text()).toContain('__proto__');
    const q = await rest('GET', '/networks?__proto__=1');
    expect(q.status).toBe(400);
    const client = await mcp();
    const r = (await client.callTool({ name: 'network_list', arguments: JSON.parse('{"__proto__":{"polluted":1}}') })) as {
      isError?: boolean;
      content: Array<{ text?: string }>;
    };
    await client.close();
    // The SDK's own parsing drops the key before the tool sees it, or the tool refuses it: never pollution.
    if (r.isError) expect(r.content[0]?.text).toContain('__proto__');
    await everyFrontEndWorks();
    expect(JSON.parse((await (await rest('GET', '/networks')).text()) || '{}').networks).toEqual([]);
  });

  it('a valid name such as constructor is 404 when absent and works when created; __proto__ and toString are refused, 400', async () => {
    for (const path of ['/daemons/constructor', '/hosts/constructor', '/networks/constructor', '/topologies/constructor']) {
      expect((await rest('GET', path)).status, `GET ${path}`).toBe(404);
      expect((await rest('DELETE', path)).status, `DELETE ${path}`).toBe(404);
    }
    for (const name of ['__proto__', 'toString', 'hasOwnProperty']) {
      for (const path of [`/daemons/${name}`, `/networks/${name}`, `/topologies/${name}`]) {
        const r = await rest('GET', path);
        expect(r.status, `GET ${path}`).toBe(400);
      }
      expect((await rest('POST', '/networks', { name, subnet: '10.241.6.0/24' })).status).toBe(400);
    }
    const net = await rest('POST', '/networks', { name: 'constructor', subnet: '10.241.5.0/24' });
    expect(net.status, await net.clone().text()).toBe(201);
    expect((await rest('POST', '/networks', { name: 'constructor', subnet: '10.241.4.0/24' })).status).toBe(409);
    const host = await rest('POST', '/hosts', { name: 'valueof', interfaces: [{ network: 'constructor' }] });
    expect(host.status, await host.clone().text()).toBe(201);
    expect(((await (await rest('GET', '/networks/constructor')).json()) as { name: string }).name).toBe('constructor');
    expect((await rest('GET', '/hosts/valueof')).status).toBe(200);
    expect((await rest('DELETE', '/hosts/valueof')).status).toBe(200);
    expect((await rest('DELETE', '/networks/constructor')).status).toBe(200);
    expect((await rest('GET', '/networks/constructor')).status).toBe(404);
  });

  it('a session password is taken once and never shown again: not by read tools, resources, Slack, the audit log or errors', async () => {
    const yaml = [
      'name: door-topo',
      'networks: { core: { subnet: 10.241.3.0/24 } }',
      'nodes:',
      '  r1: { kind: frr, asn: 65001, interfaces: { core: auto } }',
      '  r2: { kind: gobgp, asn: 65002, interfaces: { core: auto } }',
      `bgp: { sessions: [ { a: r1, b: r2, password: ${PASSWORD} } ] }`,
      '',
    ].join('\n');
    const made = await rest('POST', '/topologies', { yaml });
    expect(made.status, await made.clone().text()).toBe(201);
    expect(await made.text()).not.toContain(PASSWORD);

    const got = await (await rest('GET', '/topologies/door-topo')).text();
    expect(got).toContain('***');
    expect(got).not.toContain(PASSWORD);
    const client = await mcp();
    const file = await client.readResource({ uri: 'nslab://topology/door-topo/file' });
    expect(JSON.stringify(file)).toContain('door-topo');
    expect(JSON.stringify(file)).not.toContain(PASSWORD);
    const viaTool = await client.callTool({ name: 'topology_get', arguments: { name: 'door-topo' } });
    expect(JSON.stringify(viaTool)).not.toContain(PASSWORD);
    await client.close();
    const inSlack = await slash('topology get door-topo', READER);
    await new Promise((r) => setTimeout(r, 500));
    expect(inSlack.all()).toContain('door-topo');
    expect(inSlack.all()).not.toContain(PASSWORD);

    // The file read back (with ***) and saved again keeps the password it had.
    const back = (JSON.parse(got) as { yaml: string }).yaml;
    const again = await rest('POST', '/topologies', { yaml: back.replace('65002', '65003'), replace: true });
    expect(again.status, await again.clone().text()).toBe(201);
    const state = await readFile(join(env.NSLAB_DATA_DIR as string, 'state.json'), 'utf8');
    expect(state).toContain(PASSWORD);
    expect(state).not.toMatch(/"password": "\*\*\*"/);
    // A mask with nothing behind it is refused, naming the field.
    const orphan = await rest('POST', '/topologies', { yaml: back.replace(/door-topo/g, 'door-other') });
    expect(orphan.status).toBe(400);
    expect(await orphan.text()).toContain('bgp.sessions.0.password');

    // A password typed in Slack is not echoed to the channel, nor kept in the audit log.
    const typed = await slash(`daemon peer add door-none address=10.241.3.9 asn=65009 password=${SLACK_PASSWORD}`, OPERATOR);
    const everything = () => JSON.stringify(fake.calls) + JSON.stringify(fake.responses) + typed.all();
    await fake.until('the outcome in the channel', () => (/daemon 'door-none' not found/.test(everything()) ? true : undefined));
    const channel = everything();
    expect(channel).toContain('door-none');
    expect(channel).not.toContain(SLACK_PASSWORD);

    const audit = await (await rest('GET', '/audit?limit=100')).text();
    expect(audit).toContain('topology_create');
    expect(audit).toContain('daemon_peer_add');
    const log = await readFile(join(env.NSLAB_DATA_DIR as string, 'audit.jsonl'), 'utf8');
    for (const text of [audit, log]) {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(SLACK_PASSWORD);
    }
    expect((await rest('DELETE', '/topologies/door-topo')).status).toBe(200);
  });

  it('sync_run apply removes things: MCP marks it destructive, Slack operators may report but only admins may apply', async () => {
    const client = await mcp();
    const { tools } = await client.listTools();
    await client.close();
    expect(tools.find((t) => t.name === 'sync_run')?.annotations?.destructiveHint).toBe(true);
    const report = await slash('sync run', OPERATOR);
    expect(report.all()).not.toContain('🚫');
    const apply = await slash('sync run apply=true', OPERATOR);
    expect(apply.text).toContain('🚫');
    expect(apply.text).toContain('NSLAB_SLACK_ADMINS');
    const admin = await slash('sync run apply=true', ADMIN);
    expect(admin.text).toMatch(/Run `\/lab sync run apply=true`\?/);
  });

  it('one Slack member flooding heavy reads is held to a few at a time; another member is still answered', async () => {
    const yaml = ['name: door-flood', 'networks: { core: { subnet: 10.241.2.0/24 } }', 'nodes:'];
    for (let i = 0; i < 40; i++) yaml.push(`  r${i}: { kind: frr, asn: ${65100 + i}, interfaces: { core: auto } }`);
    expect((await rest('POST', '/topologies', { yaml: `${yaml.join('\n')}\n` })).status).toBe(201);
    const flood = await Promise.all(Array.from({ length: 8 }, () => slash('topology graph door-flood format=png', READER)));
    const held = flood.filter((r) => r.text.includes('🚦'));
    expect(held.length).toBeGreaterThanOrEqual(1);
    expect(held[0]?.text).toContain('at most 3 at a time');
    const other = await slash('network list', 'UDOTHER');
    expect(other.text).not.toContain('🚦');
    expect((await rest('DELETE', '/topologies/door-flood')).status).toBe(200);
  });

  it('router_id 0.0.0.0 and other non-unicast addresses are refused naming the field; nothing is made', async () => {
    for (const rid of ['0.0.0.0', '127.0.0.1', '224.0.0.5', '255.255.255.255', '169.254.1.1']) {
      const r = await rest('POST', '/daemons', { name: 'door-rid', kind: 'frr', asn: 65001, router_id: rid, interfaces: [] });
      expect(r.status, rid).toBe(400);
      expect(await r.text()).toContain('router_id');
    }
    expect((await rest('GET', '/daemons/door-rid')).status).toBe(404);
  });

  it('checks and faults refuse hostile input on REST, MCP and Slack alike; nothing is sent, nothing is recorded', async () => {
    // REST: 10,000 checks, an address outside the lab, an unknown node: 400 naming each field.
    const many = Array.from({ length: 10_000 }, () => ({ check: 'ping', from: 'h1', to: 'h2' }));
    const big = await rest('POST', '/checks', { checks: many });
    expect(big.status).toBe(400);
    expect(await big.text()).toContain('at most 500 checks');
    const out = await rest('POST', '/checks', { checks: [{ check: 'ping', from: 'door-none', to: '8.8.8.8' }] });
    expect(out.status).toBe(400);
    const outText = await out.text();
    expect(outText).toContain("checks.0.from: no node 'door-none' in the lab");
    expect(outText).toContain("checks.0.to: 8.8.8.8 is outside the lab's networks");
    // MCP over HTTP: a thousand scenario steps, __proto__ inside a check, a fault on nothing.
    const client = await mcp();
    try {
      const steps = Array.from({ length: 1000 }, () => ({ sleep_s: 1 }));
      const sc = (await client.callTool({ name: 'topology_scenario', arguments: { name: 'door-none', steps } })) as {
        isError?: boolean;
        content: Array<{ text?: string }>;
      };
      expect(sc.isError).toBe(true);
      expect(sc.content[0]?.text).toContain('at most 100 steps');
      const proto = (await client.callTool({
        name: 'lab_check',
        arguments: { checks: [JSON.parse('{"check":"session","a":"x1","b":"x2","__proto__":{"polluted":1}}')] },
      })) as { isError?: boolean; content: Array<{ text?: string }> };
      expect(proto.isError).toBe(true);
      const fault = (await client.callTool({ name: 'fault_inject', arguments: { kind: 'node_pause', node: 'door-none' } })) as {
        isError?: boolean;
        content: Array<{ text?: string }>;
      };
      expect(fault.isError).toBe(true);
      expect(fault.content[0]?.text).toMatch(/node 'door-none' not found|Declined|confirm/);
    } finally {
      await client.close();
    }
    // Slack: a reader may verify (a read) but not inject a fault (destructive: admins only).
    const f = await slash('fault inject kind=node_pause node=door-none', READER);
    expect(f.all()).toMatch(/🚫/);
    const v = await slash('topology verify door-none', READER);
    expect(v.all()).toContain("topology 'door-none' not found");
    expect(JSON.parse(await (await rest('GET', '/faults')).text())).toEqual({ faults: [] });
    await everyFrontEndWorks();
  });

  it('containerlab imports refuse hostile files on REST, MCP and Slack alike; nothing is saved', async () => {
    const shadow =
      'name: evil\ntopology:\n  nodes:\n    r1: { kind: linux, image: quay.io/frrouting/frr:8.4.0, binds: ["../../etc/shadow:/etc/frr/frr.conf"] }\n';
    // REST: a bind out of the lab's folder, then a YAML bomb, then bound files beyond the limit
    const out = await rest('POST', '/topologies/import', { format: 'containerlab', yaml: shadow });
    expect(out.status).toBe(400);
    expect(await out.text()).toContain('topology.nodes.r1.binds.0');
    const bomb = [
      'name: b',
      'a: &a [x,x,x,x,x,x,x,x,x]',
      ...'bcdefgh'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(',')}]`),
      'topology: { nodes: { r1: { kind: linux } } }',
    ].join('\n');
    const b = await rest('POST', '/topologies/import', { format: 'containerlab', yaml: bomb });
    expect(b.status).toBe(400);
    const files = Object.fromEntries(Array.from({ length: 501 }, (_, i) => [`f${i}`, 'x']));
    const f = await rest('POST', '/topologies/import', { format: 'containerlab', yaml: shadow, files });
    expect(f.status).toBe(400);
    expect(await f.text()).toContain('at most 500 files');
    // MCP over HTTP: __proto__ as a bound file's path is refused before anything is read
    const client = await mcp();
    try {
      const r = (await client.callTool({
        name: 'topology_import',
        arguments: JSON.parse('{"format":"containerlab","yaml":"name: p","files":{"__proto__":"x"}}'),
      })) as { isError?: boolean; content: Array<{ text?: string }> };
      expect(r.isError).toBe(true);
      expect(r.content[0]?.text).toContain('__proto__');
    } finally {
      await client.close();
    }
    // Slack: a reader may not import (it writes); an export of nothing is a plain not-found
    const s = await slash('topology import format=containerlab yaml=x', READER);
    expect(s.all()).toMatch(/🚫/);
    const e = await slash('topology export door-none', READER);
    expect(e.all()).toContain("topology 'door-none' not found");
    expect(JSON.parse(await (await rest('GET', '/topologies')).text())).toEqual({ topologies: [] });
    await everyFrontEndWorks();
  });
});
