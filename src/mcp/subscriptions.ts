import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { StreamEvent } from '../core/events/index.js';
import type { Lab } from '../core/lab.js';
import { matchTemplate } from './resources.js';

export const EVENTS_URI = 'nslab://events';

/** Whether an event may change what the resource at `uri` shows. */
export function touches(uri: string, e: StreamEvent): boolean {
  if (uri === EVENTS_URI) return true;
  const peer = typeof e.detail.peer_node === 'string' ? e.detail.peer_node : undefined;
  const topo = matchTemplate('nslab://topology/{name}/status', uri);
  if (topo?.name) {
    const prefix = `${topo.name}-`;
    return e.topology === topo.name || !!e.node?.startsWith(prefix) || !!peer?.startsWith(prefix);
  }
  const daemon = matchTemplate('nslab://daemon/{name}/status', uri);
  if (daemon?.name) return e.node === daemon.name || peer === daemon.name;
  return false;
}

export interface WatchOptions {
  /** updates of one resource are sent at most this often (the first event starts the wait) */
  debounceMs?: number;
  /** subscriptions one client may hold */
  maxUris?: number;
}

/**
 * One MCP client's resource subscriptions: `notifications/resources/updated` for a subscribed
 * resource when an event of the lab's stream touches it (at most once per debounceMs per resource),
 * and `notifications/resources/list_changed` when topologies or nodes come and go. A client with a
 * subscription counts as someone listening (BGP states are polled at the full rate).
 */
export class ResourceWatch {
  readonly #uris = new Set<string>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #offEvents: () => void;
  readonly #offInventory: () => void;
  #release: (() => void) | undefined;
  #closed = false;
  readonly #debounceMs: number;
  readonly #maxUris: number;

  constructor(
    private readonly server: Server,
    private readonly lab: Lab,
    opts: WatchOptions = {},
  ) {
    this.#debounceMs = opts.debounceMs ?? 250;
    this.#maxUris = opts.maxUris ?? 256;
    this.#offEvents = lab.events.on((e) => this.#event(e));
    this.#offInventory = lab.events.onInventory(() => {
      if (!this.#closed) this.server.sendResourceListChanged().catch(() => undefined);
    });
  }

  get size(): number {
    return this.#uris.size;
  }

  /**
   * Follow a resource. Any URI is taken (one that is not a lab resource, or a topology not made yet,
   * simply never changes); the count per client is bounded.
   */
  subscribe(uri: string): void {
    if (this.#closed || this.#uris.has(uri)) return;
    if (uri.length > 2048) throw new McpError(ErrorCode.InvalidParams, 'the resource URI is longer than 2048 characters');
    if (this.#uris.size >= this.#maxUris) {
      throw new McpError(ErrorCode.InvalidParams, `at most ${this.#maxUris} subscriptions per client; unsubscribe from some first`);
    }
    this.#uris.add(uri);
    this.#release ??= this.lab.events.retain();
  }

  unsubscribe(uri: string): void {
    this.#uris.delete(uri);
    const t = this.#timers.get(uri);
    if (t) clearTimeout(t);
    this.#timers.delete(uri);
    if (this.#uris.size === 0) {
      this.#release?.();
      this.#release = undefined;
    }
  }

  #event(e: StreamEvent): void {
    if (this.#closed) return;
    for (const uri of this.#uris) {
      if (this.#timers.has(uri) || !touches(uri, e)) continue;
      const t = setTimeout(() => {
        this.#timers.delete(uri);
        if (!this.#closed && this.#uris.has(uri)) this.server.sendResourceUpdated({ uri }).catch(() => undefined);
      }, this.#debounceMs);
      t.unref();
      this.#timers.set(uri, t);
    }
  }

  /** The client is gone: stop listening. */
  dispose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#offEvents();
    this.#offInventory();
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    this.#uris.clear();
    this.#release?.();
    this.#release = undefined;
  }
}
