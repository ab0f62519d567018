import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lab } from '../../src/core/lab.js';
import { createSlack, type SlackFrontEnd } from '../../src/slack/app.js';
import { phrase, runTool } from '../../tools/index.js';
import { sweep, testLab } from '../helpers/docker.js';
import { clickForm, FakeSlack, signedPost, slashForm } from '../helpers/fake-slack.js';

/**
 * Real Bolt (HTTPReceiver) in the app, signed requests over HTTP on 127.0.0.1, a local stand-in
 * for Slack's Web API and response_url, and the real Docker engine behind the tools.
 */
const SECRET = 'slk-signing-secret';
const RUN = `slk-${process.pid}`;
const ADMIN = 'UADMIN';
const OPERATOR = 'UOPER';
const READER = 'UREAD';
const CHANNEL = 'CLAB';
const docker = new Docker();

let fake: FakeSlack;
let lab: Lab;
let slack: SlackFrontEnd;
let server: Server;
let events: string;

/** Run `/lab <text>` as Slack would; returns the acknowledgement, its time and the response_url. */
async function lab_(text: string, user = READER, channel = CHANNEL) {
  const responseUrl = fake.newResponseUrl();
  const started = Date.now();
  const res = await signedPost(events, slashForm(text, user, channel, responseUrl), SECRET);
  return { ...res, ms: Date.now() - started, responseUrl, text: (res.body ? (res.json().text as string) : '') ?? '' };
}
const allText = (v: unknown): string => JSON.stringify(v);
/** A read's answer: in the acknowledgement when quick, else posted to the response_url after "⏳". */
async function answer(r: Awaited<ReturnType<typeof lab_>>): Promise<Record<string, unknown>> {
  if (!r.text.startsWith('⏳')) return r.json();
  return (await fake.until('the answer', () => fake.responsesTo(r.responseUrl)[0])).body;
}
const networkExists = (name: string) =>
  docker
    .getNetwork(name)
    .inspect()
    .then(() => true)
    .catch(() => false);

beforeAll(async () => {
  fake = await new FakeSlack().start();
  lab = testLab(RUN);
  const env = {
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_BOT_TOKEN: 'xoxb-test',
    SLACK_API_URL: fake.apiUrl,
    NSLAB_SLACK_ADMINS: ADMIN,
    NSLAB_SLACK_OPERATORS: OPERATOR,
    NSLAB_SLACK_CHANNELS: `${CHANNEL},COTHER`,
    NSLAB_SLACK_ALLOW_YES: '1',
  };
  slack = createSlack(lab, env, { updateIntervalMs: 100 }) as SlackFrontEnd;
  await slack.start();
  server = createServer((req, res) => void slack.handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  events = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
});

afterAll(async () => {
  await slack?.stop();
  server?.close();
  await fake?.stop();
  await sweep(RUN);
});

describe('Slack /lab over HTTP (real Bolt, signed requests)', () => {
  it('checks the bot token at start', () => {
    expect(fake.callsOf('auth.test')).toHaveLength(1);
  });

  it('help at three levels shows only what the caller may run', async () => {
    const top = await lab_('help');
    expect(top.status).toBe(200);
    expect(top.json().response_type).toBe('ephemeral');
    expect(top.text).toContain('*network*: list, get');
    expect(top.text).not.toContain('create');
    const asOperator = await lab_('help', OPERATOR);
    expect(asOperator.text).toMatch(/\*network\*: list, get, create ✏️/);
    expect(asOperator.text).not.toContain('delete');
    const resource = await lab_('daemon help', ADMIN);
    expect(resource.text).toContain('`/lab daemon create <name> kind=frr|gobgp|exabgp|bird|openbgpd asn=N');
    expect(resource.text).toContain('/lab daemon delete <name>` ⚠️');
    const tool = await lab_('daemon create --help', OPERATOR);
    expect(tool.text).toContain('`interfaces` (required): list of `network[:ip]`');
    expect(tool.text).toContain('/lab daemon status'); // descriptions in Slack's words, not daemon_status
    const denied = await lab_('network delete --help', OPERATOR);
    expect(denied.text).toContain('only admins (NSLAB_SLACK_ADMINS) may run it');
    for (const r of [top, asOperator, resource, tool, denied]) expect(r.ms).toBeLessThan(3000);
  });

  it('an unknown resource or verb gets a suggestion', async () => {
    expect((await lab_('netwrok list')).text).toContain("unknown resource 'netwrok': did you mean network?");
    expect((await lab_('network lsit')).text).toContain('did you mean `/lab network list`?');
  });

  it('a write by an operator runs, is posted in the channel and audited with the Slack user and channel', async () => {
    const r = await lab_('network create slk-net1 subnet=10.243.1.0/24', OPERATOR);
    expect(r.status).toBe(200);
    expect(r.ms).toBeLessThan(3000);
    const final = await fake.until('the result in the channel', () =>
      fake.callsOf('chat.update').find((c) => String(c.args.text).includes('✅') && String(c.args.text).includes('slk-net1')),
    );
    const post = fake.callsOf('chat.postMessage').find((c) => c.args.ts === undefined && String(c.args.text).includes('slk-net1'));
    expect(post?.args.channel).toBe(CHANNEL);
    expect(allText(final.args.blocks)).toMatch(/✅ <@UOPER> ran `\/lab network create slk-net1 subnet=10.243.1.0\/24` — done in \d/);
    expect(allText(final.args.blocks)).toContain('10.243.1.0/24');
    expect(await networkExists('slk-net1')).toBe(true);
    const audit = await lab.audit.list({ tool: 'network_create' });
    expect(audit[0]).toMatchObject({ front_end: 'slack', caller: `${OPERATOR}@${CHANNEL}`, ok: true });
  });

  it('a read answers the caller alone, as a table; --public shows it to the channel', async () => {
    const r = await lab_('network list');
    expect(r.json().response_type).toBe('ephemeral');
    expect(allText(r.json().blocks)).toMatch(/🟢 \*slk-net1\* present · subnet 10\.243\.1\.0\/24/);
    const pub = await lab_('network get slk-net1 --public');
    expect(pub.json().response_type).toBe('in_channel');
    expect(allText(pub.json().blocks)).toContain('🟢 present');
  });

  it('the same write by a user without rights is refused, says why, and changes nothing', async () => {
    const posts = fake.callsOf('chat.postMessage').length;
    const r = await lab_('network create slk-net2 subnet=10.243.2.0/24', READER);
    expect(r.json().response_type).toBe('ephemeral');
    expect(r.text).toContain('only operators (NSLAB_SLACK_OPERATORS) and admins may run it');
    expect(r.text).toContain(READER);
    expect(await networkExists('slk-net2')).toBe(false);
    expect(fake.callsOf('chat.postMessage')).toHaveLength(posts);
    const audit = await lab.audit.list({ tool: 'network_create', ok: false });
    expect(audit[0]).toMatchObject({ caller: `${READER}@${CHANNEL}`, error: 'FORBIDDEN' });
    const elsewhere = await lab_('network list', ADMIN, 'CRANDOM');
    expect(elsewhere.text).toContain('limited to <#CLAB>, <#COTHER> (NSLAB_SLACK_CHANNELS)');
  });

  it('a validation error names the field, in the same words as MCP', async () => {
    const r = await lab_('network create slk-bad subnet=banana', OPERATOR);
    const mcp = await runTool(lab, 'network_create', { name: 'slk-bad', subnet: 'banana' });
    expect(mcp.ok).toBe(false);
    expect(r.json().response_type).toBe('ephemeral');
    expect(r.text).toContain('subnet:');
    // The same text; only the tool's name reads as Slack's command (vocabulary of the front end).
    expect(r.text).toContain(mcp.ok ? 'a refusal' : phrase(mcp.error.message, 'slack'));
    expect(r.text).toContain('invalid input for /lab network create: subnet: banana is not an IPv4 prefix');
    expect(await networkExists('slk-bad')).toBe(false);
  });

  it('a destructive command waits for its author to click (and confirm); others cannot', async () => {
    const r = await lab_('network delete slk-net1', ADMIN);
    const blocks = r.json().blocks as Array<{ type: string; elements?: Array<{ action_id: string; value: string; confirm?: unknown }> }>;
    const button = blocks.find((b) => b.type === 'actions')?.elements?.find((e) => e.action_id === 'nslab_confirm');
    expect(button?.confirm).toBeDefined();
    await new Promise((res) => setTimeout(res, 300));
    expect(await networkExists('slk-net1')).toBe(true);

    const other = await signedPost(events, clickForm('nslab_confirm', button?.value ?? '', OPERATOR, CHANNEL, r.responseUrl), SECRET);
    expect(other.status).toBe(200);
    const refused = await fake.until('the refusal', () => fake.responsesTo(r.responseUrl)[0]);
    expect(refused.body.text).toContain(`only <@${ADMIN}>, who asked for it, can confirm`);
    expect(await networkExists('slk-net1')).toBe(true);

    const forged = await signedPost(
      events,
      clickForm('nslab_confirm', button?.value ?? '', ADMIN, CHANNEL, r.responseUrl),
      'not-the-secret',
    );
    expect(forged.status).toBe(401);
    expect(await networkExists('slk-net1')).toBe(true);

    await signedPost(events, clickForm('nslab_confirm', button?.value ?? '', ADMIN, CHANNEL, r.responseUrl), SECRET);
    await fake.until('the deletion', () =>
      fake
        .callsOf('chat.update')
        .find((c) => String(c.args.text).includes('✅') && String(c.args.text).includes('network delete slk-net1')),
    );
    expect(await networkExists('slk-net1')).toBe(false);
    expect(fake.responsesTo(r.responseUrl).some((x) => String(x.body.text).startsWith('Confirmed'))).toBe(true);
    const again = await signedPost(events, clickForm('nslab_confirm', button?.value ?? '', ADMIN, CHANNEL, r.responseUrl), SECRET);
    expect(again.status).toBe(200);
    await fake.until('no second run', () => fake.responsesTo(r.responseUrl).find((x) => String(x.body.text).includes('no longer waiting')));
  });

  it('a pasted topology is saved; its standup reports progress by updating one message, honouring 429 Retry-After', async () => {
    const yaml = [
      'name: slk',
      'networks:',
      '  core: { subnet: 10.243.3.0/24 }',
      'nodes:',
      '  r1: { kind: frr, asn: 65001, interfaces: { core: auto } }',
      '  r2: { kind: frr, asn: 65002, interfaces: { core: auto } }',
      '  h1: { kind: host, interfaces: { core: auto }, gateway: r1 }',
      'bgp:',
      '  sessions:',
      '    - [r1, r2]',
    ].join('\n');
    const created = await lab_(`topology create\n\`\`\`yaml\n${yaml}\n\`\`\``, OPERATOR);
    expect(created.status).toBe(200);
    await fake.until('the saved topology', () =>
      fake.callsOf('chat.update').find((c) => String(c.args.text).includes('✅') && String(c.args.text).includes('topology create')),
    );

    fake.rateLimits.push({ method: 'chat.update', retryAfterS: 1 });
    const r = await lab_('topology standup slk wait_established_s=90 --yes', ADMIN);
    expect(r.status).toBe(200);
    expect(r.ms).toBeLessThan(3000);
    const final = await fake.until(
      'the end of the standup',
      () => fake.callsOf('chat.update').find((c) => /(✅|❌).*topology standup slk /.test(String(c.args.text))),
      120_000,
    );
    expect(String(final.args.text)).toMatch(/✅ .* — done in \d/);
    const post = fake.callsOf('chat.postMessage').find((c) => String(c.args.text).includes('topology standup slk '));
    const updates = fake.callsOf('chat.update').filter((c) => c.args.ts === final.args.ts);
    // One message: every update edits the message posted at the start.
    expect(updates.length).toBeGreaterThanOrEqual(2);
    expect(updates.every((u) => u.args.channel === CHANNEL)).toBe(true);
    expect(
      updates.some((u) => String(u.args.text).startsWith('⏳') && /node \S+ up \(\d\/3\)|sessions Established/.test(String(u.args.text))),
    ).toBe(true);
    expect(post).toBeDefined();
    // After the 429, nothing was sent to chat.update before Retry-After had passed.
    const limited = fake.rateLimited.find((c) => c.method === 'chat.update');
    expect(limited).toBeDefined();
    const next = fake.callsOf('chat.update').find((c) => c.at > (limited?.at ?? 0));
    expect((next?.at ?? 0) - (limited?.at ?? 0)).toBeGreaterThanOrEqual(950);
    expect((await docker.getContainer('slk-h1').inspect()).State.Running).toBe(true);

    // BGP sessions per neighbor, marked: the read a user runs next.
    const status = await answer(await lab_('daemon status slk-r1'));
    expect(allText(status.blocks)).toMatch(/🟢 \*10\.243\.3\.\d+\* Established/);
    expect(allText(status.blocks)).toContain('🟢 running');
  });

  it('a graph as PNG is uploaded (files upload v2) and shown as an image', async () => {
    const r = await lab_('topology graph slk format=png');
    expect(r.ms).toBeLessThan(3000);
    const answer = await fake.until('the graph', () => fake.responsesTo(r.responseUrl).find((x) => allText(x.body).includes('slack_file')));
    expect(answer.body.response_type).toBe('ephemeral');
    const complete = fake.callsOf('files.completeUploadExternal').at(-1);
    const id = ((complete?.args.files ?? []) as Array<{ id: string }>)[0]?.id ?? '';
    expect(allText(answer.body.blocks)).toContain(`"slack_file":{"id":"${id}"}`);
    expect(fake.uploads.get(id)?.includes(Buffer.from('\x89PNG', 'latin1'))).toBe(true);
  });

  it('a long output is cut in the message and uploaded whole as a file in its thread', async () => {
    await lab_('host exec slk-h1 command="seq 1 20000" --yes', ADMIN);
    const final = await fake.until('the exec result', () =>
      fake.callsOf('chat.update').find((c) => String(c.args.text).includes('✅') && String(c.args.text).includes('host exec slk-h1')),
    );
    expect(allText(final.args.blocks)).toContain('too long for one message');
    const complete = await fake.until('the file in the thread', () =>
      fake.callsOf('files.completeUploadExternal').find((c) => c.args.thread_ts === final.args.ts),
    );
    expect(complete.args.channel_id).toBe(CHANNEL);
    const id = (complete.args.files as Array<{ id: string }>)[0]?.id ?? '';
    expect(fake.uploads.get(id)?.toString()).toContain('19999\\n20000');
  });

  it('refuses a bad signature, and a signed request stamped far in the past or the future, with 401', async () => {
    const form = slashForm('network list', ADMIN, CHANNEL, fake.newResponseUrl());
    expect((await signedPost(events, form, 'wrong-secret')).status).toBe(401);
    expect((await signedPost(events, form, SECRET, { signature: 'v0=deadbeef' })).status).toBe(401);
    const now = Math.floor(Date.now() / 1000);
    expect((await signedPost(events, form, SECRET, { timestamp: now - 600 })).status).toBe(401);
    expect((await signedPost(events, form, SECRET, { timestamp: now + 600 })).status).toBe(401);
    expect((await signedPost(events, form, SECRET, { timestamp: now })).status).toBe(200);
  });
});
