/**
 * Changing a running daemon's BGP configuration in place: peers added or removed, prefixes
 * advertised or withdrawn, and the files re-read after its interfaces changed. Every change ends
 * with the files in the container equal to what the store renders, and is saved in the store only
 * once the daemon has accepted it; a refused change is rolled back in the daemon and in its files.
 */
import { drivers } from './bgp/index.js';
import type { ApplyMode, ApplyPlan, BgpChange, BgpConfig, NeighborStatus } from './bgp/types.js';
import type { FileEntry } from './docker/archive.js';
import type { ContainerInfo, DockerEngine } from './docker/engine.js';
import type { ExecClient } from './docker/exec-client.js';
import type { Placement } from './engines/placement.js';
import { conflict, LabError, notFound } from './errors.js';
import { recordFile } from './nodes/records.js';
import type { DaemonRecord, StoreState } from './store/schema.js';
import type { Store } from './store/store.js';
import { connectedSubnets } from './subnets.js';

export interface ChangeOutcome {
  /** how the change reached the daemon */
  applied: ApplyMode;
  /** what was done, in words */
  note: string;
}

/** The config a driver renders, from the record and the networks and tunnels it sits on. */
export function bgpConfig(rec: DaemonRecord, state: StoreState): BgpConfig {
  return {
    name: rec.name,
    kind: rec.kind,
    asn: rec.asn,
    router_id: rec.router_id,
    interfaces: connectedSubnets(rec, state).map((c) => ({ network: c.via, ip: c.ip, subnet: c.subnet })),
    neighbors: rec.neighbors,
    advertise: rec.advertise,
    ...(rec.route_server ? { route_server: true } : {}),
  };
}

/** The change that undoes `change` (applied against the configuration before it). */
function inverse(change: BgpChange, before: DaemonRecord): BgpChange {
  switch (change.op) {
    case 'peer_add':
      return { op: 'peer_remove', address: change.neighbor.address };
    case 'peer_remove': {
      const old = before.neighbors.find((n) => n.address === change.address);
      return old ? { op: 'peer_add', neighbor: old } : { op: 'reload' };
    }
    case 'advertise':
      return { op: 'withdraw', prefix: change.prefix };
    case 'withdraw':
      return { op: 'advertise', prefix: change.prefix };
    case 'reload':
      return { op: 'reload' };
    case 'route_server':
      // applied against the configuration before, it turns the flag back
      return { op: 'route_server' };
  }
}

const sameConfig = (a: DaemonRecord, b: DaemonRecord): boolean =>
  JSON.stringify([a.neighbors, a.advertise, a.interfaces, a.route_server === true]) ===
  JSON.stringify([b.neighbors, b.advertise, b.interfaces, b.route_server === true]);

const MODE_NOTE: Record<ApplyMode, string> = {
  live: 'applied to the running daemon; nothing was restarted',
  reload: 'the daemon process re-read its configuration (its container was not restarted; sessions that did not change stayed up)',
  config_only: 'the container is not running: the configuration takes effect when it starts',
};

export class DaemonConfig {
  readonly #queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly placement: Placement,
    private readonly store: Store,
  ) {}

  /** One change at a time per daemon in this process (the store check catches other processes). */
  #serial<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#queues.get(name) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.#queues.set(name, tail);
    void tail.then(() => {
      if (this.#queues.get(name) === tail) this.#queues.delete(name);
    });
    return next;
  }

  /**
   * Apply the change that `plan` computes from the current record: it returns the change and the
   * record as it should be afterwards (throwing LabError for bad input, before anything is done).
   */
  change(name: string, plan: (rec: DaemonRecord, state: StoreState) => { change: BgpChange; next: DaemonRecord }): Promise<ChangeOutcome> {
    return this.#serial(name, async () => {
      await this.placement.default.ready();
      const state = await this.store.read();
      const before = state.daemons[name];
      if (!before) throw notFound('daemon', name);
      await this.placement.node(before).ready();
      if (before.own?.config !== undefined) {
        throw new LabError('UNSUPPORTED', `'${name}' runs its own ${before.kind} configuration (config), which the lab does not rewrite`, {
          hint: `change its peers and prefixes in that configuration (the topology file's nodes.<key>.config) and stand the topology up again; status, routes, checks and faults work on it as on any ${before.kind} node`,
        });
      }
      const { change, next } = plan(before, state);
      const outcome = await this.#apply(name, change, before, next, state);
      try {
        await this.store.update((s) => {
          const r = s.daemons[name];
          if (!r) throw conflict(`daemon '${name}' was deleted while it was being changed`);
          if (!sameConfig(r, before)) {
            throw conflict(`daemon '${name}' was changed by someone else at the same time`, 'read it again (daemon_get) and retry');
          }
          r.neighbors = next.neighbors;
          r.advertise = next.advertise;
          if (next.route_server) r.route_server = true;
          else delete r.route_server;
        });
      } catch (err) {
        await this.#apply(name, inverse(change, before), next, before, state).catch(() => undefined);
        throw err;
      }
      return outcome;
    });
  }

  /**
   * Make the daemon's files equal to what the store renders now, and have the daemon re-read them
   * if they changed (after network_connect / network_disconnect, or a tunnel ending in it).
   */
  refresh(name: string): Promise<ChangeOutcome | undefined> {
    return this.#serial(name, async () => {
      const state = await this.store.read();
      const rec = state.daemons[name];
      // Its own config names its interfaces and peers itself: nothing rendered to refresh.
      if (!rec || rec.own?.config !== undefined) return undefined;
      const files = this.#render(rec, state);
      const engine = this.placement.node(rec);
      const info = await engine.ownedContainer(name, rec.container_id);
      if (!info) return undefined;
      if (info.State.Running && !info.State.Restarting && (await this.#filesMatch(engine, info, name, files))) return undefined;
      return this.#apply(name, { op: 'reload' }, rec, rec, state, files);
    });
  }

  #render(rec: DaemonRecord, state: StoreState): FileEntry[] {
    try {
      return drivers[rec.kind].render(bgpConfig(rec, state));
    } catch (err) {
      if (err instanceof LabError) throw err;
      throw new LabError('INVALID_INPUT', `the daemon configuration cannot be written: ${(err as Error).message}`);
    }
  }

  async #filesMatch(engine: DockerEngine, info: ContainerInfo, name: string, files: FileEntry[]): Promise<boolean> {
    for (const f of files) {
      const r = await engine.exec(info, name, { command: ['cat', f.path], timeoutS: 10 });
      if (r.exit_code !== 0 || r.stdout !== f.content) return false;
    }
    return true;
  }

  async #apply(
    name: string,
    change: BgpChange,
    before: DaemonRecord,
    next: DaemonRecord,
    state: StoreState,
    rendered?: FileEntry[],
  ): Promise<ChangeOutcome> {
    const driver = drivers[next.kind];
    const files = rendered ?? this.#render(next, state);
    const oldFiles = this.#render(before, state);
    const engine = this.placement.node(next);
    const info = await engine.ownedContainer(name, next.container_id);
    if (!info) return { applied: 'config_only', note: `${MODE_NOTE.config_only} (the container is missing; daemon_start recreates it)` };
    if (info.State.Restarting) {
      throw new LabError('CONFLICT', `the ${next.kind} daemon of '${name}' keeps exiting and restarting; the change was not applied`, {
        hint: `look at daemon_status and \`docker logs ${name}\``,
      });
    }
    // The record file follows the daemon's files, so a lost store is rebuilt with today's peers.
    await engine.putFiles(info.Id, [...files, recordFile(next)]);
    if (!info.State.Running) return { applied: 'config_only', note: MODE_NOTE.config_only };
    let plan: ApplyPlan;
    try {
      plan = driver.apply(change, bgpConfig(next, state));
    } catch (err) {
      await engine.putFiles(info.Id, [...oldFiles, recordFile(before)]);
      throw new LabError('INVALID_INPUT', (err as Error).message);
    }
    try {
      await this.#run(info, name, plan, next, state);
    } catch (err) {
      // Put the daemon and its files back as they were.
      await engine.putFiles(info.Id, [...oldFiles, recordFile(before)]).catch(() => undefined);
      const undo = driver.apply(inverse(change, before), bgpConfig(before, state));
      await this.#run(info, name, { ...undo, expect: {} }, before, state).catch(() => undefined);
      throw err;
    }
    return { applied: plan.mode, note: MODE_NOTE[plan.mode] };
  }

  async #run(info: ContainerInfo, name: string, plan: ApplyPlan, rec: DaemonRecord, state: StoreState): Promise<void> {
    const engine = this.placement.node(rec);
    for (const command of plan.commands) {
      const r = await engine.exec(info, name, { command, timeoutS: 20 });
      const said = `${r.stdout}\n${r.stderr}`.trim();
      if (r.exit_code !== 0 || drivers[rec.kind].refused(said)) {
        throw new LabError(
          'DAEMON_ERROR',
          `the ${rec.kind} daemon of '${name}' refused the change: ${said.slice(0, 400) || `exit code ${r.exit_code}`}`,
          {
            hint: 'nothing was changed; check the values, or daemon_status for the daemon itself',
          },
        );
      }
    }
    const present = plan.expect?.present ?? [];
    const absent = plan.expect?.absent ?? [];
    if (!present.length && !absent.length) return;
    const driver = drivers[rec.kind];
    const deadline = Date.now() + 15_000;
    let seen: NeighborStatus[] = [];
    while (Date.now() < deadline) {
      const viaApi = await apiNeighbors(engine.execs, info.Id, rec, state);
      const r = viaApi ? undefined : await engine.exec(info, name, { command: driver.neighborsCommand, timeoutS: 10, reuse: true });
      try {
        seen = viaApi ?? (r?.exit_code === 0 ? driver.parseNeighbors(r.stdout, bgpConfig(rec, state)) : seen);
        const have = new Set(seen.map((n) => n.address));
        if (present.every((a) => have.has(a)) && absent.every((a) => !have.has(a))) return;
      } catch {
        // still reloading: ask again
      }
      await new Promise((res) => setTimeout(res, 300));
    }
    throw new LabError(
      'DAEMON_ERROR',
      `the ${rec.kind} daemon of '${name}' did not take the change within 15 s (it reports neighbors: ${seen.map((n) => n.address).join(', ') || 'none'})`,
      {
        hint: `look at \`docker logs ${name}\``,
      },
    );
  }
}

/**
 * A daemon's neighbors through its own API (drivers' `api`: GoBGP's gRPC, relay.ts), or undefined
 * when its kind has none or it could not be asked that way: then read with the driver's command.
 */
export async function apiNeighbors(
  execs: ExecClient,
  id: string,
  daemon: DaemonRecord,
  state: StoreState,
): Promise<NeighborStatus[] | undefined> {
  const api = drivers[daemon.kind].api;
  if (!api) return undefined;
  try {
    const messages = await execs.relays.call(id, { port: api.port, path: api.path, message: api.request, timeoutMs: 10_000 });
    return api.parse(messages, bgpConfig(daemon, state));
  } catch {
    return undefined;
  }
}
