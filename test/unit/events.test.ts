import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { NeighborStatus } from '../../src/core/bgp/types.js';
import { Journal } from '../../src/core/events/journal.js';
import { Ring } from '../../src/core/events/ring.js';
import { SessionWatch } from '../../src/core/events/sessions.js';
import { EventStream } from '../../src/core/events/stream.js';
import { boundDetail, type EventInput, type StreamEvent } from '../../src/core/events/types.js';
import type { Lab } from '../../src/core/lab.js';
import { emptyState, type StoreState } from '../../src/core/store/schema.js';
import { EventFeeds, feedRequest, sseFrame } from '../../src/http/events.js';
import { touches } from '../../src/mcp/subscriptions.js';
import { eventsOfCall } from '../../tools/events.js';

const ev = (seq: number, extra: Partial<StreamEvent> = {}): StreamEvent => ({
  seq,
  time: new Date(0).toISOString(),
  type: 'node_died',
  detail: {},
  ...extra,
});
const tmp = () => mkdtempSync(join(tmpdir(), 'nslab-events-unit-'));

describe('the ring', () => {
  it('keeps the newest capacity events and finds events after a seq, with gaps', () => {
    const r = new Ring(3);
    for (const s of [1, 2, 4, 7, 9]) r.push(ev(s));
    expect(r.size).toBe(3);
    expect(r.oldest()?.seq).toBe(4);
    expect(r.after(0).map((e) => e.seq)).toEqual([4, 7, 9]);
    expect(r.after(4).map((e) => e.seq)).toEqual([7, 9]);
    expect(r.after(5).map((e) => e.seq)).toEqual([7, 9]);
    expect(r.next(9)).toBeUndefined();
    expect(r.countAfter(6)).toBe(2);
    expect(r.latest(2).map((e) => e.seq)).toEqual([7, 9]);
    expect(() => r.push(ev(9))).toThrow(/seq/);
  });
});

describe('the stream', () => {
  it('numbers events, replays from a seq, filters, and follows with for-await', async () => {
    const s = new EventStream({ capacity: 100 });
    s.emit({ type: 'node_died', node: 'a-r1', topology: 'a', detail: {} });
    s.emit({ type: 'node_started', node: 'b-r1', topology: 'b', detail: {} });
    const sub = s.subscribe({ since: 0, filter: { topology: 'a' } });
    const got: number[] = [];
    const reading = (async () => {
      for await (const e of sub) {
        got.push(e.seq);
        if (got.length === 2) break;
      }
    })();
    s.emit({ type: 'session_down', node: 'a-r2', topology: 'a', detail: { peer: '10.0.0.1', from: 'Established', to: 'Idle' } });
    await reading;
    expect(got).toEqual([1, 3]);
    expect(sub.ended).toBe('closed');
    expect(s.subscribers).toBe(0);
    expect(s.list({ limit: 10, types: ['node_started'] }).map((e) => e.seq)).toEqual([2]);
    expect(s.list({ since: 1, limit: 1 }).map((e) => e.seq)).toEqual([2]);
  });

  it('drops a subscriber that falls more than maxQueue events behind, and keeps no copy for it', () => {
    const s = new EventStream({ capacity: 1000 });
    for (let i = 0; i < 50; i++) s.emit({ type: 'drift', detail: { i } });
    // A replay of 50 does not count against a queue of 10; what comes after does.
    const slow = s.subscribe({ since: 0, maxQueue: 10 });
    const fast = s.subscribe({ maxQueue: 10 });
    let fastGot = 0;
    fast.onReady(() => {
      while (fast.take()) fastGot++;
    });
    for (let i = 0; i < 10; i++) s.emit({ type: 'drift', detail: {} });
    expect(slow.ended).toBeUndefined();
    s.emit({ type: 'drift', detail: {} });
    expect(slow.ended).toBe('slow');
    expect(slow.take()).toBeUndefined();
    expect(fast.ended).toBeUndefined();
    expect(fastGot).toBe(11);
    expect(s.listening).toBe(1);
  });

  it('cuts long text and deep or large details', () => {
    const d = boundDetail({
      text: 'x'.repeat(5000),
      list: Array.from({ length: 50 }, (_, i) => i),
      deep: { a: { b: { c: { d: { e: 1 } } } } },
    });
    expect((d.text as string).length).toBeLessThanOrEqual(301);
    expect(d.list).toHaveLength(10);
    expect(JSON.stringify(d)).not.toContain('"e"');
    const big = boundDetail(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, 'y'.repeat(300)])));
    expect(big).toEqual({ note: expect.stringContaining('cut') });
  });
});

describe('the journal', () => {
  it('keeps history on disk so that a restarted stream goes on numbering after it', async () => {
    const dir = tmp();
    const a = await Journal.open(dir, 100);
    expect(a.journal).toBeDefined();
    // A second process on the same data folder keeps its stream in memory only.
    const b = await Journal.open(dir, 100);
    expect(b.journal).toBeUndefined();
    expect(b.why).toMatch(/held by another process/);
    const s1 = new EventStream({ capacity: 100, sink: (e) => a.journal?.append(e) });
    for (let i = 0; i < 5; i++) s1.emit({ type: 'node_started', node: `n${i}`, detail: {} });
    await a.journal?.close();
    writeFileSync(join(dir, 'events.jsonl'), '{"seq": "bad"\nnot json\n', { flag: 'a' });
    const c = await Journal.open(dir, 3);
    expect(c.history.map((e) => e.seq)).toEqual([3, 4, 5]);
    const s2 = new EventStream({ capacity: 100 });
    s2.restore(c.history);
    expect(s2.emit({ type: 'drift', detail: {} }).seq).toBe(6);
    await c.journal?.close();
  });

  it('rotates at its size, so at most two files of it stay', async () => {
    const dir = tmp();
    const { journal } = await Journal.open(dir, 10_000, { maxBytes: 4096 });
    const s = new EventStream({ capacity: 10_000, sink: (e) => journal?.append(e) });
    for (let i = 0; i < 400; i++) {
      s.emit({ type: 'drift', detail: { text: 'z'.repeat(100) } });
      if (i % 20 === 0) await new Promise((r) => setImmediate(r));
    }
    await journal?.close();
    expect(statSync(join(dir, 'events.jsonl')).size).toBeLessThanOrEqual(4096);
    expect(statSync(join(dir, 'events.1.jsonl')).size).toBeLessThanOrEqual(4096);
    const again = await Journal.open(dir, 10_000, { maxBytes: 4096 });
    const seqs = again.history.map((e) => e.seq);
    expect(seqs[seqs.length - 1]).toBe(400);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(readFileSync(join(dir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).length).toBeGreaterThan(0);
    await again.journal?.close();
  });
});

describe('Server-Sent Events', () => {
  it('frames an event with its seq as id and its type as event, one data line per line', () => {
    const e = ev(42, { type: 'session_down', node: 'r1', detail: { peer: '10.0.0.2', from: 'Established', to: 'Active' } });
    const f = sseFrame(e);
    expect(f).toBe(`id: 42\nevent: session_down\ndata: ${JSON.stringify(e)}\n\n`);
    expect(f.endsWith('\n\n')).toBe(true);
  });

  it('resumes from Last-Event-ID over ?since=, and refuses what is not a seq, type or topology', () => {
    const req = (h: Record<string, string>) => ({ headers: h }) as never;
    expect(feedRequest(req({ 'last-event-id': '17' }), new URL('http://x/events?since=3'))).toEqual({ ok: true, since: 17 });
    expect(feedRequest(req({}), new URL('http://x/events?since=3&types=node_died,drift&topology=lab1'))).toEqual({
      ok: true,
      since: 3,
      types: ['node_died', 'drift'],
      topology: 'lab1',
    });
    expect(feedRequest(req({ 'last-event-id': '-1' }), new URL('http://x/events'))).toMatchObject({ ok: false });
    expect(feedRequest(req({}), new URL('http://x/events?types=nope'))).toMatchObject({ ok: false, message: /unknown event type/ });
    expect(feedRequest(req({}), new URL('http://x/events?topology=../x'))).toMatchObject({ ok: false });
  });

  it('gives a reading client every event and drops one that does not read, without buffering for it', async () => {
    const stream = new EventStream({ capacity: 10_000 });
    const lab = { events: { subscribe: (o: never) => stream.subscribe(o), stream } } as unknown as Lab;
    const feeds = new EventFeeds(lab, { maxReaders: 5, heartbeatMs: 60_000, maxQueue: 64, stallMs: 60_000 });
    const server = createServer((req, res) => feeds.handle(req, res, new URL(req.url ?? '/', 'http://x')));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      // The reader that reads.
      const seen: number[] = [];
      let text = '';
      const reader = request({ port, host: '127.0.0.1', path: '/events' });
      reader.end();
      const res = await new Promise<import('node:http').IncomingMessage>((r) => reader.once('response', r));
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
        for (let i = text.indexOf('\n\n'); i >= 0; i = text.indexOf('\n\n')) {
          const m = /^id: (\d+)$/m.exec(text.slice(0, i));
          if (m) seen.push(Number(m[1]));
          text = text.slice(i + 2);
        }
      });
      // The one that never reads: its socket fills, then it falls behind and is cut.
      const mute = connect(port, '127.0.0.1');
      mute.write('GET /events HTTP/1.1\r\nHost: x\r\n\r\n');
      mute.pause();
      await new Promise((r) => setTimeout(r, 100));
      expect(feeds.size).toBe(2);
      const big = 'w'.repeat(290);
      const total = 4000;
      for (let i = 0; i < total; i++) {
        stream.emit({ type: 'drift', detail: { a: big, b: big, c: big, d: big, e: big, f: big, g: big, h: big, i: big, j: big } });
        if (i % 50 === 0) await new Promise((r) => setTimeout(r, 2));
      }
      const deadline = Date.now() + 20_000;
      while ((seen.length < total || feeds.size > 1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      // The mute reader was cut (its socket destroyed by the server); the other got all, in order.
      expect(feeds.size).toBe(1);
      expect(seen).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      expect(feeds.size).toBe(1);
      reader.destroy();
      mute.destroy();
    } finally {
      feeds.closeAll();
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('what tool calls add to the stream', () => {
  it('faults, verify results, standup and teardown; nothing for reads or dry runs', () => {
    expect(
      eventsOfCall(
        'fault_inject',
        { kind: 'link_down', topology: 't1' },
        { id: 'f-1', kind: 'link_down', target: 't1-r1 on t1-core', node: 't1-r1' },
      ),
    ).toEqual([
      { type: 'fault_injected', topology: 't1', node: 't1-r1', detail: { id: 'f-1', kind: 'link_down', target: 't1-r1 on t1-core' } },
    ]);
    expect(
      eventsOfCall(
        'fault_clear',
        { id: 'all' },
        {
          cleared: [
            { id: 'f-1', kind: 'node_pause', target: 'x', node: 'x' },
            { id: 'f-2', kind: 'daemon_kill', target: 'y' },
          ],
        },
      ),
    ).toHaveLength(2);
    const failed = eventsOfCall(
      'topology_verify',
      { name: 't1' },
      { passed: false, summary: '1 of 2 failed', checks: [{ ok: true }, { ok: false }], failures: ['x'] },
    )[0];
    expect(failed).toMatchObject({ type: 'verify_failed', topology: 't1', detail: { checks: 2, failed: 1 } });
    expect(eventsOfCall('lab_check', {}, { passed: true, checks: [] })[0]?.type).toBe('verify_passed');
    expect(eventsOfCall('topology_standup', { name: 't1' }, { dry_run: true })).toEqual([]);
    expect(eventsOfCall('topology_standup', { name: 't1' }, { dry_run: false, plan: { summary: { create: 3 } } })[0]).toMatchObject({
      type: 'standup_done',
      topology: 't1',
    });
    expect(eventsOfCall('topology_teardown', { name: 't1' }, { removed: { containers: 2 } })[0]?.type).toBe('teardown_done');
    expect(eventsOfCall('daemon_list', {}, {})).toEqual([]);
  });

  it('tells which subscribed resources an event touches', () => {
    const down = ev(1, { type: 'session_down', topology: 't1', node: 't1-r1', detail: { peer_node: 't1-r2' } });
    expect(touches('nslab://topology/t1/status', down)).toBe(true);
    expect(touches('nslab://topology/t2/status', down)).toBe(false);
    expect(touches('nslab://daemon/t1-r2/status', down)).toBe(true);
    expect(touches('nslab://daemon/t1-r3/status', down)).toBe(false);
    expect(touches('nslab://events', down)).toBe(true);
    expect(touches('nslab://topology/t1/file', down)).toBe(false);
  });
});

describe('BGP session states', () => {
  const state = (): StoreState => {
    const s = emptyState();
    const d = (name: string, ip: string) => ({
      name,
      kind: 'frr' as const,
      asn: 65001,
      router_id: ip,
      interfaces: [{ network: 'n', ip }],
      neighbors: [],
      advertise: [],
      topology: 't',
      desired: 'running' as const,
      created_at: '',
    });
    s.daemons['t-r1'] = d('t-r1', '10.170.0.1');
    s.daemons['t-r2'] = d('t-r2', '10.170.0.2');
    return s;
  };

  it('says session_up and session_down with from and to after a silent first read, and takes a dead node down at once', async () => {
    const events: EventInput[] = [];
    let r1: NeighborStatus[] | undefined = [{ address: '10.170.0.2', asn: 65001, state: 'Active' }];
    const w = new SessionWatch({
      read: async () => state(),
      neighborStates: async (n) => (n === 't-r1' ? r1 : [{ address: '10.170.0.1', asn: 65001, state: 'Established' }]),
      emit: (e) => events.push(e),
      listening: () => 1,
      intervalMs: 1000,
      idleMs: 60_000,
    });
    await w.poll();
    expect(events).toEqual([]);
    r1 = [{ address: '10.170.0.2', asn: 65001, state: 'Established' }];
    await w.poll();
    expect(events).toEqual([
      {
        type: 'session_up',
        node: 't-r1',
        topology: 't',
        detail: { peer: '10.170.0.2', peer_node: 't-r2', peer_asn: 65001, from: 'Active', to: 'Established' },
      },
    ]);
    await w.nodeDied('t-r2');
    expect(events[1]).toMatchObject({
      type: 'session_down',
      node: 't-r2',
      detail: { peer_node: 't-r1', from: 'Established', to: 'Idle', reason: 'node died' },
    });
    // r1's daemon stops answering: once may be a slow exec, twice is down.
    r1 = undefined;
    await w.poll();
    expect(events).toHaveLength(2);
    await w.poll();
    expect(events[2]).toMatchObject({ type: 'session_down', node: 't-r1', detail: { reason: 'daemon not answering' } });
    expect(w.sessions()).toContainEqual({ node: 't-r1', topology: 't', peer: '10.170.0.2', peer_node: 't-r2', state: 'Idle' });
  });
});

describe('NSLAB_WATCH_INTERVAL_S', () => {
  it('defaults to 5 and refuses what is not a number of seconds in range', () => {
    expect(loadConfig({}).watchIntervalS).toBe(5);
    expect(loadConfig({ NSLAB_WATCH_INTERVAL_S: '1.5' }).watchIntervalS).toBe(1.5);
    expect(() => loadConfig({ NSLAB_WATCH_INTERVAL_S: 'often' })).toThrow(/NSLAB_WATCH_INTERVAL_S=often is not a number/);
    expect(() => loadConfig({ NSLAB_WATCH_INTERVAL_S: '0' })).toThrow(/between 0.5 and 3600/);
  });
});
