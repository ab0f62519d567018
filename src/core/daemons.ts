import pLimit from 'p-limit';
import { drivers } from './bgp/index.js';
import { neighborRefusals } from './bgp/refusals.js';
import { timersProblem } from './bgp/states.js';
import type { ApplyMode, BgpNeighbor, DaemonKind, NeighborStatus, RouteEntry } from './bgp/types.js';
import { apiNeighbors, bgpConfig, type DaemonConfig } from './daemon-config.js';
import type { ContainerInfo } from './docker/engine.js';
import type { ExecOptions, ExecResult } from './docker/exec.js';
import { conflict, invalid, LabError, notFound } from './errors.js';
import { containerStates } from './node-states.js';
import { type DaemonView, daemonKind } from './nodes/kinds/daemon.js';
import { type NodeDeps, NodeLifecycle } from './nodes/lifecycle.js';
import { type ContainerState, containerState, type InterfaceRequest } from './nodes/records.js';
import { reserveInterfaces } from './nodes/reserve.js';
import type { OpContext } from './progress.js';
import type { DaemonRecord, StoreState } from './store/schema.js';
import { connectedSubnets, inSubnet } from './subnets.js';

export { apiNeighbors, bgpConfig };

export interface DaemonCreateInput {
  name: string;
  kind: DaemonKind;
  asn: number;
  router_id?: string | undefined;
  interfaces: InterfaceRequest[];
  neighbors?: BgpNeighbor[] | undefined;
  advertise?: string[] | undefined;
  /** a route server for all its neighbors (not exabgp) */
  route_server?: boolean | undefined;
  topology?: string | undefined;
  engine?: string | undefined;
}

/** Whether the BGP daemon itself answered, as opposed to whether its container runs. */
export type DaemonAnswer = 'running' | 'not_answering' | 'restarting' | 'stopped';

export interface DaemonStatus {
  name: string;
  kind: DaemonKind;
  state: ContainerState;
  daemon: DaemonAnswer;
  /** only as the daemon reported them; empty when it did not answer */
  neighbors: NeighborStatus[];
  routes?: RouteEntry[];
  /** why neighbor states could not be read, or what the daemon left out */
  note?: string;
}

/** A daemon's container as a label query listed it (see Daemons.answers). */
export interface ListedDaemon {
  name: string;
  /** its container's id; absent when there is none */
  id?: string | undefined;
  /** the engine it is on (undefined: the default) */
  engine?: string | undefined;
  state: ContainerState;
}

/** What Daemons.answers read of one daemon: whether it answered, and the neighbor states it reported. */
export interface DaemonAnswerRead {
  daemon: DaemonAnswer;
  neighbors: NeighborStatus[];
}

export interface DaemonChange {
  name: string;
  applied: ApplyMode;
  note: string;
  daemon: DaemonView;
}

/** BGP daemons (FRR, GoBGP, ExaBGP, BIRD, OpenBGPD) on the shared node lifecycle, with status and live changes of their own. */
export class Daemons {
  readonly #nodes: NodeLifecycle<'daemons', DaemonView>;
  /** brings a daemon's BGP files and running config in line with its record */
  readonly config: DaemonConfig;

  constructor(private readonly deps: NodeDeps & { config: DaemonConfig }) {
    this.#nodes = new NodeLifecycle(daemonKind, deps);
    this.config = deps.config;
  }

  /** Every daemon with its container's state: one store read and one label query per engine. */
  async list(): Promise<DaemonView[]> {
    await this.deps.placement.default.ready();
    const recs = Object.values((await this.deps.store.read()).daemons).sort((a, b) => a.name.localeCompare(b.name));
    const states = await containerStates(this.deps.placement, recs);
    return recs.map((r) => daemonKind.view(r, states.get(r.name) ?? 'missing'));
  }

  get(name: string): Promise<DaemonView> {
    return this.#nodes.get(name);
  }

  delete(name: string): Promise<{ deleted: string; warnings?: string[] }> {
    return this.#nodes.delete(name);
  }

  stop(name: string): Promise<DaemonView> {
    return this.#nodes.stop(name);
  }

  /** Start the container (waiting until the daemon answers), or recreate it from the store when it is gone. */
  start(name: string, ctx: OpContext = {}): Promise<DaemonView> {
    return this.#nodes.start(name, ctx);
  }

  /** Finish a create killed part way (sync_run). */
  finishCreate(name: string, ctx: OpContext = {}): Promise<DaemonView> {
    return this.#nodes.finishCreate(name, ctx);
  }

  exec(name: string, opts: ExecOptions): Promise<ExecResult> {
    return this.#nodes.exec(name, opts);
  }

  /** Make the container of a record already reserved in `state` (topology standup); `wait` for the daemon to answer. */
  provision(rec: DaemonRecord, state: StoreState, ctx: OpContext = {}, wait = true): Promise<{ id: string; image: string }> {
    return this.#nodes.provision(rec, state, ctx, wait);
  }

  async create(input: DaemonCreateInput, ctx: OpContext = {}): Promise<DaemonView> {
    for (const [i, n] of (input.neighbors ?? []).entries()) refuseUnsupported(input.kind, n, `neighbors.${i}`);
    const noRs = drivers[input.kind].noRouteServer;
    if (input.route_server && noRs) {
      throw new LabError('UNSUPPORTED', `route_server: ${noRs}`, { hint: `leave route_server out for a ${input.kind} daemon` });
    }
    return this.#nodes.create(
      input.name,
      this.deps.placement.recordName(input.engine),
      (s) => {
        const interfaces = reserveInterfaces(s, input.name, input.interfaces);
        return {
          name: input.name,
          kind: input.kind,
          asn: input.asn,
          router_id: input.router_id ?? (interfaces[0]?.ip as string),
          interfaces,
          neighbors: input.neighbors ?? [],
          advertise: input.advertise ?? [],
          ...(input.route_server ? { route_server: true } : {}),
          ...(input.topology ? { topology: input.topology } : {}),
          desired: 'running',
          created_at: new Date().toISOString(),
        };
      },
      ctx,
    );
  }

  /** Only the neighbor states, as the daemon reports them (undefined when it does not answer): cheap enough to poll. */
  async neighborStates(name: string): Promise<NeighborStatus[] | undefined> {
    const state = await this.deps.store.read();
    const daemon = state.daemons[name];
    const engine = daemon && this.deps.placement.node(daemon);
    const info = engine && (await engine.ownedContainer(name, daemon.container_id));
    if (!daemon || !engine || !info?.State.Running || info.State.Restarting || info.State.Paused) return undefined;
    const driver = drivers[daemon.kind];
    const viaApi = await apiNeighbors(engine.execs, info.Id, daemon, state);
    if (viaApi) return viaApi;
    const r = await engine.exec(info, name, { command: driver.neighborsCommand, timeoutS: 10, reuse: true });
    if (r.exit_code !== 0 && noBgp(daemon, r)) return [];
    try {
      return r.exit_code === 0 ? driver.parseNeighbors(r.stdout, bgpConfig(daemon, state)) : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Whether each daemon answers and the neighbor states it reports, for many daemons at once (a
   * topology's status, waiting for sessions): one store read, the containers as listed by label
   * (no inspect each), one read each for the running ones (the driver's cheaper statesCommand,
   * through the container's kept reader), `concurrency` at a time.
   */
  async answers(targets: ListedDaemon[], concurrency = 8): Promise<Map<string, DaemonAnswerRead>> {
    const state = await this.deps.store.read();
    const limit = pLimit(concurrency);
    const read = async (t: ListedDaemon): Promise<DaemonAnswerRead> => {
      const daemon = state.daemons[t.name];
      if (!daemon || !t.id || t.state === 'missing' || t.state === 'stopped') return { daemon: 'stopped', neighbors: [] };
      if (t.state === 'restarting') return { daemon: 'restarting', neighbors: [] };
      if (t.state === 'paused') return { daemon: 'not_answering', neighbors: [] };
      const driver = drivers[daemon.kind];
      const engine = this.deps.placement.of(t.engine);
      try {
        const viaApi = await apiNeighbors(engine.execs, t.id, daemon, state);
        if (viaApi) return { daemon: 'running', neighbors: viaApi };
        const r = await engine.execs.runListed(t.id, {
          command: driver.statesCommand ?? driver.neighborsCommand,
          timeoutS: 10,
          reuse: true,
        });
        if (r.exit_code !== 0 && noBgp(daemon, r)) return { daemon: 'running', neighbors: [] };
        if (r.exit_code !== 0) return { daemon: 'not_answering', neighbors: [] };
        return { daemon: 'running', neighbors: driver.parseNeighbors(r.stdout, bgpConfig(daemon, state)) };
      } catch {
        return { daemon: 'not_answering', neighbors: [] };
      }
    };
    return new Map(await Promise.all(targets.map((t) => limit(async () => [t.name, await read(t)] as const))));
  }

  /** The routes the daemon holds, normalised (prefix, next hop, AS path, best); undefined when it does not answer. */
  async routes(name: string): Promise<RouteEntry[] | undefined> {
    const state = await this.deps.store.read();
    const daemon = state.daemons[name];
    const engine = daemon && this.deps.placement.node(daemon);
    const info = engine && (await engine.ownedContainer(name, daemon.container_id));
    if (!daemon || !engine || !info?.State.Running || info.State.Restarting || info.State.Paused) return undefined;
    const driver = drivers[daemon.kind];
    const r = await engine.exec(info, name, { command: driver.routesCommand, timeoutS: 10, maxOutputBytes: 8 * 1024 * 1024, reuse: true });
    try {
      return r.exit_code === 0 ? driver.parseRoutes(r.stdout) : undefined;
    } catch {
      return undefined;
    }
  }

  async status(name: string): Promise<DaemonStatus> {
    const state = await this.deps.store.read();
    const daemon = state.daemons[name];
    if (!daemon) throw notFound('daemon', name);
    const engine = this.deps.placement.node(daemon);
    await engine.ready();
    const info = await engine.ownedContainer(name, daemon.container_id);
    const cstate = containerState(info);
    const base = { name, kind: daemon.kind, state: cstate, neighbors: [] as NeighborStatus[] };
    if (!info) return { ...base, daemon: 'stopped', note: 'the container is missing; daemon_start recreates it from the store' };
    if (cstate === 'restarting') {
      const logs = await engine.logTail(info.Id, 5);
      return {
        ...base,
        daemon: 'restarting',
        note: `the ${daemon.kind} daemon keeps exiting (restarted ${info.RestartCount} times)${logs ? `; last output:\n${logs}` : ''}`,
      };
    }
    if (cstate === 'paused') {
      return { ...base, daemon: 'not_answering', note: 'the container is paused (fault_list shows a node_pause; fault_clear resumes it)' };
    }
    if (cstate === 'stopped') {
      const how = info.State.ExitCode ? ` (it exited with code ${info.State.ExitCode})` : '';
      return { ...base, daemon: 'stopped', note: `the container is stopped${how}; daemon_start starts it` };
    }
    return this.#read(daemon, info, state, base);
  }

  async #read(
    daemon: DaemonRecord,
    info: ContainerInfo,
    state: StoreState,
    base: { name: string; kind: DaemonKind; state: ContainerState; neighbors: NeighborStatus[] },
  ): Promise<DaemonStatus> {
    const cfg = bgpConfig(daemon, state);
    const driver = drivers[daemon.kind];
    const engine = this.deps.placement.node(daemon);
    const viaApi = await apiNeighbors(engine.execs, info.Id, daemon, state);
    const nb = viaApi
      ? { exit_code: 0, stdout: '', stderr: '' }
      : await engine.exec(info, daemon.name, { command: driver.neighborsCommand, timeoutS: 10, reuse: true });
    if (nb.exit_code !== 0 && noBgp(daemon, nb)) {
      return {
        ...base,
        daemon: 'running',
        note: `its own ${daemon.kind} configuration runs no BGP daemon (bgpd is off in its daemons file)`,
      };
    }
    if (nb.exit_code !== 0) {
      return { ...base, daemon: 'not_answering', note: `${daemon.kind} did not answer: ${(nb.stderr || nb.stdout).trim().slice(0, 300)}` };
    }
    let neighbors: NeighborStatus[];
    try {
      neighbors = viaApi ?? driver.parseNeighbors(nb.stdout, cfg);
    } catch (err) {
      return { ...base, daemon: 'not_answering', note: `${daemon.kind} answered without neighbor data: ${(err as Error).message}` };
    }
    const rt = await engine.exec(info, daemon.name, { command: driver.routesCommand, timeoutS: 10, reuse: true });
    let routes: RouteEntry[] | undefined;
    try {
      routes = rt.exit_code === 0 ? driver.parseRoutes(rt.stdout) : undefined;
    } catch {
      routes = undefined;
    }
    const reported = new Set(neighbors.map((n) => n.address));
    const unreported = daemon.neighbors.filter((n) => !reported.has(n.address)).map((n) => n.address);
    return {
      ...base,
      daemon: 'running',
      neighbors,
      ...(routes ? { routes } : {}),
      ...(unreported.length ? { note: `configured but not reported by ${daemon.kind}: ${unreported.join(', ')}` } : {}),
    };
  }

  // --- live changes --------------------------------------------------------------------------------

  async #changed(name: string, applied: { applied: ApplyMode; note: string }): Promise<DaemonChange> {
    return { name, ...applied, daemon: await this.get(name) };
  }

  async peerAdd(name: string, n: BgpNeighbor): Promise<DaemonChange> {
    const out = await this.config.change(name, (rec, state) => {
      refuseUnsupported(rec.kind, n, '');
      if (rec.neighbors.some((x) => x.address === n.address)) {
        throw conflict(`daemon '${name}' already has a peer ${n.address}`, 'remove it first (daemon_peer_remove) to change it');
      }
      if (rec.interfaces.some((i) => i.ip === n.address)) throw invalid('address', `${n.address} is an address of '${name}' itself`);
      const subnets = connectedSubnets(rec, state);
      if (n.multihop === undefined && !subnets.some((s) => inSubnet(n.address, s.subnet))) {
        throw invalid(
          'address',
          `${n.address} is on none of the networks or tunnels of '${name}' (${subnets.map((s) => `${s.via} ${s.subnet}`).join(', ')})`,
          "connect the daemon to the peer's network first (network_connect), or set multihop for a peer further away",
        );
      }
      return { change: { op: 'peer_add', neighbor: n }, next: { ...rec, neighbors: [...rec.neighbors, stripUndefined(n)] } };
    });
    return this.#changed(name, out);
  }

  async peerRemove(name: string, address: string): Promise<DaemonChange> {
    const out = await this.config.change(name, (rec) => {
      if (!rec.neighbors.some((x) => x.address === address)) {
        throw notFound('peer', address, `daemon '${name}' has peers ${rec.neighbors.map((x) => x.address).join(', ') || '(none)'}`);
      }
      return { change: { op: 'peer_remove', address }, next: { ...rec, neighbors: rec.neighbors.filter((x) => x.address !== address) } };
    });
    return this.#changed(name, out);
  }

  async routeAdvertise(name: string, prefix: string): Promise<DaemonChange> {
    const out = await this.config.change(name, (rec) => {
      if (rec.advertise.includes(prefix)) throw conflict(`daemon '${name}' already advertises ${prefix}`);
      return { change: { op: 'advertise', prefix }, next: { ...rec, advertise: [...rec.advertise, prefix] } };
    });
    return this.#changed(name, out);
  }

  /** Turn route server mode on or off: the files rewritten and re-read (FRR: live through vtysh). */
  async setRouteServer(name: string, on: boolean): Promise<DaemonChange> {
    const out = await this.config.change(name, (rec) => {
      const noRs = drivers[rec.kind].noRouteServer;
      if (on && noRs) throw new LabError('UNSUPPORTED', `route_server: ${noRs}`);
      const { route_server: _, ...rest } = rec;
      return { change: { op: 'route_server' }, next: on ? { ...rest, route_server: true } : rest };
    });
    return this.#changed(name, out);
  }

  async routeWithdraw(name: string, prefix: string): Promise<DaemonChange> {
    const out = await this.config.change(name, (rec) => {
      if (!rec.advertise.includes(prefix)) {
        throw notFound('prefix', prefix, `daemon '${name}' advertises ${rec.advertise.join(', ') || 'nothing'}`);
      }
      return { change: { op: 'withdraw', prefix }, next: { ...rec, advertise: rec.advertise.filter((p) => p !== prefix) } };
    });
    return this.#changed(name, out);
  }
}

/** Refuse a neighbor whose timers BGP does not allow, or that sets what a `kind` daemon cannot configure. */
function refuseUnsupported(kind: DaemonKind, n: BgpNeighbor, prefix: string): void {
  const at = (field: string) => `${prefix ? `${prefix}.` : ''}${field}`;
  const timers = timersProblem(n);
  if (timers) throw invalid(at('keepalive_s'), timers);
  const [refusal] = neighborRefusals(kind, n);
  if (refusal) {
    const { field, why } = refusal;
    throw new LabError('UNSUPPORTED', `${at(field)}: not supported by ${kind}: ${why}`, {
      hint: `leave ${field} out for a ${kind} daemon`,
    });
  }
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** A node with its own config whose daemon says it runs no BGP at all (see DaemonDriver.runsNoBgp). */
export function noBgp(daemon: DaemonRecord, r: { stdout: string; stderr: string }): boolean {
  return daemon.own?.config !== undefined && drivers[daemon.kind].runsNoBgp?.(`${r.stderr}\n${r.stdout}`) === true;
}
