import type { FileEntry } from './docker/archive.js';
import type { DockerEngine } from './docker/engine.js';
import { engineMessage } from './docker/engine.js';
import type { ExecOptions, ExecResult } from './docker/exec.js';
import { LABELS, ownershipLabels, recordLabel } from './docker/labels.js';
import type { Placement } from './engines/placement.js';
import { conflict, invalid, LabError, notFound } from './errors.js';
import type { ImageKind, Images } from './images.js';
import { Networks } from './networks.js';
import { crashPoint, pendingMark } from './pending.js';
import type { OpContext } from './progress.js';
import { undo, withLeftovers } from './rollback.js';
import type { DaemonRecord, HostRecord, StoreState } from './store/schema.js';
import type { Store } from './store/store.js';
import { tunnelFiles } from './tunnels/render.js';

/** Daemons and hosts are both "nodes": a lab container with interfaces on lab networks. */
export type NodeCollection = 'daemons' | 'hosts';
export type NodeRecord = DaemonRecord | HostRecord;
export type ContainerState = 'running' | 'stopped' | 'restarting' | 'missing';

export interface InterfaceRequest {
  network: string;
  ip?: string | undefined;
}

/**
 * Capabilities instead of --privileged, per kind: NET_ADMIN to route, add addresses and tunnels,
 * NET_RAW to ping (binding port 179 is in Docker's default set). Only FRR gets SYS_ADMIN: its
 * privilege code asks for it at start, and without it bgpd does not start (tried: zebra and
 * bgpd exit, `vtysh` says "bgpd is not running").
 */
const CAPS: Record<ImageKind, string[]> = {
  frr: ['NET_ADMIN', 'NET_RAW', 'SYS_ADMIN'],
  gobgp: ['NET_ADMIN', 'NET_RAW'],
  exabgp: ['NET_ADMIN', 'NET_RAW'],
  host: ['NET_ADMIN', 'NET_RAW'],
};

/** What bounds each lab container: memory, processes, CPU. */
export interface NodeLimits {
  memoryMb: number;
  pids: number;
  cpus: number;
}
export const DEFAULT_NODE_LIMITS: NodeLimits = { memoryMb: 512, pids: 256, cpus: 1 };
const SYSCTLS = {
  'net.ipv4.ip_forward': '1',
  'net.ipv4.conf.all.rp_filter': '0',
  'net.ipv4.conf.default.rp_filter': '0',
};

/** Fields of a node record that its label and record file leave out: Docker knows them, or they are only under way. */
export const NODE_RECORD_OMIT = ['container_id', 'image', 'pending'] as const;
/**
 * The node's current record inside its container (the label keeps the one it was created with;
 * a daemon's peers and prefixes change later, and this file follows them). Read back by sync_run
 * to rebuild a lost store; it holds MD5 passwords, as the daemon's own config beside it does.
 */
export const RECORD_FILE = '/etc/nslab/record.json';
export function recordFile(rec: NodeRecord): FileEntry {
  const kept = Object.fromEntries(Object.entries(rec).filter(([k]) => !(NODE_RECORD_OMIT as readonly string[]).includes(k)));
  return { path: RECORD_FILE, content: `${JSON.stringify(kept)}\n`, mode: 0o600 };
}

export function containerState(info: { State: { Running: boolean; Restarting: boolean } } | undefined): ContainerState {
  if (!info) return 'missing';
  if (info.State.Restarting) return 'restarting';
  return info.State.Running ? 'running' : 'stopped';
}

/**
 * A node joins only networks it can reach: an overlay from any engine, a bridge only from the
 * engine it is on (INVALID_INPUT naming the interface otherwise).
 */
export function refuseEngineSplit(s: StoreState, rec: { interfaces: Array<{ network: string }> }, engine: string, first: string): void {
  rec.interfaces.forEach((i, n) => {
    const net = s.networks[i.network];
    if (!net || net.driver === 'overlay') return;
    const on = net.engine ?? first;
    if (on !== engine) {
      throw invalid(
        `interfaces.${n}.network`,
        `network '${i.network}' is a ${net.driver} on engine '${on}', and this node would run on engine '${engine}'`,
        `put the node on engine '${on}', or use a network made with scope: swarm (an overlay that spans the engines)`,
      );
    }
  });
}

export class NodeBase {
  /** Set by the lab: what else goes with a node before it is deleted (its tunnels); returns notes. */
  beforeDelete?: (name: string) => Promise<string[]>;

  constructor(
    /** which engine each node is on (composition: one object shared by every service) */
    protected readonly placement: Placement,
    protected readonly store: Store,
    protected readonly images: Images,
    protected readonly limits: NodeLimits = DEFAULT_NODE_LIMITS,
  ) {}

  /** The engine a node record runs on. */
  protected engineOf(rec: { engine?: string | undefined }): DockerEngine {
    return this.placement.node(rec);
  }

  /** The engine of the daemon or host of that name in the store (the default when there is none). */
  protected async engineFor(name: string): Promise<DockerEngine> {
    const s = await this.store.read();
    return this.engineOf(s.daemons[name] ?? s.hosts[name] ?? {});
  }

  /** Refuse a name any daemon, host or container already has, on the engine it would go to (or every engine). */
  async refuseTakenName(name: string, engine?: DockerEngine): Promise<void> {
    const engines = engine ? [engine] : this.placement.all().map((e) => e.engine);
    for (const e of engines) {
      const info = await e.inspectContainer(name);
      if (info) {
        throw conflict(`a container named '${name}' already exists`, 'pick another name, or delete the existing one first');
      }
    }
  }

  protected static takenInStore(s: StoreState, name: string): void {
    if (s.daemons[name] || s.hosts[name]) {
      throw conflict(`'${name}' already exists as a ${s.daemons[name] ? 'daemon' : 'host'}`, 'pick another name');
    }
  }

  /** Reserve addresses for every requested interface. Mutates the state. */
  protected static reserveInterfaces(s: StoreState, owner: string, reqs: InterfaceRequest[]): Array<{ network: string; ip: string }> {
    const seen = new Set<string>();
    return reqs.map((r, i) => {
      if (seen.has(r.network)) {
        throw new LabError('INVALID_INPUT', `interfaces.${i}.network: '${r.network}' is listed twice`, {
          issues: [{ path: `interfaces.${i}.network`, message: 'listed twice' }],
        });
      }
      seen.add(r.network);
      return { network: r.network, ip: Networks.reserve(s, `interfaces.${i}`, r.network, owner, r.ip) };
    });
  }

  /**
   * Create, wire and start the container for a node record. Docker 20.10 takes one network at
   * create time; the others are connected before the first start. Config files go in before start
   * so the entrypoint finds them. On any failure the half-made container is removed.
   */
  protected async createContainer(
    rec: NodeRecord,
    role: 'daemon' | 'host',
    imageKind: ImageKind,
    files: FileEntry[],
    networks: StoreState['networks'],
    ctx: OpContext,
    wait = true,
  ): Promise<{ id: string; image: string }> {
    const engine = this.engineOf(rec);
    // Attach only to this store's networks, by id: a foreign network that took a lab network's
    // name must never receive a lab container. An overlay is found through the swarm's manager;
    // its id is what the node's own engine attaches to.
    const nets = await Promise.all(
      rec.interfaces.map(async (i) => {
        const n = networks[i.network];
        return { ...i, id: (await (n ? this.placement.network(n) : engine).ownedNetwork(i.network, n?.id)).Id };
      }),
    );
    const image = await this.images.ensure(imageKind, ctx.progress, engine);
    const [first, ...rest] = nets;
    if (!first) throw new LabError('INVALID_INPUT', 'interfaces: at least one interface is needed');
    ctx.progress?.(`creating container ${rec.name}`);
    let id: string | undefined;
    try {
      const c = await engine.call(
        engine.api.createContainer({
          name: rec.name,
          Image: image,
          Hostname: rec.name,
          Labels: ownershipLabels(engine.labels, role, {
            [LABELS.nodeKind]: imageKind,
            [LABELS.topology]: rec.topology,
            ...recordLabel(rec, NODE_RECORD_OMIT),
          }),
          HostConfig: {
            CapAdd: CAPS[imageKind],
            Sysctls: SYSCTLS,
            // Contained: no privilege gained through setuid programs, bounded processes, memory, CPU.
            SecurityOpt: ['no-new-privileges'],
            PidsLimit: this.limits.pids,
            Memory: this.limits.memoryMb * 1024 * 1024,
            MemorySwap: this.limits.memoryMb * 1024 * 1024,
            NanoCpus: Math.round(this.limits.cpus * 1e9),
            RestartPolicy: { Name: 'unless-stopped' },
            NetworkMode: first.id,
            Init: false,
          },
          NetworkingConfig: {
            EndpointsConfig: { [first.id]: { IPAMConfig: { IPv4Address: first.ip } } },
          },
        }),
      );
      id = c.id;
      crashPoint('node.container_created');
      for (const i of rest) {
        await engine.call(engine.api.getNetwork(i.id).connect({ Container: id, EndpointConfig: { IPAMConfig: { IPv4Address: i.ip } } }));
      }
      await engine.putFiles(id, files);
      crashPoint('node.files_written');
      await startAttaching(
        () => engine.call(c.start()),
        (m) => ctx.progress?.(`${rec.name}: ${m}`),
      );
      crashPoint('node.started');
      if (wait) await this.started(rec, id, ctx);
      return { id, image };
    } catch (err) {
      const made = id;
      const left = made ? await undo([[`container ${rec.name}`, () => engine.removeContainerId(made)]]) : [];
      const e =
        err instanceof LabError
          ? err
          : new LabError('DAEMON_ERROR', `could not create container '${rec.name}': ${engineMessage(err)}`, { cause: err });
      throw withLeftovers(e, left);
    }
  }

  /** Called once a node's container has started; a daemon waits here until its BGP daemon answers. */
  started(_rec: NodeRecord, _id: string, _ctx: OpContext): Promise<void> {
    return Promise.resolve();
  }

  protected async record<C extends NodeCollection>(coll: C, name: string): Promise<StoreState[C][string]> {
    const rec = (await this.store.read())[coll][name];
    if (!rec) throw notFound(coll === 'daemons' ? 'daemon' : 'host', name);
    return rec as StoreState[C][string];
  }

  /** Drop the record and free its addresses (after a failed create, or a delete). */
  protected forget(coll: NodeCollection, name: string): Promise<void> {
    return this.store.update((s) => {
      delete s[coll][name];
      Networks.release(s, name);
    });
  }
}

/**
 * The lifecycle daemons and hosts share: list, get, create, delete, stop, start (recreating a
 * container that is gone from the store), exec. A subclass says which image and files a record
 * needs and how it is shown.
 */
export abstract class NodeService<C extends NodeCollection, V> extends NodeBase {
  protected abstract readonly coll: C;
  protected abstract readonly role: 'daemon' | 'host';
  protected abstract imageKind(rec: StoreState[C][string]): ImageKind;
  /** Files the entrypoint reads; may throw LabError when the record no longer fits the store. */
  protected abstract files(rec: StoreState[C][string], state: StoreState): FileEntry[];
  protected abstract view(rec: StoreState[C][string], state: ContainerState): V;

  async list(): Promise<V[]> {
    await this.placement.default.ready();
    const recs = Object.values((await this.store.read())[this.coll]) as Array<StoreState[C][string]>;
    recs.sort((a, b) => a.name.localeCompare(b.name));
    const found = await Promise.all(recs.map((r) => this.engineOf(r).classifyContainer(r.name, r.container_id)));
    // A container by that name that is not ours does not count as this node's container.
    return recs.map((r, i) => this.view(r, containerState(found[i]?.owner === 'ours' ? found[i]?.info : undefined)));
  }

  async get(name: string): Promise<V> {
    const rec = await this.record(this.coll, name);
    const engine = this.engineOf(rec);
    await engine.ready();
    return this.view(rec, containerState(await engine.ownedContainer(name, rec.container_id)));
  }

  /**
   * Reserve name and addresses in the store (fill builds the record inside that transaction),
   * then make the container. A failure removes the record again: nothing is left half made.
   */
  protected async createNode(
    name: string,
    engineName: string | undefined,
    fill: (s: StoreState) => StoreState[C][string],
    ctx: OpContext,
  ): Promise<V> {
    const engine = this.placement.of(engineName);
    await engine.ready();
    await this.refuseTakenName(name, engine);
    await this.store.update((s) => {
      NodeBase.takenInStore(s, name);
      const rec = fill(s);
      refuseEngineSplit(s, rec, engineName ?? this.placement.defaultName, this.placement.defaultName);
      (s[this.coll] as Record<string, StoreState[C][string]>)[name] = {
        ...rec,
        ...(engineName ? { engine: engineName } : {}),
        pending: pendingMark('create'),
      };
    });
    crashPoint('node.reserved');
    try {
      return this.view(await this.#build(name, ctx), 'running');
    } catch (err) {
      await this.forget(this.coll, name);
      throw err;
    }
  }

  /**
   * Make and start the container of a record already reserved in `state`, with its config and
   * tunnel files; no store access (topology standup provisions many nodes from one snapshot).
   */
  async provision(rec: StoreState[C][string], state: StoreState, ctx: OpContext = {}, wait = true): Promise<{ id: string; image: string }> {
    let files: FileEntry[];
    try {
      // Tunnels ending here are part of the node: its entrypoint brings them up at every start.
      files = [...this.files(rec, state), ...tunnelFiles(state, rec.name), recordFile(rec)];
    } catch (err) {
      if (err instanceof LabError) throw err;
      // The drivers refuse values their config language cannot represent.
      throw new LabError('INVALID_INPUT', `the ${this.role} configuration cannot be written: ${(err as Error).message}`);
    }
    return this.createContainer(rec, this.role, this.imageKind(rec), files, state.networks, ctx, wait);
  }

  async #build(name: string, ctx: OpContext): Promise<StoreState[C][string]> {
    const state = await this.store.read();
    const rec = state[this.coll][name] as StoreState[C][string] | undefined;
    if (!rec) throw notFound(this.role, name);
    const { id, image } = await this.provision(rec, state, ctx);
    try {
      return await this.store.update((s) => {
        const r = s[this.coll][name] as StoreState[C][string] | undefined;
        if (!r) throw new LabError('CONFLICT', `${this.role} '${name}' was deleted while it was being created`);
        r.container_id = id;
        r.image = image;
        delete r.pending;
        return r;
      });
    } catch (err) {
      throw withLeftovers(err, await undo([[`container ${name}`, () => this.engineOf(rec).removeContainerId(id)]]));
    }
  }

  async delete(name: string): Promise<{ deleted: string; warnings?: string[] }> {
    const rec = await this.record(this.coll, name);
    const engine = this.engineOf(rec);
    await engine.ready();
    // Marked first: a delete killed part way is finished by sync_run, not undone.
    await this.store.update((s) => {
      const r = s[this.coll][name];
      if (r) r.pending = pendingMark('delete');
    });
    const warnings: string[] = (await this.beforeDelete?.(name)) ?? [];
    const found = await engine.classifyContainer(name, rec.container_id);
    if (found?.owner === 'ours') await engine.removeContainerId(found.info.Id);
    else if (found) warnings.push(`a container named '${name}' that netstream-lab did not create was left alone`);
    crashPoint('node.container_removed');
    await this.forget(this.coll, name);
    return { deleted: name, ...(warnings.length ? { warnings } : {}) };
  }

  async stop(name: string): Promise<V> {
    const rec = await this.record(this.coll, name);
    const engine = this.engineOf(rec);
    await engine.ready();
    const info = await engine.ownedContainer(name, rec.container_id);
    if (info) await engine.stopContainer(info.Id);
    await this.#setDesired(name, 'stopped');
    return this.get(name);
  }

  /** Start the container, or recreate it from the store when it is gone. */
  async start(name: string, ctx: OpContext = {}): Promise<V> {
    const rec = await this.record(this.coll, name);
    const engine = this.engineOf(rec);
    await engine.ready();
    const info = await engine.ownedContainer(name, rec.container_id);
    if (info) {
      const wasRunning = info.State.Running && !info.State.Restarting;
      await engine.startContainer(info.Id);
      if (!wasRunning) await this.started(rec, info.Id, ctx);
    } else {
      ctx.progress?.(`container ${name} is gone; recreating it from the store`);
      await this.#build(name, ctx);
    }
    await this.#setDesired(name, 'running');
    return this.get(name);
  }

  /**
   * Finish a create killed part way (sync_run): whatever container it left may lack networks or
   * files, so it goes, and the node is made again from its record.
   */
  async finishCreate(name: string, ctx: OpContext = {}): Promise<V> {
    const rec = await this.record(this.coll, name);
    const engine = this.engineOf(rec);
    await engine.ready();
    const info = await engine.ownedContainer(name, rec.container_id);
    if (info) await engine.removeContainerId(info.Id);
    await this.#build(name, ctx);
    await this.#setDesired(name, 'running');
    return this.get(name);
  }

  #setDesired(name: string, desired: 'running' | 'stopped'): Promise<void> {
    return this.store.update((s) => {
      const r = s[this.coll][name];
      if (r) r.desired = desired;
    });
  }

  async exec(name: string, opts: ExecOptions): Promise<ExecResult> {
    const rec = await this.record(this.coll, name);
    const engine = this.engineOf(rec);
    await engine.ready();
    const info = await engine.ownedContainer(name, rec.container_id);
    if (!info) {
      throw new LabError('CONFLICT', `the container of '${name}' is missing`, { hint: `recreate it with ${this.role}_start` });
    }
    return engine.exec(info, name, opts);
  }
}

/**
 * Start a container. On a swarm overlay Docker asks the manager for the container's network
 * attachment and gives up after 20 s ("attaching to network failed … context deadline exceeded");
 * now and then an engine joining several overlays at once races in Docker's gossip ("Bulk sync to
 * node … timed out", moby/moby#51701 and #47396: a 30 s hang), and a new start then succeeds.
 * So that refusal is retried twice; any other error is thrown.
 */
export async function startAttaching(start: () => Promise<unknown>, note: (m: string) => void): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await start();
      return;
    } catch (err) {
      if (attempt >= 3 || !/attaching to network failed/.test(engineMessage(err))) throw err;
      note(`the swarm did not attach it to its overlay network in time; starting it again (${attempt + 1} of 3)`);
      // The manager frees the failed attempt's addresses a moment later; asking at once finds them taken.
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}
