import type { NeighborStatus } from '../bgp/types.js';
import type { EventWatch, EventWatchOptions, LabEvent } from '../docker/events.js';
import type { StoreState } from '../store/schema.js';
import { Journal } from './journal.js';
import { type SessionView, SessionWatch } from './sessions.js';
import { EventStream, type SubscribeOptions, type Subscription } from './stream.js';
import type { EventFilter, EventInput, StreamEvent } from './types.js';

export type { SessionView } from './sessions.js';
export { DEFAULT_MAX_QUEUE, type EndReason, type SubscribeOptions, Subscription } from './stream.js';
export { EVENT_TYPES, type EventFilter, type EventInput, type EventType, isEventType, type StreamEvent } from './types.js';

export interface LabEventsDeps {
  dataDir: string;
  /** NSLAB_WATCH_INTERVAL_S */
  intervalS: number;
  read(): Promise<StoreState>;
  neighborStates(name: string): Promise<NeighborStatus[] | undefined>;
  /** Docker's events of this store's objects on every engine (Lab.watchEvents) */
  watch(opts: Omit<EventWatchOptions, 'onReconnect'>): EventWatch;
}

export interface StartOptions {
  /** keep the history on disk in the data folder (long-running servers); default true */
  persist?: boolean;
  /** each Docker event as EventWatch reports it (the server logs drift here) */
  onDocker?: (e: LabEvent) => void;
  /** the Docker stream broke, the journal could not be written, ... (logged; the stream goes on) */
  onError?: (err: unknown) => void;
  /** why history is not kept (another process holds the journal) */
  onNote?: (message: string) => void;
}

/** Polls at most this often while nobody listens (or the interval, when it is longer). */
export const IDLE_POLL_MS = 60_000;

/**
 * The lab's event stream and its sources, one per server process. Nothing runs until start():
 * then Docker's events (every engine), BGP session states (polled), and what tools report
 * (emit(), called by runTool) become numbered events that front ends follow:
 *
 *   const sub = lab.events.subscribe({ since, filter: { topology: 'lab1' } });
 *   for await (const e of sub) { ... }   // ends on close(), or when sub.ended === 'slow'
 *
 * or, synchronously and without counting as a listener, `lab.events.on(e => ...)`.
 */
export class LabEvents {
  readonly stream = new EventStream();
  #sessions: SessionWatch | undefined;
  #ready = false;
  #starting: Promise<() => Promise<void>> | undefined;
  readonly #inventory = new Set<() => void>();

  constructor(private readonly deps: LabEventsDeps) {}

  /** Whether the stream runs in this process (a one-shot CLI call does not keep one). */
  get running(): boolean {
    return this.#ready;
  }

  /** Start the sources (once; a second call gets the same stop function). Resolves when history is read back. */
  start(opts: StartOptions = {}): Promise<() => Promise<void>> {
    this.#starting ??= this.#start(opts);
    return this.#starting;
  }

  async #start(opts: StartOptions): Promise<() => Promise<void>> {
    let journal: Journal | undefined;
    if (opts.persist ?? true) {
      const opened = await Journal.open(this.deps.dataDir, this.stream.ring.capacity, { onError: opts.onError });
      if (opened.why) opts.onNote?.(`${opened.why}; this server keeps its events in memory only`);
      journal = opened.journal;
      this.stream.restore(opened.history);
      if (journal) this.stream.setSink((e) => journal?.append(e));
    }
    this.#ready = true;
    const intervalMs = this.deps.intervalS * 1000;
    const sessions = new SessionWatch({
      read: this.deps.read,
      neighborStates: this.deps.neighborStates,
      emit: (e) => this.emit(e),
      listening: () => this.stream.listening,
      intervalMs,
      idleMs: Math.max(IDLE_POLL_MS, intervalMs),
      onInventory: () => this.#inventoryChanged(),
    });
    this.#sessions = sessions;
    const offListening = this.stream.onListening((n) => sessions.listeningChanged(n));
    const watch = this.deps.watch({
      onEvent: (e) => {
        opts.onDocker?.(e);
        this.#docker(e);
      },
      ...(opts.onError ? { onError: opts.onError } : {}),
    });
    sessions.start();
    return async () => {
      watch.stop();
      sessions.stop();
      offListening();
      this.stream.endAll();
      this.#ready = false;
      this.stream.setSink(undefined);
      await journal?.close();
    };
  }

  /** Add an event (dropped when the stream does not run in this process). */
  emit(e: EventInput): StreamEvent | undefined {
    return this.#ready ? this.stream.emit(e) : undefined;
  }

  subscribe(opts?: SubscribeOptions): Subscription {
    return this.stream.subscribe(opts);
  }

  on(listener: (e: StreamEvent) => void): () => void {
    return this.stream.on(listener);
  }

  retain(): () => void {
    return this.stream.retain();
  }

  list(opts: EventFilter & { since?: number | undefined; limit: number }): StreamEvent[] {
    return this.stream.list(opts);
  }

  /** Every BGP session as last read, from each end (empty until the first poll). */
  sessions(): SessionView[] {
    return this.#sessions?.sessions() ?? [];
  }

  /** Read the session states now (tests, and a front end that wants a fresh picture). */
  async poll(): Promise<void> {
    await this.#sessions?.poll();
  }

  /** Hear when topologies, daemons or hosts come and go (MCP resources/list_changed). */
  onInventory(cb: () => void): () => void {
    this.#inventory.add(cb);
    return () => this.#inventory.delete(cb);
  }

  /** A call may have added or removed topologies or nodes: compare (runTool calls this after changes). */
  storeChanged(): void {
    if (this.#ready) void this.#sessions?.poll();
  }

  #inventoryChanged(): void {
    for (const cb of this.#inventory) {
      try {
        cb();
      } catch {
        // one listener's bug stops no other
      }
    }
  }

  #docker(e: LabEvent): void {
    const where = {
      ...(e.topology ? { topology: e.topology } : {}),
      ...(e.engine ? { engine: e.engine } : {}),
    };
    if (e.object === 'container') {
      if (e.role !== 'daemon' && e.role !== 'host') return; // helpers come and go by design
      if (e.action === 'die') {
        if (e.role === 'daemon') void this.#sessions?.nodeDied(e.name);
        this.emit({
          type: 'node_died',
          node: e.name,
          ...where,
          detail: {
            role: e.role,
            ...(e.exitCode !== undefined ? { exit_code: e.exitCode } : {}),
            by: e.outside ? 'outside' : 'lab',
            ...(e.outside
              ? { drift: `the container stopped without netstream-lab stopping it; sync_run apply starts it again if it should run` }
              : {}),
          },
        });
        return;
      }
      if (e.action === 'start') {
        if (e.role === 'daemon') this.#sessions?.nodeStarted(e.name);
        this.emit({ type: 'node_started', node: e.name, ...where, detail: { role: e.role } });
        return;
      }
    }
    // kill, stop and oom end in a die (node_died says it); what is left is a removal or a rename.
    if (e.drift && (e.action === 'destroy' || e.action === 'rename')) {
      this.emit({
        type: 'drift',
        ...(e.object === 'container' ? { node: e.name } : {}),
        ...where,
        detail: { object: e.object, action: e.action, name: e.name, text: e.drift },
      });
    }
    if (e.action === 'destroy' || e.action === 'create') this.storeChanged();
  }
}
