/**
 * Faults put into a running lab on purpose, and undone: a link down inside a container, a paused
 * node, a killed BGP daemon (its container stays: the image's entrypoint waits while
 * /run/nslab/daemon-held exists), a reset session. Each lasting fault is recorded in the store
 * before Docker is touched (so that two callers cannot put the same fault twice) and removed
 * once it is undone; fault_clear, teardown and standup undo them.
 */
import { randomBytes } from 'node:crypto';
import { birdProtocolName } from '../bgp/bird.js';
import type { DaemonKind } from '../bgp/types.js';
import { labView } from '../checks/lab-view.js';
import type { FaultSpec } from '../checks/spec.js';
import type { Daemons } from '../daemons.js';
import type { ContainerInfo, DockerEngine } from '../docker/engine.js';
import type { Placement } from '../engines/placement.js';
import { conflict, invalid, LabError, notFound } from '../errors.js';
import { isIpv4 } from '../ipam.js';
import { parseRoutes, routeSpec } from '../routes-keep.js';
import type { FaultRecord, StoreState } from '../store/schema.js';
import type { Store } from '../store/store.js';

export interface FaultView {
  id: string;
  kind: string;
  target: string;
  at: string;
  topology?: string;
  node?: string;
  network?: string;
  momentary?: boolean;
}

export interface FaultDeps {
  store: Store;
  placement: Placement;
  daemons: Pick<Daemons, 'neighborStates'>;
}

/** How each kind's BGP daemon is killed (the entrypoint then holds the container without it) and how a session is reset. */
const HOLD = 'mkdir -p /run/nslab && touch /run/nslab/daemon-held';
const KILL: Record<DaemonKind, string[]> = {
  frr: ['sh', '-c', `${HOLD} && pkill -KILL -x watchfrr; pkill -KILL -x bgpd; true`],
  gobgp: ['sh', '-c', `${HOLD} && pkill -KILL -x gobgpd; true`],
  exabgp: ['sh', '-c', `${HOLD} && pkill -KILL -x exabgp; true`],
  bird: ['sh', '-c', `${HOLD} && pkill -KILL -x bird; true`],
  openbgpd: ['sh', '-c', `${HOLD} && pkill -KILL -x bgpd; true`],
};
const RELEASE = ['rm', '-f', '/run/nslab/daemon-held'];
/** argv that resets the session to `peer` (an IPv4 address from the store), or undefined when the kind cannot. */
const RESET: Record<DaemonKind, ((peer: string) => string[]) | undefined> = {
  frr: (peer) => ['vtysh', '-c', `clear bgp ${peer}`],
  gobgp: (peer) => ['gobgp', 'neighbor', peer, 'reset'],
  exabgp: undefined,
  bird: (peer) => ['birdc', 'restart', birdProtocolName(peer)],
  openbgpd: (peer) => ['bgpctl', 'neighbor', peer, 'clear'],
};

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

const newId = (): string => `f-${randomBytes(4).toString('hex')}`;

/** The interface inside a container that has `ip`, from `ip -o -4 addr show` (text the container wrote: checked). */
export function interfaceWith(output: string, ip: string): string | undefined {
  for (const line of output.split('\n')) {
    const m = /^\d+:\s+(\S+)\s+inet\s+(\d+\.\d+\.\d+\.\d+)\//.exec(line);
    const name = m?.[1]?.split('@')[0];
    if (m && m[2] === ip && name && IFNAME.test(name)) return name;
  }
  return undefined;
}

export class Faults {
  constructor(private readonly deps: FaultDeps) {}

  async list(topology?: string): Promise<FaultView[]> {
    const state = await this.deps.store.read();
    const of = (f: FaultRecord) => f.topology ?? (state.daemons[f.node] ?? state.hosts[f.node])?.topology;
    return Object.values(state.faults ?? {})
      .filter((f) => topology === undefined || of(f) === topology)
      .sort((a, b) => a.at.localeCompare(b.at))
      .map((f) => view(f));
  }

  /** The node's record and its running container; `what` is the field that named it. */
  async #running(
    state: StoreState,
    name: string,
    field: string,
  ): Promise<{ engine: DockerEngine; info: ContainerInfo; kind?: DaemonKind }> {
    const rec = state.daemons[name] ?? state.hosts[name];
    if (!rec) throw notFound('node', name, `${field}: name a daemon or host of the lab (daemon_list, host_list)`);
    const engine = this.deps.placement.node(rec);
    const info = await engine.ownedContainer(name, rec.container_id);
    if (!info?.State.Running)
      throw conflict(`${name} is not running (${field})`, `start it first (${state.daemons[name] ? 'daemon_start' : 'host_start'})`);
    return { engine, info, ...(state.daemons[name] ? { kind: state.daemons[name].kind } : {}) };
  }

  async inject(spec: FaultSpec, topology?: string): Promise<FaultView> {
    switch (spec.kind) {
      case 'link_up':
        return this.#linkUp(spec.node, spec.network, topology);
      case 'session_reset':
        return this.#reset(spec.a, spec.b, topology);
      default:
        return this.#lasting(spec, topology);
    }
  }

  async #lasting(spec: Extract<FaultSpec, { kind: 'link_down' | 'node_pause' | 'daemon_kill' }>, topology?: string): Promise<FaultView> {
    const state = await this.deps.store.read();
    const { engine, info, kind } = await this.#running(state, spec.node, 'node');
    if (info.State.Paused) throw conflict(`${spec.node} is paused`, 'clear its node_pause fault first (fault_list, fault_clear)');
    const rec: FaultRecord = {
      id: newId(),
      kind: spec.kind,
      node: spec.node,
      at: new Date().toISOString(),
      ...(topology ? { topology } : {}),
    };
    let ifname: string | undefined;
    if (spec.kind === 'link_down') {
      const iface = (state.daemons[spec.node] ?? state.hosts[spec.node])?.interfaces.find((i) => i.network === spec.network);
      if (!iface) throw invalid('network', `${spec.node} has no interface on '${spec.network}'`, 'name one of the networks it is on');
      const addrs = await engine.exec(info, spec.node, { command: ['ip', '-o', '-4', 'addr', 'show'], timeoutS: 10 });
      ifname = interfaceWith(addrs.stdout, iface.ip);
      if (!ifname)
        throw conflict(`${spec.node} has no interface with ${iface.ip} (its address on ${spec.network})`, 'sync_run shows what differs');
      const routes = await engine.exec(info, spec.node, {
        command: ['ip', '-4', '-j', 'route', 'show', 'table', 'main', 'dev', ifname],
        timeoutS: 10,
      });
      // Routes the kernel drops with the link and nobody puts back (a host's default route):
      // daemons' own (zebra, bgp, GoBGP's proto 186) come back by themselves.
      const kept = parseRoutesSafe(routes.stdout)
        .filter((r) => r.gateway && (r.protocol === undefined || r.protocol === 'static' || r.protocol === 'boot'))
        .flatMap((r) => {
          const t = routeSpec(r, true);
          return t ? [t] : [];
        });
      Object.assign(rec, { network: spec.network, interface: ifname, routes: kept });
    }
    if (spec.kind === 'daemon_kill' && !kind) throw invalid('node', `${spec.node} is a host; daemon_kill stops a router's BGP daemon`);
    await this.deps.store.update((s) => {
      const same = Object.values(s.faults ?? {}).find((f) => f.node === rec.node && f.kind === rec.kind && f.network === rec.network);
      if (same)
        throw conflict(
          `${targetOf(rec)} already has this fault (${same.id}, since ${same.at})`,
          'fault_clear it first, or pick another target',
        );
      s.faults[rec.id] = rec;
    });
    try {
      if (spec.kind === 'link_down') {
        await this.#exec(engine, info, spec.node, ['ip', 'link', 'set', 'dev', ifname as string, 'down']);
      } else if (spec.kind === 'node_pause') {
        await engine.pauseContainer(info.Id);
      } else {
        await this.#exec(engine, info, spec.node, KILL[kind as DaemonKind]);
        await this.#until(
          async () => (await this.deps.daemons.neighborStates(spec.node)) === undefined,
          10_000,
          `the BGP daemon of ${spec.node} still answers after it was killed`,
        );
      }
    } catch (err) {
      await this.#undo(rec).catch(() => undefined);
      await this.#forget(rec.id);
      throw err;
    }
    return view(rec);
  }

  async #linkUp(node: string, network: string, topology?: string): Promise<FaultView> {
    const f = Object.values((await this.deps.store.read()).faults ?? {}).find(
      (x) => x.kind === 'link_down' && x.node === node && x.network === network,
    );
    if (!f)
      throw conflict(`${node}'s link on ${network} is not down by a fault`, 'fault_list shows the faults; link_up undoes a link_down');
    await this.clear(f.id);
    return { ...view(f), kind: 'link_up', at: new Date().toISOString(), ...(topology ? { topology } : {}) };
  }

  async #reset(a: string, b: string, topology?: string): Promise<FaultView> {
    const state = await this.deps.store.read();
    const ra = state.daemons[a];
    const rb = state.daemons[b];
    if (!ra) throw notFound('daemon', a, 'a: session_reset takes two routers');
    if (!rb) throw notFound('daemon', b, 'b: session_reset takes two routers');
    // Each router's addresses (interfaces, tunnel ends, router id) as checks see them.
    const view = labView(state);
    const addrsOf = (name: string) => new Set(view.nodes.get(name)?.addresses ?? []);
    const peerOfA = ra.neighbors.find((n) => addrsOf(b).has(n.address))?.address;
    const peerOfB = rb.neighbors.find((n) => addrsOf(a).has(n.address))?.address;
    if (!peerOfA || !peerOfB) throw conflict(`${a} and ${b} have no BGP session with each other`, 'daemon_status shows their neighbors');
    // Reset from an end whose daemon can do it (ExaBGP's CLI cannot).
    const side = RESET[ra.kind]
      ? { name: a, kind: ra.kind, peer: peerOfA }
      : RESET[rb.kind]
        ? { name: b, kind: rb.kind, peer: peerOfB }
        : undefined;
    if (!side) throw invalid('a', `neither ${ra.kind} nor ${rb.kind} can reset a session from its CLI`);
    if (!isIpv4(side.peer)) throw invalid('a', `the neighbor address ${JSON.stringify(side.peer)} is not an IPv4 address`);
    const { engine, info } = await this.#running(state, side.name, side.name === a ? 'a' : 'b');
    await this.#exec(engine, info, side.name, (RESET[side.kind] as (p: string) => string[])(side.peer));
    return {
      id: newId(),
      kind: 'session_reset',
      target: `${a} <-> ${b}`,
      at: new Date().toISOString(),
      momentary: true,
      ...(topology ? { topology } : {}),
    };
  }

  /** Undo faults: one by id, or all (of one topology); each undone is forgotten, what could not be undone is said. */
  async clear(which: string, topology?: string): Promise<{ cleared: FaultView[]; warnings: string[] }> {
    const state = await this.deps.store.read();
    const all = Object.values(state.faults ?? {});
    const ofTopology = (f: FaultRecord) => f.topology === topology || (state.daemons[f.node] ?? state.hosts[f.node])?.topology === topology;
    const chosen = which === 'all' ? all.filter((f) => topology === undefined || ofTopology(f)) : all.filter((f) => f.id === which);
    if (which !== 'all' && !chosen.length) throw notFound('fault', which, 'fault_list shows the faults in the lab');
    const warnings: string[] = [];
    // Resume paused nodes first: nothing else can be undone inside a frozen container.
    chosen.sort((x, y) => Number(y.kind === 'node_pause') - Number(x.kind === 'node_pause'));
    for (const f of chosen) {
      try {
        const note = await this.#undo(f);
        if (note) warnings.push(note);
      } catch (err) {
        warnings.push(`${f.id} (${f.kind} ${targetOf(f)}): ${(err as Error).message}`);
      }
      await this.#forget(f.id);
    }
    return { cleared: chosen.map((f) => view(f)), warnings };
  }

  /** Forget the faults of a topology's nodes after undoing what still runs (teardown, standup). */
  async clearTopology(topology: string): Promise<string[]> {
    return (await this.clear('all', topology)).warnings;
  }

  /** Forget a topology's faults without undoing them (its containers are gone: teardown). */
  async forgetTopology(topology: string): Promise<void> {
    await this.deps.store.update((s) => {
      for (const f of Object.values(s.faults ?? {})) {
        if (
          f.topology === topology ||
          (s.daemons[f.node] ?? s.hosts[f.node])?.topology === topology ||
          !(s.daemons[f.node] ?? s.hosts[f.node])
        ) {
          delete s.faults[f.id];
        }
      }
    });
  }

  async #undo(f: FaultRecord): Promise<string | undefined> {
    const state = await this.deps.store.read();
    const rec = state.daemons[f.node] ?? state.hosts[f.node];
    if (!rec) return undefined;
    const engine = this.deps.placement.node(rec);
    const info = await engine.ownedContainer(f.node, rec.container_id);
    if (!info) return undefined; // the container is gone: so is the fault
    if (f.kind === 'node_pause') {
      await engine.unpauseContainer(info.Id);
      return undefined;
    }
    if (!info.State.Running) return undefined;
    if (f.kind === 'link_down' && f.interface && IFNAME.test(f.interface)) {
      await this.#exec(engine, info, f.node, ['ip', 'link', 'set', 'dev', f.interface, 'up']);
      for (const r of f.routes ?? []) {
        if (!r.every((t) => /^[A-Za-z0-9_.:/@-]+$/.test(t))) continue;
        await engine.exec(info, f.node, { command: ['ip', 'route', 'replace', ...r], timeoutS: 10 });
      }
      return undefined;
    }
    if (f.kind === 'daemon_kill') {
      // The entrypoint exits once the hold is gone and the restart policy starts the daemon again.
      await this.#exec(engine, info, f.node, RELEASE);
      const ok = await this.#until(
        async () => (await this.deps.daemons.neighborStates(f.node).catch(() => undefined)) !== undefined,
        60_000,
      ).then(
        () => true,
        () => false,
      );
      return ok ? undefined : `the BGP daemon of ${f.node} did not answer within 60 s of its restart: daemon_status ${f.node}`;
    }
    return undefined;
  }

  async #forget(id: string): Promise<void> {
    await this.deps.store.update((s) => {
      delete s.faults[id];
    });
  }

  async #exec(engine: DockerEngine, info: ContainerInfo, name: string, command: string[]): Promise<void> {
    const r = await engine.exec(info, name, { command, timeoutS: 15 });
    if (r.exit_code !== 0) {
      throw new LabError(
        'DAEMON_ERROR',
        `${command.slice(0, 3).join(' ')} failed in ${name}: ${(r.stderr || r.stdout).trim().slice(0, 300)}`,
      );
    }
  }

  async #until(ok: () => Promise<boolean>, ms: number, message = 'timed out'): Promise<void> {
    const end = Date.now() + ms;
    while (!(await ok())) {
      if (Date.now() > end) throw new LabError('TIMEOUT', message);
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

function parseRoutesSafe(json: string) {
  try {
    return parseRoutes(json);
  } catch {
    return [];
  }
}

const targetOf = (f: Pick<FaultRecord, 'node' | 'network'>): string => (f.network ? `${f.node} on ${f.network}` : f.node);

function view(f: FaultRecord): FaultView {
  return {
    id: f.id,
    kind: f.kind,
    target: targetOf(f),
    at: f.at,
    node: f.node,
    ...(f.network ? { network: f.network } : {}),
    ...(f.topology ? { topology: f.topology } : {}),
  };
}
