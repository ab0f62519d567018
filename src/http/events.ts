import type { IncomingMessage, ServerResponse } from 'node:http';
import { EVENT_TYPES, type EventType, isEventType, type StreamEvent } from '../core/events/index.js';
import type { Lab } from '../core/lab.js';
import { TopologyName } from '../core/topology/spec.js';
import { sendError } from './reply.js';

/** Bounds of GET /events (Server-Sent Events). */
export interface SseLimits {
  /** readers at once; past it a newcomer gets 503 */
  maxReaders: number;
  /** a comment line this often, so proxies and clients see the stream alive */
  heartbeatMs: number;
  /** events that may wait for one reader whose socket is full; one more and it is dropped */
  maxQueue: number;
  /** a reader whose socket stays full this long is dropped, however few events wait */
  stallMs: number;
}

export const SSE_LIMITS: SseLimits = { maxReaders: 200, heartbeatMs: 15_000, maxQueue: 256, stallMs: 30_000 };

/** One event as an SSE frame: `id:` is the seq (Last-Event-ID resumes after it), `event:` its type, `data:` the JSON. */
export function sseFrame(e: StreamEvent): string {
  return `id: ${e.seq}\nevent: ${e.type}\n${sseData(JSON.stringify(e))}\n`;
}

/** data lines of a text (each line of it on its own `data:` line, as the format wants). */
export function sseData(text: string): string {
  return text
    .split(/\r\n|\r|\n/)
    .map((l) => `data: ${l}\n`)
    .join('');
}

/** A comment: readers ignore it; it keeps the connection visibly alive. */
export function sseComment(text: string): string {
  return `: ${text.replace(/[\r\n]+/g, ' ')}\n\n`;
}

/** Frames are made once per event, however many readers get it. */
const frames = new WeakMap<StreamEvent, string>();
const frameOf = (e: StreamEvent): string => {
  let f = frames.get(e);
  if (f === undefined) {
    f = sseFrame(e);
    frames.set(e, f);
  }
  return f;
};

type Parsed = { ok: true; since?: number; types?: EventType[]; topology?: string } | { ok: false; message: string };

/** Where to resume and what to keep: Last-Event-ID (a browser's reconnect) over ?since=, ?types=a,b, ?topology=. */
export function feedRequest(req: IncomingMessage, url: URL): Parsed {
  const header = req.headers['last-event-id'];
  const raw = (typeof header === 'string' && header.trim()) || url.searchParams.get('since') || undefined;
  const out: Parsed = { ok: true };
  if (raw !== undefined) {
    if (!/^\d{1,15}$/.test(raw.trim()))
      return { ok: false, message: `Last-Event-ID / since '${raw.slice(0, 40)}' is not an event seq (a number)` };
    out.since = Number(raw.trim());
  }
  const types = url.searchParams.get('types');
  if (types) {
    const list = types.split(',').map((t) => t.trim());
    const bad = list.filter((t) => !isEventType(t));
    if (bad.length) return { ok: false, message: `unknown event type ${bad[0]?.slice(0, 40)}; the types are ${EVENT_TYPES.join(', ')}` };
    out.types = list as EventType[];
  }
  const topology = url.searchParams.get('topology');
  if (topology !== null) {
    if (!TopologyName.safeParse(topology).success)
      return { ok: false, message: `topology '${topology.slice(0, 40)}' is not a topology name` };
    out.topology = topology;
  }
  return out;
}

/**
 * GET /events: the lab's event stream as Server-Sent Events. Each reader is a subscription (a
 * cursor into the stream's ring, no copy); what it writes respects the socket's backpressure: while
 * the socket is full nothing more is written, and a reader that falls maxQueue events behind, or
 * stays full for stallMs, is dropped (an `event: dropped` frame when it can still be written).
 */
export class EventFeeds {
  readonly #readers = new Set<() => void>();

  constructor(
    private readonly lab: Lab,
    private readonly limits: SseLimits = SSE_LIMITS,
  ) {}

  get size(): number {
    return this.#readers.size;
  }

  handle(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const p = feedRequest(req, url);
    if (req.method !== 'GET') {
      res.setHeader('Allow', 'GET');
      sendError(
        res,
        405,
        'METHOD_NOT_ALLOWED',
        `${req.method} /events: the event stream is read with GET`,
        'GET /events/list lists past events as JSON',
      );
    } else if (!p.ok) {
      sendError(res, 400, 'INVALID_INPUT', p.message);
    } else if (this.#readers.size >= this.limits.maxReaders) {
      res.setHeader('Retry-After', '5');
      sendError(res, 503, 'TOO_MANY_READERS', `the event stream has ${this.limits.maxReaders} readers already`, 'try again later');
    } else {
      this.#follow(req, res, p);
    }
  }

  #follow(req: IncomingMessage, res: ServerResponse, p: { since?: number; types?: EventType[]; topology?: string }): void {
    const sub = this.lab.events.subscribe({
      since: p.since,
      filter: { types: p.types, topology: p.topology },
      maxQueue: this.limits.maxQueue,
    });
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
    });
    req.socket.setNoDelay(true);
    let blocked = false;
    let stall: NodeJS.Timeout | undefined;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearInterval(beat);
      if (stall) clearTimeout(stall);
      sub.close();
      this.#readers.delete(stop);
    };
    const stop = () => sub.end('stopped');
    this.#readers.add(stop);
    const write = (text: string): void => {
      if (res.write(text)) return;
      blocked = true;
      stall = setTimeout(() => sub.end('slow'), this.limits.stallMs);
      stall.unref();
      res.once('drain', () => {
        blocked = false;
        if (stall) clearTimeout(stall);
        pump();
      });
    };
    const pump = () => {
      while (!blocked && !done) {
        const e = sub.take();
        if (!e) return;
        write(frameOf(e));
      }
    };
    sub.onReady(pump);
    sub.onEnd((why) => {
      if (why === 'closed') return finish();
      finish();
      if (why === 'slow' && blocked) {
        // Its socket is full: nothing more can reach it. Cut it.
        res.destroy();
        return;
      }
      const reason =
        why === 'slow'
          ? { reason: 'slow', message: `this reader fell more than ${this.limits.maxQueue} events behind; reconnect with Last-Event-ID` }
          : { reason: 'stopped', message: 'the server is shutting down; reconnect with Last-Event-ID' };
      res.end(`event: dropped\n${sseData(JSON.stringify({ ...reason, last_seq: sub.cursor }))}\n`);
      // A reader that never reads never lets end() finish.
      setTimeout(() => res.destroy(), 1000).unref();
    });
    res.once('close', finish);
    req.once('close', finish);
    const beat = setInterval(() => {
      if (!blocked && !done) write(sseComment(`heartbeat ${this.lab.events.stream.lastSeq}`));
    }, this.limits.heartbeatMs);
    beat.unref();
    write(`retry: 2000\n${sseComment(`netstream-lab events; last seq ${this.lab.events.stream.lastSeq}`)}`);
    if (sub.gapBefore !== undefined) write(sseComment(`events before seq ${sub.gapBefore} are no longer kept`));
    pump();
  }

  /** End every reader (the server stops): each gets `event: dropped` with reason stopped. */
  closeAll(): void {
    for (const stop of [...this.#readers]) stop();
  }
}
