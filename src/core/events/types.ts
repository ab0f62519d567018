/**
 * The lab's event stream (INTERFACES.md section 10): one per server process, numbered, kept for a
 * while (ring.ts, journal.ts), followed by every front end (MCP subscriptions, SSE, `nslab watch`).
 */

export const EVENT_TYPES = [
  'session_up',
  'session_down',
  'node_died',
  'node_started',
  'drift',
  'fault_injected',
  'fault_cleared',
  'verify_passed',
  'verify_failed',
  'standup_done',
  'teardown_done',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const isEventType = (t: unknown): t is EventType => typeof t === 'string' && (EVENT_TYPES as readonly string[]).includes(t);

/** One event as every front end sees it. */
export interface StreamEvent {
  /** 1, 2, 3, ... in the order they happened in this server (continues across restarts) */
  seq: number;
  /** ISO time the server heard of it */
  time: string;
  type: EventType;
  topology?: string;
  /** the container (daemon or host) it is about */
  node?: string;
  /** the engine (NSLAB_ENGINES) it happened on, when there are several */
  engine?: string;
  /**
   * What happened, by type: session_*: {peer, peer_node?, peer_asn?, from, to, reason?};
   * node_*: {role, kind?, exit_code?, by: 'lab' | 'outside', drift?}; drift: {object, action, name,
   * text}; fault_*: {id, kind, target}; verify_*: {tool, summary, checks, failed, failures[]};
   * standup_done / teardown_done: what the tool reported, in short.
   */
  detail: Record<string, unknown>;
}

/** What a source gives; seq and time are the stream's. */
export type EventInput = Omit<StreamEvent, 'seq' | 'time'> & { time?: string };

/** Longest string kept in a detail (text a container wrote is input: it is cut). */
const MAX_TEXT = 300;
/** Most entries of a list kept in a detail. */
const MAX_ITEMS = 10;
/** Most bytes of a detail as JSON; past it the detail is replaced by a short note. */
export const MAX_DETAIL_BYTES = 4096;

function bound(v: unknown, depth: number): unknown {
  if (typeof v === 'string') return v.length > MAX_TEXT ? `${v.slice(0, MAX_TEXT)}…` : v;
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return v;
  if (depth > 3) return undefined;
  if (Array.isArray(v)) return v.slice(0, MAX_ITEMS).map((x) => bound(x, depth + 1));
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>).slice(0, 20)) {
      if (k === '__proto__') continue;
      const b = bound(x, depth + 1);
      if (b !== undefined) out[k] = b;
    }
    return out;
  }
  return undefined;
}

/** A detail cut to size: short strings, short lists, shallow, under MAX_DETAIL_BYTES. */
export function boundDetail(detail: Record<string, unknown>): Record<string, unknown> {
  const b = bound(detail, 0) as Record<string, unknown>;
  if (JSON.stringify(b).length <= MAX_DETAIL_BYTES) return b;
  return { note: `detail cut: over ${MAX_DETAIL_BYTES} bytes` };
}

/** A filter as event_list, SSE and `nslab watch` take it. */
export interface EventFilter {
  types?: readonly EventType[] | undefined;
  topology?: string | undefined;
  node?: string | undefined;
}

export function matches(e: StreamEvent, f: EventFilter): boolean {
  if (f.types && f.types.length > 0 && !f.types.includes(e.type)) return false;
  if (f.topology !== undefined && e.topology !== f.topology) return false;
  if (f.node !== undefined && e.node !== f.node) return false;
  return true;
}
