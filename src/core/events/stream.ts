import { Ring } from './ring.js';
import { boundDetail, type EventFilter, type EventInput, matches, type StreamEvent } from './types.js';

/** Why a subscription ended. */
export type EndReason = 'closed' | 'slow' | 'stopped';

export interface SubscribeOptions {
  /** replay what the ring still holds after this seq, then follow (default: only new events) */
  since?: number | undefined;
  filter?: EventFilter | undefined;
  /**
   * Events that may wait for this subscriber beyond a replay; one more and it is dropped (told by
   * `ended` = 'slow'). Default DEFAULT_MAX_QUEUE.
   */
  maxQueue?: number | undefined;
  /** counts as someone listening (BGP states are then polled at the full rate); default true */
  listening?: boolean | undefined;
}

export const DEFAULT_MAX_QUEUE = 1024;

/**
 * One follower of the stream. It holds no copy of the events, only a cursor into the ring: its
 * queue is the ring's events after the cursor, bounded by maxQueue. Read with `for await`, or
 * with take() plus onReady() for a writer that has its own backpressure (SSE).
 */
export class Subscription implements AsyncIterable<StreamEvent> {
  #cursor: number;
  /** events up to this seq were a replay: they do not count against maxQueue */
  readonly #replayEnd: number;
  #ended: EndReason | undefined;
  #wake: (() => void) | undefined;
  #onReady: (() => void) | undefined;
  #onEnd: ((why: EndReason) => void) | undefined;
  /** the first seq after `since` that the ring no longer held: events before it were lost */
  readonly gapBefore: number | undefined;

  constructor(
    stream: EventStream,
    private readonly ring: Ring,
    readonly filter: EventFilter,
    readonly maxQueue: number,
    since: number | undefined,
    private readonly release: () => void,
  ) {
    const head = ring.newest()?.seq ?? stream.lastSeq;
    // A seq beyond the head (the client saw another server's numbers) reads as "from now".
    this.#cursor = since === undefined || since > head ? head : Math.max(0, since);
    this.#replayEnd = head;
    const oldest = ring.oldest()?.seq;
    if (oldest !== undefined && this.#cursor < oldest - 1 && this.#cursor < head) this.gapBefore = oldest;
  }

  get ended(): EndReason | undefined {
    return this.#ended;
  }

  /** seq of the last event handed out (or skipped by the filter) */
  get cursor(): number {
    return this.#cursor;
  }

  /** Events waiting (filtered or not) that arrived after the subscription began. */
  lag(): number {
    return this.ring.countAfter(Math.max(this.#cursor, this.#replayEnd));
  }

  /** The next event for this subscriber, or undefined when none waits. Never blocks. */
  take(): StreamEvent | undefined {
    if (this.#ended) return undefined;
    for (;;) {
      const e = this.ring.next(this.#cursor);
      if (!e) return undefined;
      this.#cursor = e.seq;
      if (matches(e, this.filter)) return e;
    }
  }

  /** Called (synchronously, from emit) when an event may be waiting. One callback; the last set wins. */
  onReady(cb: () => void): void {
    this.#onReady = cb;
  }

  /** Called once when the subscription ends, with why. */
  onEnd(cb: (why: EndReason) => void): void {
    this.#onEnd = cb;
  }

  /** from the stream: a new event is in the ring */
  notify(): void {
    if (this.#ended) return;
    if (this.lag() > this.maxQueue) {
      this.end('slow');
      return;
    }
    this.#onReady?.();
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  end(why: EndReason = 'closed'): void {
    if (this.#ended) return;
    this.#ended = why;
    this.release();
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
    this.#onEnd?.(why);
  }

  close(): void {
    this.end('closed');
  }

  async *[Symbol.asyncIterator](): AsyncIterator<StreamEvent> {
    try {
      for (;;) {
        const e = this.take();
        if (e) {
          yield e;
          continue;
        }
        if (this.#ended) return;
        await new Promise<void>((r) => {
          this.#wake = r;
        });
      }
    } finally {
      this.close();
    }
  }
}

export interface StreamOptions {
  /** events kept in memory (and read back from disk) */
  capacity?: number;
  /** where each event goes as well (the journal) */
  sink?: (e: StreamEvent) => void;
}

export const DEFAULT_CAPACITY = 5000;

/**
 * The events of one server process: numbered, kept in a ring, handed to subscribers. emit() is
 * synchronous and cheap; sources call it as things happen.
 */
export class EventStream {
  readonly ring: Ring;
  #seq = 0;
  readonly #subs = new Set<Subscription>();
  readonly #listeners = new Set<(e: StreamEvent) => void>();
  #listening = 0;
  readonly #listeningChanged = new Set<(n: number) => void>();
  #sink: ((e: StreamEvent) => void) | undefined;

  constructor(opts: StreamOptions = {}) {
    this.ring = new Ring(opts.capacity ?? DEFAULT_CAPACITY);
    this.#sink = opts.sink;
  }

  /** History read back from disk: the ring starts with it and numbering goes on after it. */
  restore(history: readonly StreamEvent[]): void {
    for (const e of history) {
      if (e.seq <= this.#seq) continue;
      this.ring.push(e);
      this.#seq = e.seq;
    }
  }

  setSink(sink: ((e: StreamEvent) => void) | undefined): void {
    this.#sink = sink;
  }

  get lastSeq(): number {
    return this.#seq;
  }

  emit(input: EventInput): StreamEvent {
    const e: StreamEvent = {
      seq: ++this.#seq,
      time: input.time ?? new Date().toISOString(),
      type: input.type,
      ...(input.topology ? { topology: input.topology } : {}),
      ...(input.node ? { node: input.node } : {}),
      ...(input.engine ? { engine: input.engine } : {}),
      detail: boundDetail(input.detail),
    };
    this.ring.push(e);
    this.#sink?.(e);
    for (const l of this.#listeners) {
      try {
        l(e);
      } catch {
        // A listener's bug must not stop the stream.
      }
    }
    for (const s of this.#subs) s.notify();
    return e;
  }

  /** Follow the stream (see Subscription). */
  subscribe(opts: SubscribeOptions = {}): Subscription {
    const listening = opts.listening ?? true;
    if (listening) this.#hold(1);
    let released = false;
    const sub: Subscription = new Subscription(this, this.ring, opts.filter ?? {}, opts.maxQueue ?? DEFAULT_MAX_QUEUE, opts.since, () => {
      if (released) return;
      released = true;
      this.#subs.delete(sub);
      if (listening) this.#hold(-1);
    });
    this.#subs.add(sub);
    return sub;
  }

  /**
   * Hear every event as it is emitted, synchronously (keep it quick: debounce, don't write to a
   * socket here). Does not count as listening; call retain() for that. Returns the off switch.
   */
  on(listener: (e: StreamEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Say someone follows the stream (BGP states are polled at the full rate); returns the release. */
  retain(): () => void {
    this.#hold(1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#hold(-1);
    };
  }

  get listening(): number {
    return this.#listening;
  }

  /** Hear when the number of listeners changes (the poller speeds up at once). */
  onListening(cb: (n: number) => void): () => void {
    this.#listeningChanged.add(cb);
    return () => this.#listeningChanged.delete(cb);
  }

  get subscribers(): number {
    return this.#subs.size;
  }

  #hold(d: number): void {
    this.#listening += d;
    for (const cb of this.#listeningChanged) cb(this.#listening);
  }

  /** Events kept, oldest first, filtered; after `since` when given, at most `limit` (the newest ones without since). */
  list(opts: EventFilter & { since?: number | undefined; limit: number }): StreamEvent[] {
    const keep = (e: StreamEvent) => matches(e, opts);
    return opts.since !== undefined ? this.ring.after(opts.since, opts.limit, keep) : this.ring.latest(opts.limit, keep);
  }

  /** End every subscription (the server stops). */
  endAll(): void {
    for (const s of [...this.#subs]) s.end('stopped');
  }
}
