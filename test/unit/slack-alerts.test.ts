import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamEvent } from '../../src/core/events/index.js';
import type { Lab } from '../../src/core/lab.js';
import { AlertBook, alertKey, alertMessage, PostBudget, SlackAlerts } from '../../src/slack/alerts.js';
import { SlackApi } from '../../src/slack/api.js';
import { alertCall } from '../../src/slack/commands.js';
import { loadSlackConfig } from '../../src/slack/settings.js';
import { FakeSlack } from '../helpers/fake-slack.js';

/** The alert logic with a fake clock: flap counting, recoveries, the post budget, escaping. */
let seq = 0;
const T0 = Date.parse('2025-01-01T12:00:00Z');
function ev(
  type: StreamEvent['type'],
  node: string | undefined,
  detail: Record<string, unknown> = {},
  at = T0,
  topology = 'lab1',
): StreamEvent {
  return { seq: ++seq, time: new Date(at).toISOString(), type, topology, ...(node ? { node } : {}), detail };
}
const died = (node: string, at = T0) => ev('node_died', node, { role: 'daemon', by: 'outside', exit_code: 137 }, at);
const started = (node: string, at = T0) => ev('node_started', node, { role: 'daemon' }, at);
const sdown = (node: string, peerNode: string, at = T0, reason?: string) =>
  ev('session_down', node, { peer: '10.0.0.2', peer_node: peerNode, from: 'Established', to: 'Idle', ...(reason ? { reason } : {}) }, at);
const sup = (node: string, peerNode: string, at = T0) =>
  ev('session_up', node, { peer: '10.0.0.2', peer_node: peerNode, from: 'Active', to: 'Established' }, at);
const ops = (a: Array<{ op: string }>) => a.map((x) => x.op);
const MIN = 60_000;

describe('AlertBook (fake time)', () => {
  it('posts the first down, replies and edits on recovery', () => {
    const book = new AlertBook(T0);
    const first = book.event(died('lab1-r2'), T0);
    expect(ops(first)).toEqual(['post']);
    const up = book.event(started('lab1-r2', T0 + 5000), T0 + 5000);
    expect(ops(up)).toEqual(['update', 'reply']);
    const reply = up[1] as { text: string };
    expect(reply.text).toContain('Recovered');
    expect(reply.text).toContain('after 5 s');
    // A recovery with no alert open says nothing.
    expect(book.event(started('lab1-r9'), T0)).toEqual([]);
    // Events that are not alerts or recoveries are ignored.
    expect(book.event(ev('standup_done', undefined), T0)).toEqual([]);
  });

  it('counts a flapping key in one message within the window, and posts again after it', () => {
    const book = new AlertBook(T0);
    let t = T0;
    expect(ops(book.event(died('lab1-r2', t), t))).toEqual(['post']);
    for (let i = 2; i <= 5; i++) {
      t += 20_000;
      book.event(started('lab1-r2', t), t);
      t += 20_000;
      expect(ops(book.event(died('lab1-r2', t), t))).toEqual(['update']);
      expect(book.alert('node:lab1-r2')?.count).toBe(i);
    }
    const a = book.alert('node:lab1-r2');
    if (!a) throw new Error('no alert');
    const msg = alertMessage(a, [], 5 * MIN);
    expect(JSON.stringify(msg.blocks)).toContain('went down 5 times in 5 min');
    expect(msg.text).toContain('(×5)');
    // Still down long after: the same message (the recovery still finds it).
    t += 30 * MIN;
    expect(ops(book.event(died('lab1-r2', t), t))).toEqual(['update']);
    expect(ops(book.event(started('lab1-r2', t + 1), t + 1))).toEqual(['update', 'reply']);
    // Recovered, then quiet for longer than the window: a new message.
    t += 6 * MIN;
    expect(ops(book.event(died('lab1-r2', t), t))).toEqual(['post']);
    expect(book.alert('node:lab1-r2')?.count).toBe(1);
  });

  it('one session is one key from either end; a session that dies with its node is a line of the node alert', () => {
    expect(alertKey(sdown('a', 'b'))?.key).toBe(alertKey(sdown('b', 'a'))?.key);
    const book = new AlertBook(T0);
    expect(ops(book.event(sdown('lab1-r1', 'lab1-r2'), T0))).toEqual(['post']);
    expect(ops(book.event(sdown('lab1-r2', 'lab1-r1'), T0 + 1000))).toEqual(['update']);
    expect(book.alert('session:lab1-r1~lab1-r2')?.count).toBe(1);
    expect(ops(book.event(sup('lab1-r2', 'lab1-r1', T0 + 2000), T0 + 2000))).toEqual(['update', 'reply']);

    const b2 = new AlertBook(T0);
    expect(ops(b2.event(died('lab1-r2'), T0))).toEqual(['post']);
    expect(ops(b2.event(sdown('lab1-r2', 'lab1-r1', T0, 'node died'), T0))).toEqual(['update']);
    expect(ops(b2.event(sdown('lab1-r1', 'lab1-r2'), T0 + 3000))).toEqual(['update']);
    const node = b2.alert('node:lab1-r2');
    expect(node?.also.size).toBe(1);
    expect(b2.size).toBe(1);
    b2.event(started('lab1-r2', T0 + 9000), T0 + 9000);
    const back = b2.event(sup('lab1-r1', 'lab1-r2', T0 + 12_000), T0 + 12_000);
    expect(ops(back)).toEqual(['update', 'reply']);
    expect((back[1] as { text: string }).text).toContain('Established again');
    expect(node?.also.size).toBe(0);
  });

  it('a verify that fails is recovered by one that passes for the same topology', () => {
    const book = new AlertBook(T0);
    expect(
      ops(book.event(ev('verify_failed', undefined, { summary: '1 of 2 checks hold; 1 fail', failures: ['session a~b'] }), T0)),
    ).toEqual(['post']);
    expect(book.event(ev('verify_passed', undefined, {}, T0, 'other'), T0)).toEqual([]);
    expect(ops(book.event(ev('verify_passed', undefined, { summary: '2 of 2 checks hold' }, T0 + 1), T0 + 1))).toEqual(['update', 'reply']);
  });

  it('limits new posts per minute in all; what is held back is summed up once the budget allows', () => {
    const book = new AlertBook(T0, { perMinute: 3 });
    const posted = [];
    for (let i = 0; i < 50; i++) posted.push(...book.event(died(`lab1-n${i}`), T0 + i));
    expect(ops(posted)).toEqual(['post', 'post', 'post']);
    expect(book.held).toBe(47);
    // A held-back alert's recovery posts nothing.
    expect(book.event(started('lab1-n10'), T0 + 100)).toEqual([]);
    expect(book.tick(T0 + 1000)).toEqual([]);
    const summary = book.tick(T0 + 20_001);
    expect(summary).toEqual([{ op: 'summary', held: 47, since: T0 + 3 }]);
    expect(book.held).toBe(0);
    // The storm over, the budget refills: posts again.
    expect(ops(book.event(died('lab1-late', T0 + 2 * MIN), T0 + 2 * MIN))).toEqual(['post']);
  });

  it('the budget refills evenly and never beyond a minute of posts', () => {
    const b = new PostBudget(6, T0);
    for (let i = 0; i < 6; i++) expect(b.take(T0)).toBe(true);
    expect(b.take(T0)).toBe(false);
    expect(b.take(T0 + 9_999)).toBe(false);
    expect(b.take(T0 + 10_000)).toBe(true);
    expect(b.available(T0 + 60 * MIN)).toBe(6);
  });

  it('remembers a bounded number of alerts', () => {
    const book = new AlertBook(T0, { perMinute: 1_000_000, maxAlerts: 100 });
    for (let i = 0; i < 1000; i++) {
      book.event(died(`lab1-n${i}`), T0 + i);
      book.event(started(`lab1-n${i}`), T0 + i);
    }
    expect(book.size).toBeLessThanOrEqual(100);
  });
});

describe('alert messages', () => {
  it('escape lab text: control sequences in names and details do not ping anyone', () => {
    const book = new AlertBook(T0);
    const [p] = book.event(
      ev('node_died', '<!channel>', { role: 'daemon', by: 'outside', drift: 'hi <@U123> & <https://evil|click>' }, T0, '<!here>'),
      T0,
    );
    const msg = alertMessage((p as { alert: Parameters<typeof alertMessage>[0] }).alert, [], 5 * MIN);
    const all = JSON.stringify(msg);
    expect(all).not.toMatch(/<!channel>|<!here>|<@U123>|<https:/);
    expect(all).toContain('&lt;!channel&gt;');
    expect(all).toContain('&lt;@U123&gt; &amp;');
  });

  it('buttons carry only the alert tools, with string arguments', () => {
    expect(alertCall(JSON.stringify({ tool: 'daemon_status', args: { name: 'r1' } }))).toEqual({
      tool: 'daemon_status',
      args: { name: 'r1' },
    });
    expect(alertCall(JSON.stringify({ tool: 'daemon_delete', args: { name: 'r1' } }))).toBeUndefined();
    expect(alertCall(JSON.stringify({ tool: 'daemon_status', args: { name: 1 } }))).toBeUndefined();
    expect(alertCall('{"tool":"daemon_status","args":{"__proto__":"x"}}')).toBeUndefined();
    expect(alertCall('not json')).toBeUndefined();
  });
});

describe('NSLAB_SLACK_ALERT_CHANNEL', () => {
  const base = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' };
  it('is a channel id, and one where /lab works', () => {
    expect(loadSlackConfig(base)?.alertChannel).toBeUndefined();
    expect(loadSlackConfig({ ...base, NSLAB_SLACK_ALERT_CHANNEL: ' ' })?.alertChannel).toBeUndefined();
    expect(loadSlackConfig({ ...base, NSLAB_SLACK_ALERT_CHANNEL: 'C0123ABCD' })?.alertChannel).toBe('C0123ABCD');
    expect(() => loadSlackConfig({ ...base, NSLAB_SLACK_ALERT_CHANNEL: '#lab-alerts' })).toThrow(/not a channel id/);
    expect(() => loadSlackConfig({ ...base, NSLAB_SLACK_ALERT_CHANNEL: 'C0123ABCD', NSLAB_SLACK_CHANNELS: 'CLAB' })).toThrow(
      /not in NSLAB_SLACK_CHANNELS/,
    );
  });
});

describe('SlackAlerts against the fake Slack (fake clock for the book)', () => {
  let fake: FakeSlack;
  const listeners: Array<(e: StreamEvent) => void> = [];
  const lab = {
    events: {
      start: async () => async () => {},
      on: (l: (e: StreamEvent) => void) => {
        listeners.push(l);
        return () => listeners.splice(listeners.indexOf(l), 1);
      },
      retain: () => () => {},
    },
    store: { read: async () => ({ daemons: { 'lab1-r2': {} }, hosts: {}, tunnels: {} }) },
  } as unknown as Lab;
  beforeAll(async () => {
    fake = await new FakeSlack().start();
  });
  afterAll(() => fake?.stop());

  it('posts, edits one message per flap, replies in its thread, and waits out a 429 on an edit', async () => {
    let now = T0;
    const alerts = new SlackAlerts(lab, new SlackApi('xoxb-test', fake.apiUrl), 'CALERT', { now: () => now });
    await alerts.start();
    const emit = (e: StreamEvent) => {
      for (const l of listeners) l(e);
    };
    emit(died('lab1-r2'));
    await alerts.idle();
    const post = fake.callsOf('chat.postMessage')[0];
    expect(post?.args.channel).toBe('CALERT');
    const buttons = JSON.stringify(post?.args.blocks);
    expect(buttons).toContain('nslab_alert_diagnose');
    expect(buttons).toContain('{\\"tool\\":\\"daemon_status\\",\\"args\\":{\\"name\\":\\"lab1-r2\\"}}');
    expect(buttons).toContain('nslab_alert_verify');
    now += 10_000;
    fake.rateLimits.push({ method: 'chat.update', retryAfterS: 1 });
    emit(started('lab1-r2', now));
    await alerts.idle();
    const limited = fake.rateLimited.find((c) => c.method === 'chat.update');
    const edit = fake.callsOf('chat.update')[0];
    expect((edit?.at ?? 0) - (limited?.at ?? 0)).toBeGreaterThanOrEqual(950);
    expect(String(edit?.args.text)).toContain('recovered');
    const threadReply = fake.callsOf('chat.postMessage').find((c) => c.args.thread_ts !== undefined);
    expect(threadReply?.args.thread_ts).toBe(edit?.args.ts);
    expect(String(threadReply?.args.text)).toContain('Recovered');
    for (let i = 0; i < 3; i++) {
      now += 10_000;
      emit(died('lab1-r2', now));
      now += 10_000;
      emit(started('lab1-r2', now));
    }
    emit(died('lab1-r2', now + 1));
    await alerts.idle();
    const roots = fake.callsOf('chat.postMessage').filter((c) => c.args.thread_ts === undefined);
    expect(roots).toHaveLength(1);
    expect(String(fake.callsOf('chat.update').at(-1)?.args.text)).toContain('(×5)');
    await alerts.stop();
    expect(listeners).toHaveLength(0);
  });
});
