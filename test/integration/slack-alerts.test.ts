import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { StreamEvent } from '../../src/core/events/index.js';
import { createLab, type Lab } from '../../src/core/lab.js';
import { createSlack, type SlackFrontEnd } from '../../src/slack/app.js';
import { call, root, sweep, testEnv } from '../helpers/docker.js';
import { type ApiCall, clickForm, FakeSlack, signedPost } from '../helpers/fake-slack.js';

/**
 * Slack alerts end to end: a real lab (two FRR routers, one session), the lab's event stream in
 * this process, real Bolt (HTTPReceiver) taking signed clicks, and a local fake of Slack's Web API.
 */
const SECRET = 'slk-alert-signing-secret';
const RUN = `slka-${process.pid}`;
const READER = 'UREAD';
const ALERTS = 'CALERT';
const TOPO = 'slka';
const R1 = `${TOPO}-r1`;
const R2 = `${TOPO}-r2`;
const docker = promisify(execFile);
const YAML = [
  `name: ${TOPO}`,
  'networks: { core: { subnet: 10.176.1.0/24 } }',
  'nodes:',
  '  r1: { kind: frr, asn: 65201, interfaces: { core: auto } }',
  '  r2: { kind: frr, asn: 65202, interfaces: { core: auto } }',
  'bgp: { sessions: [ { a: r1, b: r2, hold_s: 3, keepalive_s: 1 } ] }',
].join('\n');

let fake: FakeSlack;
/** a second Slack app on the same lab, without NSLAB_SLACK_ALERT_CHANNEL */
let quiet: FakeSlack;
let lab: Lab;
let slack: SlackFrontEnd;
let quietSlack: SlackFrontEnd;
let server: Server;
let url: string;
let stopEvents: () => Promise<void>;
const heard: Array<StreamEvent & { at: number }> = [];
let alertTs: string | undefined;

const roots = (f = fake) => f.callsOf('chat.postMessage').filter((c) => c.args.thread_ts === undefined);
const text = (c: ApiCall | undefined) => String(c?.args.text ?? '');
const nodeAlert = () => roots().filter((c) => text(c).includes(`Router stopped: ${R2}`));
const heardAfter = (t: number, f: (e: StreamEvent) => boolean) =>
  fake.until('the event', () => heard.find((e) => e.at >= t && f(e)), 30_000);
const running = async (name: string) => (await docker('docker', ['inspect', '-f', '{{.State.Running}}', name])).stdout.trim() === 'true';

beforeAll(async () => {
  fake = await new FakeSlack().start();
  quiet = await new FakeSlack().start();
  lab = createLab(loadConfig({ ...process.env, ...testEnv(RUN), NSLAB_WATCH_INTERVAL_S: '1' }, {}, root));
  stopEvents = await lab.events.start({ persist: false });
  lab.events.on((e) => void heard.push({ ...e, at: Date.now() }));
  const env = {
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_BOT_TOKEN: 'xoxb-test',
    NSLAB_SLACK_CHANNELS: `CLAB,${ALERTS}`,
  };
  // A test posts more than 10 in a minute (each flap's recovery is a thread reply).
  slack = createSlack(
    lab,
    { ...env, SLACK_API_URL: fake.apiUrl, NSLAB_SLACK_ALERT_CHANNEL: ALERTS },
    { alerts: { perMinute: 120 } },
  ) as SlackFrontEnd;
  quietSlack = createSlack(lab, { ...env, SLACK_API_URL: quiet.apiUrl }) as SlackFrontEnd;
  await slack.start();
  await quietSlack.start();
  server = createServer((req, res) => void slack.handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
  await call(lab, 'topology_create', { yaml: YAML });
  const up = await call<{ established?: { all: boolean } }>(lab, 'topology_standup', { name: TOPO, wait_established_s: 90 });
  expect(up.established?.all).toBe(true);
}, 300_000);

afterAll(async () => {
  await slack?.stop();
  await quietSlack?.stop();
  await stopEvents?.();
  server?.close();
  await fake?.stop();
  await quiet?.stop();
  await sweep(RUN);
});

describe('Slack alerts (NSLAB_SLACK_ALERT_CHANNEL)', () => {
  it('posts a docker kill with buttons; a reader clicks Diagnose; the recovery goes in the thread', async () => {
    expect(slack.alerts?.channel).toBe(ALERTS);
    // Both routers read once (the silent baseline), the session Established.
    await fake.until('the baseline', () => lab.events.sessions().filter((s) => s.state === 'Established').length >= 2, 30_000);
    const killedAt = Date.now();
    await docker('docker', ['kill', R2]);
    const alert = await fake.until('the alert', () => nodeAlert()[0], 10_000);
    const ms = alert.at - killedAt;
    console.log(`docker kill -> Slack alert posted: ${ms} ms`);
    expect(ms).toBeLessThan(5000);
    expect(alert.args.channel).toBe(ALERTS);
    const blocks = JSON.stringify(alert.args.blocks);
    expect(blocks).toContain(`topology \`${TOPO}\``);
    expect(blocks).toContain('stopped outside netstream-lab');
    const actions = (alert.args.blocks as Array<{ type: string; elements?: Array<{ action_id: string; value: string }> }>).find(
      (b) => b.type === 'actions',
    );
    const diagnose = actions?.elements?.find((e) => e.action_id === 'nslab_alert_diagnose');
    const verify = actions?.elements?.find((e) => e.action_id === 'nslab_alert_verify');
    expect(JSON.parse(diagnose?.value ?? '{}')).toEqual({ tool: 'daemon_status', args: { name: R2 } });
    expect(JSON.parse(verify?.value ?? '{}')).toEqual({ tool: 'topology_verify', args: { name: TOPO } });
    alertTs = await fake.until('the ts', () => fake.callsOf('chat.update').find((c) => c.args.channel === ALERTS)?.args.ts as string);
    const ts = alertTs;

    // The session dropped with it: a line of the same alert, not a message of its own.
    await heardAfter(killedAt, (e) => e.type === 'session_down' && e.node === R1);
    await fake.until('the session line', () =>
      fake.callsOf('chat.update').find((c) => JSON.stringify(c.args.blocks).includes('BGP sessions down with it')),
    );
    expect(roots().filter((c) => c.args.channel === ALERTS)).toHaveLength(1);

    // A reader may run the read behind Diagnose; it answers the clicker, leaving the alert as it is.
    const responseUrl = fake.newResponseUrl();
    const click = await signedPost(url, clickForm('nslab_alert_diagnose', diagnose?.value ?? '', READER, ALERTS, responseUrl), SECRET);
    expect(click.status).toBe(200);
    const answer = await fake.until(
      'the diagnosis',
      () => fake.responsesTo(responseUrl).find((r) => !String(r.body.text).startsWith('⏳')),
      30_000,
    );
    expect(answer.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(String(answer.body.text)).toContain(`daemon status ${R2}`);
    expect(JSON.stringify(answer.body.blocks)).toContain(R2);
    console.log(`Diagnose answered: ${JSON.stringify(answer.body.blocks).slice(0, 600)}`);

    // A forged value naming another tool runs nothing.
    const forged = fake.newResponseUrl();
    await signedPost(
      url,
      clickForm('nslab_alert_diagnose', JSON.stringify({ tool: 'daemon_delete', args: { name: R2 } }), READER, ALERTS, forged),
      SECRET,
    );
    const no = await fake.until('the refusal', () => fake.responsesTo(forged)[0]);
    expect(String(no.body.text)).toContain('does not name a diagnosis');
    expect(await docker('docker', ['inspect', R2]).then(() => true)).toBe(true);

    // It comes back: a reply in the alert's thread, and the alert says it recovered.
    const startedAt = Date.now();
    await docker('docker', ['start', R2]);
    const reply = await fake.until('the recovery', () =>
      fake.callsOf('chat.postMessage').find((c) => c.args.thread_ts === ts && text(c).includes(`${R2}\` is running again`)),
    );
    console.log(`docker start -> recovery in the thread: ${reply.at - startedAt} ms`);
    await fake.until('the alert edited', () =>
      fake.callsOf('chat.update').find((c) => c.args.ts === ts && c.at >= startedAt && text(c).includes('recovered')),
    );
    await fake.until(
      'the session back, in the thread',
      () => fake.callsOf('chat.postMessage').find((c) => c.args.thread_ts === ts && text(c).includes('Established again')),
      60_000,
    );
  }, 120_000);

  it('a router that flaps makes one message with a count', async () => {
    const ts = alertTs;
    expect(ts).toBeDefined();
    for (let i = 2; i <= 4; i++) {
      const t = Date.now();
      await docker('docker', ['kill', R2]);
      await fake.until(`flap ${i}`, () =>
        fake.callsOf('chat.update').find((c) => c.args.ts === ts && c.at >= t && text(c).includes(`(×${i})`)),
      );
      await docker('docker', ['start', R2]);
      await fake.until(`recovery ${i}`, () =>
        fake.callsOf('chat.update').find((c) => c.args.ts === ts && c.at >= t && text(c).startsWith('🟢')),
      );
      expect(await running(R2)).toBe(true);
    }
    expect(nodeAlert()).toHaveLength(1);
    const last = fake
      .callsOf('chat.update')
      .filter((c) => c.args.ts === ts)
      .at(-1);
    expect(JSON.stringify(last?.args.blocks)).toContain('went down 4 times in 5 min');
  }, 120_000);

  it('escapes lab text: a node named with mrkdwn control text pings no one', async () => {
    // Docker names cannot hold `<` or `!`; the event stream carries what any source puts in it.
    lab.events.emit({
      type: 'node_died',
      node: '<!channel>',
      topology: TOPO,
      detail: { role: 'daemon', by: 'outside', drift: 'see <@U123> and <https://evil.example|this> & more' },
    });
    const post = await fake.until('the alert', () => roots().find((c) => text(c).includes('&lt;!channel&gt;')));
    const all = JSON.stringify({ text: post.args.text, blocks: post.args.blocks });
    expect(all).not.toMatch(/<!channel>|<@U123>|<https:/);
    expect(all).toContain('&lt;@U123&gt;');
    expect(all).toContain('&amp; more');
    // No button names what no tool could take.
    expect(all).not.toContain('nslab_alert_diagnose');
    expect(all).toContain('nslab_alert_verify');
  });

  it('without NSLAB_SLACK_ALERT_CHANNEL nothing is posted', async () => {
    expect(quietSlack.alerts).toBeUndefined();
    expect(quiet.callsOf('auth.test')).toHaveLength(1);
    expect(heard.filter((e) => e.type === 'node_died').length).toBeGreaterThanOrEqual(4);
    expect(quiet.callsOf('chat.postMessage')).toEqual([]);
    expect(quiet.callsOf('chat.update')).toEqual([]);
  });
});
