import { drivers } from './bgp/index.js';
import type { BgpConfig, BgpNeighbor, DaemonKind, NeighborStatus, RouteEntry } from './bgp/types.js';
import type { ExecOptions, ExecResult } from './docker/exec.js';
import { LabError } from './errors.js';
import { type ContainerState, containerState, type InterfaceRequest, NodeBase } from './nodes.js';
import type { OpContext } from './progress.js';
import type { DaemonRecord, StoreState } from './store/schema.js';

export interface DaemonCreateInput {
  name: string;
  kind: DaemonKind;
  asn: number;
  router_id?: string | undefined;
  interfaces: InterfaceRequest[];
  neighbors?: BgpNeighbor[] | undefined;
  advertise?: string[] | undefined;
  topology?: string | undefined;
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
}

export interface DaemonStatus {
  name: string;
  kind: DaemonKind;
  state: ContainerState;
  neighbors: NeighborStatus[];
  routes?: RouteEntry[];
  /** why neighbor states could not be read (daemon starting, container stopped...) */
  note?: string;
}

/** The config a driver renders, from the record and the networks it sits on. */
export function bgpConfig(rec: DaemonRecord, state: StoreState): BgpConfig {
  return {
    name: rec.name,
    kind: rec.kind,
    asn: rec.asn,
    router_id: rec.router_id,
    interfaces: rec.interfaces.map((i) => ({ ...i, subnet: state.networks[i.network]?.subnet ?? `${i.ip}/32` })),
    neighbors: rec.neighbors,
    advertise: rec.advertise,
  };
}

export class Daemons extends NodeBase {
  #view(rec: DaemonRecord, state: ContainerState): DaemonView {
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
    };
  }

  async list(): Promise<DaemonView[]> {
    await this.engine.ready();
    const state = await this.store.read();
    const recs = Object.values(state.daemons).sort((a, b) => a.name.localeCompare(b.name));
    const infos = await Promise.all(recs.map((r) => this.engine.inspectContainer(r.name)));
    return recs.map((r, i) => this.#view(r, containerState(infos[i])));
  }

  async get(name: string): Promise<DaemonView> {
    await this.engine.ready();
    const rec = await this.record('daemons', name);
    return this.#view(rec, containerState(await this.engine.ownedContainer(name)));
  }

  async create(input: DaemonCreateInput, ctx: OpContext = {}): Promise<DaemonView> {
    await this.engine.ready();
    await this.refuseTakenName(input.name);
    const rec = await this.store.update((s) => {
      NodeBase.takenInStore(s, input.name);
      const interfaces = NodeBase.reserveInterfaces(s, input.name, input.interfaces);
      const r: DaemonRecord = {
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
      s.daemons[r.name] = r;
      return { rec: r, state: structuredClone(s) };
    });
    try {
      const made = await this.#makeContainer(rec.rec, rec.state, ctx);
      return this.#view(made, 'running');
    } catch (err) {
      await this.forget('daemons', input.name);
      throw err;
    }
  }

  async #makeContainer(rec: DaemonRecord, state: StoreState, ctx: OpContext): Promise<DaemonRecord> {
    const files = drivers[rec.kind].render(bgpConfig(rec, state));
    const { id, image } = await this.createContainer(rec, 'daemon', rec.kind, files, ctx);
    return this.store.update((s) => {
      const r = s.daemons[rec.name];
      if (!r) throw new LabError('CONFLICT', `daemon '${rec.name}' was deleted while it was being created`);
      r.container_id = id;
      r.image = image;
      return r;
    });
  }

  async delete(name: string): Promise<{ deleted: string }> {
    await this.engine.ready();
    await this.removeNode('daemons', name);
    return { deleted: name };
  }

  async stop(name: string): Promise<DaemonView> {
    await this.engine.ready();
    await this.stopNode('daemons', name);
    return this.get(name);
  }

  /** Start the container, or recreate it from the store when it is gone. */
  async start(name: string, ctx: OpContext = {}): Promise<DaemonView> {
    await this.engine.ready();
    const rec = await this.record('daemons', name);
    const info = await this.engine.ownedContainer(name);
    if (info) {
      await this.engine.startContainer(info.Id);
    } else {
      ctx.progress?.(`container ${name} is gone; recreating it from the store`);
      await this.#makeContainer(rec, await this.store.read(), ctx);
    }
    await this.store.update((s) => {
      const r = s.daemons[name];
      if (r) r.desired = 'running';
    });
    return this.get(name);
  }

  async exec(name: string, opts: ExecOptions): Promise<ExecResult> {
    await this.engine.ready();
    return this.execNode('daemons', name, opts);
  }

  async status(name: string): Promise<DaemonStatus> {
    await this.engine.ready();
    const state = await this.store.read();
    const rec = state.daemons[name];
    if (!rec) await this.record('daemons', name);
    const daemon = rec as DaemonRecord;
    const cfg = bgpConfig(daemon, state);
    const driver = drivers[daemon.kind];
    const info = await this.engine.ownedContainer(name);
    const cstate = containerState(info);
    const idle = (): NeighborStatus[] => daemon.neighbors.map((n) => ({ address: n.address, asn: n.asn, state: 'Idle' }));
    const base = { name, kind: daemon.kind, state: cstate };
    if (!info || cstate !== 'running') return { ...base, neighbors: idle(), note: `container is ${cstate}` };

    const nb = await this.engine.exec(info.Id, { command: driver.neighborsCommand, timeoutS: 10 });
    if (nb.exit_code !== 0) {
      return { ...base, neighbors: idle(), note: `${daemon.kind} is not answering yet: ${(nb.stderr || nb.stdout).trim().slice(0, 300)}` };
    }
    let neighbors: NeighborStatus[];
    try {
      neighbors = driver.parseNeighbors(nb.stdout, cfg);
    } catch (err) {
      // A daemon that is still starting answers with a warning instead of its table.
      return { ...base, neighbors: idle(), note: `${daemon.kind} answered without neighbor data yet: ${(err as Error).message}` };
    }
    const rt = await this.engine.exec(info.Id, { command: driver.routesCommand, timeoutS: 10 });
    let routes: RouteEntry[] | undefined;
    try {
      routes = rt.exit_code === 0 ? driver.parseRoutes(rt.stdout) : undefined;
    } catch {
      routes = undefined;
    }
    return { ...base, neighbors, ...(routes ? { routes } : {}) };
  }
}
