import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import { createSlack, type SlackFrontEnd } from '../../src/slack/app.js';
import { sweep, testLab } from '../helpers/docker.js';
import { FakeSlack, slashForm } from '../helpers/fake-slack.js';

/**
 * Socket Mode (SLACK_APP_TOKEN): Bolt's SocketModeReceiver asks the (fake) Web API for a WebSocket
 * URL with apps.connections.open, connects to a local WebSocket server standing in for Slack, and
 * acknowledges a slash command envelope over the socket with the answer in its payload.
 */
const RUN = `slk-sock-${process.pid}`;
let fake: FakeSlack;
let wss: WebSocketServer;
let slack: SlackFrontEnd;
const received: Array<Record<string, unknown>> = [];
let socket: WebSocket | undefined;
let connections = 0;

beforeAll(async () => {
  fake = await new FakeSlack().start();
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  fake.socketUrl = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/link/?ticket=t1`;
  wss.on('connection', (ws) => {
    connections++;
    socket = ws;
    ws.on('message', (data) => received.push(JSON.parse(data.toString())));
    ws.send(JSON.stringify({ type: 'hello', num_connections: 1, connection_info: { app_id: 'A1' }, debug_info: { host: 'fake' } }));
  });
  const env = {
    SLACK_APP_TOKEN: 'xapp-test',
    SLACK_BOT_TOKEN: 'xoxb-test',
    SLACK_API_URL: fake.apiUrl,
    NSLAB_SLACK_OPERATORS: 'UOPER',
  };
  slack = createSlack(testLab(RUN), env) as SlackFrontEnd;
  expect(slack.mode).toBe('socket');
  await slack.start();
});

afterAll(async () => {
  await slack?.stop();
  for (const c of wss?.clients ?? []) c.terminate();
  await new Promise((r) => wss?.close(r));
  await fake?.stop();
  await sweep(RUN);
});

/** Send one slash command envelope as Slack does and wait for its acknowledgement. */
async function envelope(id: string, text: string, user = 'UREAD'): Promise<Record<string, unknown>> {
  const started = Date.now();
  socket?.send(
    JSON.stringify({
      envelope_id: id,
      type: 'slash_commands',
      accepts_response_payload: true,
      payload: slashForm(text, user, 'CLAB', fake.newResponseUrl()),
    }),
  );
  const ack = await fake.until(`the ack of ${id}`, () => received.find((m) => m.envelope_id === id));
  expect(Date.now() - started).toBeLessThan(3000);
  return (ack.payload ?? {}) as Record<string, unknown>;
}

describe('Slack /lab in Socket Mode', () => {
  it('connects with the URL apps.connections.open gave, using the app token', () => {
    expect(connections).toBe(1);
    const open = fake.callsOf('apps.connections.open');
    expect(open).toHaveLength(1);
  });

  it('acknowledges a slash command over the socket, with the answer in the payload', async () => {
    const help = await envelope('env-1', 'help');
    expect(help.response_type).toBe('ephemeral');
    expect(String(help.text)).toContain('*network*: list, get');
    const unknown = await envelope('env-2', 'netwrok list');
    expect(String(unknown.text)).toContain('did you mean network?');
    const operatorHelp = await envelope('env-3', 'network help', 'UOPER');
    expect(String(operatorHelp.text)).toContain('/lab network create <name> subnet=…');
  });

  it('refuses an HTTP request when only Socket Mode is configured', async () => {
    const { createServer } = await import('node:http');
    const server = createServer((req, res) => void slack.handle(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`, { method: 'POST', body: 'x=1' });
    expect(res.status).toBe(404);
    server.close();
  });
});
