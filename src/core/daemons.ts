import { drivers } from './bgp/index.js';
import type { ApplyMode, BgpNeighbor, DaemonKind, NeighborStatus, RouteEntry } from './bgp/types.js';
import { bgpConfig, DaemonConfig } from './daemon-config.js';
import type { FileEntry } from './docker/archive.js';
import type { ContainerInfo } from './docker/engine.js';
import { conflict, invalid, LabError, notFound } from './errors.js';
import { type ContainerState, containerState, type InterfaceRequest, NodeBase, NodeService } from './nodes.js';
import type { OpContext } from './progress.js';
import type { DaemonRecord, StoreState } from './store/schema.js';
import { connectedSubnets, inSubnet } from './subnets.js';

export { bgpConfig };

export interface DaemonCreateInput {
  name: string;
  kind: DaemonKind;
  asn: number;
  router_id?: string | undefined;
  interfaces: InterfaceRequest[];
  neighbors?: BgpNeighbor[] | undefined;
  advertise?: string[] | undefined;
  topology?: string | undefined;
  engine?: string | undefined;
}

export interface DaemonView {
  name: string;
  kind: DaemonKind;
  asn: number;
  router_id: string;
  interfaces: Array<{ network: string; ip: string }>;
  neighbors: Array<Omit<BgpNeighbor, 'password'> & { has_password: boolean }>;
  advertise: string[];
  state: ContainerState;
  image?: string | undefined;
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

export interface DaemonChange {
  name: string;
  applied: ApplyMode;
  note: string;
  daemon: DaemonView;
}

/** How long a new or started daemon has to answer before create/start fails. */
const READY_TIMEOUT_MS = 60_000;

export class Daemons extends NodeService<'daemons', DaemonView> {
  protected readonly coll = 'daemons';
  protected readonly role = 'daemon';
  readonly config = new DaemonConfig(this.placement, this.store);

  protected imageKind(rec: DaemonRecord) {
    return rec.kind;
  }

  protected files(rec: DaemonRecord, state: StoreState): FileEntry[] {
    return drivers[rec.kind].render(bgpConfig(rec, state));
  }

  protected view(rec: DaemonRecord, state: ContainerState): DaemonView {
    return {
      name: rec.name,
      kind: rec.kind,
      asn: rec.asn,
      router_id: rec.router_id,
      interfaces: rec.interfaces,
      neighbors: rec.neighbors.map(({ password, ...n }) => ({ ...n, has_password: !!password })),
      advertise: rec.advertise,
      state,
      image: rec.image,
      topology: rec.topology,
      ...(rec.engine ? { engine: rec.engine } : {}),
    };
  }

  async create(input: DaemonCreateInput, ctx: OpContext = {}): Promise<DaemonView> {
    for (const [i, n] of (input.neighbors ?? []).entries()) refuseUnsupported(input.kind, n, `neighbors.${i}`);
    return this.createNode(
      input.name,
      this.placement.recordName(input.engine),
      (s) => {
        const interfaces = NodeBase.reserveInterfaces(s, input.name, input.interfaces);
        return {
          name: input.name,
          kind: input.kind,
          asn: input.asn,
          router_id: input.router_id ?? (interfaces[0]?.ip as string),
          interfaces,
          neighbors: input.neighbors ?? [],
          advertise: input.advertise ?? [],
          ...(input.topology ? { topology: input.topology } : {}),
          desired: 'running',
          created_at: new Date().toISOString(),
        };
      },
      ctx,
    );
  }

  /**
   * A daemon counts as started once it answers its own CLI. One that exits instead (a config it
   * refuses, a crash loop) fails the create or start, with the last lines it printed.
   */
  override async started(rec: DaemonRecord, id: string, ctx: OpContext): Promise<void> {
    const driver = drivers[rec.kind];
    const engine = this.engineOf(rec);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    ctx.progress?.(`waiting for ${rec.kind} in ${rec.name} to answer`);
    let last = '';
    let restarts: number | undefined;
    while (Date.now() < deadline) {
      if (ctx.signal?.aborted) throw new LabError('TIMEOUT', `cancelled while waiting for '${rec.name}' to start`);
      const info = await engine.inspectContainer(id);
      restarts ??= info?.RestartCount ?? 0;
      if (!info?.State.Running || info.State.Restarting || info.RestartCount > restarts) {
        const logs = await engine.logTail(id);
        throw new LabError(
          'DAEMON_ERROR',
          `the ${rec.kind} daemon of '${rec.name}' exited right after starting${logs ? `; it said:\n${logs}` : ''}`,
          {
            hint: 'nothing was kept; check the configuration values (neighbors, prefixes)',
          },
        );
      }
      const r = await engine.exec(info, rec.name, { command: driver.neighborsCommand, timeoutS: 10 });
      if (r.exit_code === 0) {
        try {
          driver.parseNeighbors(r.stdout, bgpConfig(rec, await this.store.read()));
          return;
        } catch (err) {
          last = (err as Error).message;
        }
      } else last = (r.stderr || r.stdout).trim();
      await new Promise((res) => setTimeout(res, 250));
    }
    throw new LabError(
      'TIMEOUT',
      `the ${rec.kind} daemon of '${rec.name}' did not answer within ${READY_TIMEOUT_MS / 1000} s: ${last.slice(0, 300)}`,
    );
  }

  /** Only the neighbor states, as the daemon reports them (undefined when it does not answer): cheap enough to poll. */
  async neighborStates(name: string): Promise<NeighborStatus[] | undefined> {
    const state = await this.store.read();
    const daemon = state.daemons[name];
    const engine = daemon && this.engineOf(daemon);
    const info = engine && (await engine.ownedContainer(name, daemon.container_id));
    if (!daemon || !engine || !info?.State.Running || info.State.Restarting) return undefined;
    const driver = drivers[daemon.kind];
    const r = await engine.exec(info, name, { command: driver.neighborsCommand, timeoutS: 10 });
    try {
      return r.exit_code === 0 ? driver.parseNeighbors(r.stdout, bgpConfig(daemon, state)) : undefined;
    } catch {
      return undefined;
    }
  }

  async status(name: string): Promise<DaemonStatus> {
    const state = await this.store.read();
    const daemon = state.daemons[name];
    if (!daemon) throw notFound('daemon', name);
    const engine = this.engineOf(daemon);
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
    const engine = this.engineOf(daemon);
    const nb = await engine.exec(info, daemon.name, { command: driver.neighborsCommand, timeoutS: 10 });
    if (nb.exit_code !== 0) {
      return { ...base, daemon: 'not_answering', note: `${daemon.kind} did not answer: ${(nb.stderr || nb.stdout).trim().slice(0, 300)}` };
    }
    let neighbors: NeighborStatus[];
    try {
      neighbors = driver.parseNeighbors(nb.stdout, cfg);
    } catch (err) {
      return { ...base, daemon: 'not_answering', note: `${daemon.kind} answered without neighbor data: ${(err as Error).message}` };
    }
    const rt = await engine.exec(info, daemon.name, { command: driver.routesCommand, timeoutS: 10 });
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

function refuseUnsupported(kind: DaemonKind, n: BgpNeighbor, prefix: string): void {
  const unsupported = drivers[kind].unsupported ?? {};
  for (const [field, why] of Object.entries(unsupported)) {
    const v = n[field as keyof BgpNeighbor];
    if (v !== undefined && v !== false) {
      throw new LabError('UNSUPPORTED', `${prefix ? `${prefix}.` : ''}${field}: not supported by ${kind}: ${why}`, {
        hint: `leave ${field} out for a ${kind} daemon`,
      });
    }
  }
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
