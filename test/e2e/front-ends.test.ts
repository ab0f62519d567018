import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root, sweep, testEnv } from '../helpers/docker.js';
import { FakeSlack, signedPost, slashForm } from '../helpers/fake-slack.js';
import { type Served, serve } from '../helpers/serve.js';

/**
 * One lab, five front ends: the same operation through MCP over stdio, MCP over HTTP, REST, the
 * CLI and Slack, all on one store, gives the same answer (Slack shows it as a message).
 */
const RUN = `fe-${process.pid}`;
const TOKEN = 'front-ends-token-0123456789';
const SECRET = 'fe-signing-secret';
const main = join(root, 'dist', 'src', 'cli', 'main.js');
const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...testEnv(RUN) };
let fake: FakeSlack;
let served: Served;

const cli = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', env, timeout: 60_000 });

async function viaMcp(transport: StdioClientTransport | StreamableHTTPClientTransport, args: Record<string, unknown>) {
  const client = new Client({ name: 'front-ends', version: '1.0.0' });
  await client.connect(transport);
  const r = (await client.callTool({ name: 'network_get', arguments: args })) as { structuredContent?: unknown };
  await client.close();
  return r.structuredContent;
}

describe('the same operation through every front end', () => {
  beforeAll(async () => {
    fake = await new FakeSlack().start();
    served = await serve({
      ...env,
      NSLAB_HTTP_TOKEN: TOKEN,
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_API_URL: fake.apiUrl,
      NSLAB_SLACK_OPERATORS: 'UFE',
    });
    const made = cli('call', 'network_create', JSON.stringify({ name: 'fe-net', subnet: '10.240.20.0/24' }));
    expect(made.status, made.stderr).toBe(0);
  });
  afterAll(async () => {
    await served?.stop();
    await fake?.stop();
    await sweep(RUN);
  });

  it('network_get answers alike over MCP stdio, MCP HTTP, REST, the CLI and Slack', async () => {
    const args = { name: 'fe-net' };
    const stdio = await viaMcp(new StdioClientTransport({ command: process.execPath, args: [main, 'mcp'], env, stderr: 'ignore' }), args);
    const http = await viaMcp(
      new StreamableHTTPClientTransport(new URL(`${served.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } } }),
      args,
    );
    const rest = await (await fetch(`${served.url}/networks/fe-net`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json();
    const shell = JSON.parse(cli('call', 'network_get', JSON.stringify(args)).stdout) as Record<string, unknown>;
    expect(stdio).toMatchObject({ name: 'fe-net', subnet: '10.240.20.0/24', gateway: '10.240.20.1' });
    expect(http).toEqual(stdio);
    expect(rest).toEqual(stdio);
    expect(shell).toEqual(stdio);

    const responseUrl = fake.newResponseUrl();
    const ack = await signedPost(`${served.url}/slack/events`, slashForm('network get fe-net', 'UFE', 'CLAB', responseUrl), SECRET);
    expect(ack.status).toBe(200);
    const first = ack.body ? (ack.json() as { text?: string }) : {};
    const shown = first.text?.startsWith('⏳') ? (await fake.until('the answer', () => fake.responsesTo(responseUrl)[0])).body : first;
    const text = JSON.stringify(shown);
    for (const value of ['fe-net', '10.240.20.0/24', '10.240.20.1']) expect(text).toContain(value);
  });

  it('a refusal reads alike too, each in its own words', async () => {
    const args = { name: 'fe-none' };
    const shell = cli('call', 'network_get', JSON.stringify(args));
    expect(shell.status).toBe(1);
    expect(shell.stderr).toContain("network 'fe-none' not found");
    expect(shell.stderr).toContain('nslab call network_list');
    const rest = await fetch(`${served.url}/networks/fe-none`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(rest.status).toBe(404);
    const body = (await rest.json()) as { error: { message: string; hint: string } };
    expect(body.error.message).toBe("network 'fe-none' not found");
    expect(body.error.hint).toContain('GET /networks');
    const client = new Client({ name: 'front-ends', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${served.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } } }),
    );
    const mcp = (await client.callTool({ name: 'network_get', arguments: args })) as {
      isError?: boolean;
      content: Array<{ text?: string }>;
    };
    await client.close();
    expect(mcp.isError).toBe(true);
    expect(mcp.content[0]?.text).toContain("network 'fe-none' not found");
    expect(mcp.content[0]?.text).toContain('network_list');
  });
});
