import { drivers } from './bgp/index.js';
import type { BgpConfig, BgpNeighbor, DaemonKind, NeighborStatus, RouteEntry } from './bgp/types.js';
import type { FileEntry } from './docker/archive.js';
import { notFound } from './errors.js';
import { type ContainerState, containerState, type InterfaceRequest, NodeBase, NodeService } from './nodes.js';
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

export class Daemons extends NodeService<'daemons', DaemonView> {
  protected readonly coll = 'daemons';
  protected readonly role = 'daemon';
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
    };
  }

  async create(input: DaemonCreateInput, ctx: OpContext = {}): Promise<DaemonView> {
    return this.createNode(
      input.name,
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

  async status(name: string): Promise<DaemonStatus> {
    await this.engine.ready();
    const state = await this.store.read();
    const daemon = state.daemons[name];
    if (!daemon) throw notFound('daemon', name);
    const cfg = bgpConfig(daemon, state);
    const driver = drivers[daemon.kind];
    const info = await this.engine.ownedContainer(name);
    const cstate = containerState(info);
    const idle = (): NeighborStatus[] => daemon.neighbors.map((n) => ({ address: n.address, asn: n.asn, state: 'Idle' }));
    const base = { name, kind: daemon.kind, state: cstate };
    if (!info || cstate !== 'running') return { ...base, neighbors: idle(), note: `container is ${cstate}` };

    const nb = await this.engine.exec(info, name, { command: driver.neighborsCommand, timeoutS: 10 });
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
    const rt = await this.engine.exec(info, name, { command: driver.routesCommand, timeoutS: 10 });
    let routes: RouteEntry[] | undefined;
    try {
      routes = rt.exit_code === 0 ? driver.parseRoutes(rt.stdout) : undefined;
    } catch {
      routes = undefined;
    }
    return { ...base, neighbors, ...(routes ? { routes } : {}) };
  }
}
