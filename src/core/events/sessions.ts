import pLimit from 'p-limit';
import type { NeighborStatus } from '../bgp/types.js';
import type { StoreState } from '../store/schema.js';
import { withTimeout } from '../timeout.js';
import type { EventInput } from './types.js';

export interface SessionWatchDeps {
  read(): Promise<StoreState>;
  /** the neighbor states a daemon reports, or undefined when it does not answer */
  neighborStates(name: string): Promise<NeighborStatus[] | undefined>;
  emit(e: EventInput): void;
  /** how many follow the stream now */
  listening(): number;
  /** between polls while someone listens */
  intervalMs: number;
  /** between polls while nobody does (a slow heartbeat that keeps the history roughly right) */
  idleMs: number;
  /** after the store's node names may have changed (list_changed for MCP) */
  onInventory?: (names: string) => void;
}

/** One session as last read from one end. */
export interface SessionView {
  node: string;
  topology?: string;
  peer: string;
  peer_node?: string;
  state: string;
}

interface NodeState {
  topology?: string | undefined;
  engine?: string | undefined;
  /** peer address -> state as last read */
  peers: Map<string, { state: string; asn: number }>;
  /** read at least once since the stream started (the first read is the silent baseline) */
  seen: boolean;
  /** polls in a row the daemon did not answer */
  misses: number;
  /** bumped when the container dies or starts: a poll begun before is stale */
  generation: number;
}

/** Concurrent `neighborStates` execs: a 30-node lab is read 4 at a time. */
const CONCURRENCY = 4;
const READ_TIMEOUT_MS = 15_000;

/**
 * BGP session states, polled from the daemons whose containers run (never the stopped or dead
 * ones), 4 at a time, every intervalMs while someone listens and every idleMs otherwise. A change
 * into or out of Established is an event (session_up, session_down, with from and to); the first
 * read of each daemon is a silent baseline. A container that dies takes its sessions down at once.
 */
export class SessionWatch {
  readonly #nodes = new Map<string, NodeState>();
  /** containers Docker said died, until they start again */
  readonly #dead = new Set<string>();
  readonly #limit = pLimit(CONCURRENCY);
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  #started = false;
  #nextAt = 0;
  #inventory = '';
  #byAddress = new Map<string, string>();

  constructor(private readonly deps: SessionWatchDeps) {}

  start(): void {
    this.#started = true;
    this.#stopped = false;
    this.#schedule(0);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** The listener count changed: a first listener gets a fresh read at once. */
  listeningChanged(n: number): void {
    if (!this.#started || this.#stopped) return;
    if (n > 0 && this.#nextAt - Date.now() > this.deps.intervalMs) this.#schedule(0);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#nextAt = Date.now() + ms;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.poll().finally(() => this.#schedule(this.deps.listening() > 0 ? this.deps.intervalMs : this.deps.idleMs));
    }, ms);
    this.#timer.unref();
  }

  /** Read every running daemon once (a poll already under way is joined, not doubled). */
  poll(): Promise<void> {
    this.#running ??= this.#poll().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #poll(): Promise<void> {
    let state: StoreState;
    try {
      state = await this.deps.read();
    } catch {
      return; // a store that cannot be read now is read at the next poll
    }
    const names = Object.keys(state.daemons).sort();
    const inventory = `${Object.keys(state.topologies).sort().join(',')}|${names.join(',')}|${Object.keys(state.hosts).sort().join(',')}`;
    if (inventory !== this.#inventory) {
      if (this.#inventory) this.deps.onInventory?.(inventory);
      this.#inventory = inventory;
    }
    for (const n of [...this.#nodes.keys()]) if (!state.daemons[n]) this.#nodes.delete(n);
    for (const n of [...this.#dead]) if (!state.daemons[n] && !state.hosts[n]) this.#dead.delete(n);
    const byAddress = addressIndex(state);
    this.#byAddress = byAddress;
    const wanted = names.filter((n) => {
      const d = state.daemons[n];
      return d && d.desired === 'running' && !d.pending && !this.#dead.has(n);
    });
    await Promise.all(wanted.map((n) => this.#limit(() => this.#read(n, state, byAddress))));
  }

  #node(name: string, state: StoreState): NodeState {
    const rec = state.daemons[name];
    let n = this.#nodes.get(name);
    if (!n) {
      n = { peers: new Map(), seen: false, misses: 0, generation: 0 };
      this.#nodes.set(name, n);
    }
    n.topology = rec?.topology;
    n.engine = rec?.engine;
    return n;
  }

  async #read(name: string, state: StoreState, byAddress: Map<string, string>): Promise<void> {
    const node = this.#node(name, state);
    const generation = node.generation;
    const got = await withTimeout(this.deps.neighborStates(name), READ_TIMEOUT_MS, name).catch(() => undefined);
    if (this.#stopped || node.generation !== generation || this.#dead.has(name)) return;
    if (!got) {
      // Once may be a slow exec; twice in a row the daemon is not answering (daemon_kill, a pause).
      if (++node.misses >= 2 && node.seen) this.#allDown(name, node, 'daemon not answering', byAddress);
      return;
    }
    node.misses = 0;
    const reported = new Set<string>();
    for (const nb of got) {
      reported.add(nb.address);
      const prev = node.peers.get(nb.address)?.state;
      node.peers.set(nb.address, { state: nb.state, asn: nb.asn });
      const from = prev ?? (node.seen ? 'Idle' : undefined);
      if (from === undefined) continue;
      if (from !== 'Established' && nb.state === 'Established')
        this.#session('session_up', name, node, nb.address, from, nb.state, byAddress);
      if (from === 'Established' && nb.state !== 'Established')
        this.#session('session_down', name, node, nb.address, from, nb.state, byAddress);
    }
    for (const addr of [...node.peers.keys()]) if (!reported.has(addr)) node.peers.delete(addr);
    node.seen = true;
  }

  #session(
    type: 'session_up' | 'session_down',
    name: string,
    node: NodeState,
    peer: string,
    from: string,
    to: string,
    byAddress: Map<string, string>,
    reason?: string,
  ): void {
    const peerNode = byAddress.get(peer);
    this.deps.emit({
      type,
      node: name,
      ...(node.topology ? { topology: node.topology } : {}),
      ...(node.engine ? { engine: node.engine } : {}),
      detail: {
        peer,
        ...(peerNode ? { peer_node: peerNode } : {}),
        ...(node.peers.get(peer) ? { peer_asn: node.peers.get(peer)?.asn } : {}),
        from,
        to,
        ...(reason ? { reason } : {}),
      },
    });
  }

  #allDown(name: string, node: NodeState, reason: string, byAddress: Map<string, string>): void {
    for (const [peer, p] of node.peers) {
      if (p.state !== 'Established') continue;
      p.state = 'Idle';
      this.#session('session_down', name, node, peer, 'Established', 'Idle', byAddress, reason);
    }
  }

  /** Docker says the container died: its sessions are down now, and it is not polled until it starts. */
  async nodeDied(name: string): Promise<void> {
    this.#dead.add(name);
    const node = this.#nodes.get(name);
    if (!node) return;
    node.generation++;
    let byAddress = new Map<string, string>();
    try {
      byAddress = addressIndex(await this.deps.read());
    } catch {
      // peer names are a nicety
    }
    this.#allDown(name, node, 'node died', byAddress);
  }

  /** Docker says the container started: poll it again (its sessions come up as it reads them). */
  nodeStarted(name: string): void {
    this.#dead.delete(name);
    const node = this.#nodes.get(name);
    if (node) {
      node.generation++;
      node.misses = 0;
    }
  }

  /** Every session as last read, from each end. */
  sessions(): SessionView[] {
    const out: SessionView[] = [];
    for (const [name, n] of this.#nodes) {
      for (const [peer, p] of n.peers) {
        const peerNode = this.#byAddress.get(peer);
        out.push({
          node: name,
          ...(n.topology ? { topology: n.topology } : {}),
          peer,
          ...(peerNode ? { peer_node: peerNode } : {}),
          state: p.state,
        });
      }
    }
    return out;
  }
}

/** Lab address -> daemon name (interfaces and tunnel ends), to name a session's far end. */
function addressIndex(state: StoreState): Map<string, string> {
  const m = new Map<string, string>();
  for (const d of Object.values(state.daemons)) for (const i of d.interfaces) m.set(i.ip, d.name);
  for (const t of Object.values(state.tunnels ?? {})) {
    for (const end of [t.a, t.b]) {
      if ('container' in end && state.daemons[end.container]) m.set(end.tunnel_ip.split('/')[0] as string, end.container);
    }
  }
  return m;
}
