/**
 * The lifecycle daemons and hosts share: list, get, create, delete, stop, start (recreating a
 * container that is gone from the store), exec. What differs per kind (image, files, view,
 * readiness) comes from a NodeKind strategy; the services hold a lifecycle, they do not extend it.
 */
import type { FileEntry } from '../docker/archive.js';
import type { DockerEngine } from '../docker/engine.js';
import type { ExecOptions, ExecResult } from '../docker/exec.js';
import type { Placement } from '../engines/placement.js';
import { LabError, notFound } from '../errors.js';
import type { ImageKind } from '../images.js';
import { Networks } from '../networks.js';
import { crashPoint, pendingMark } from '../pending.js';
import type { OpContext } from '../progress.js';
import { undo, withLeftovers } from '../rollback.js';
import type { StoreState } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { tunnelFiles } from '../tunnels/render.js';
import type { NodeContainers } from './container.js';
import { type ContainerState, containerState, type NodeCollection, type RecordOf, recordFile } from './records.js';
import { refuseEngineSplit, refuseTakenInStore } from './reserve.js';

/** What one kind of node decides; everything else about its life is the same for every kind. */
export interface NodeKind<C extends NodeCollection, V> {
  readonly coll: C;
  readonly role: 'daemon' | 'host';
  image(rec: RecordOf<C>): ImageKind;
  /** Files the entrypoint reads; may throw LabError when the record no longer fits the store. */
  files(rec: RecordOf<C>, state: StoreState): FileEntry[];
  view(rec: RecordOf<C>, state: ContainerState): V;
  /** Resolves once a freshly started container counts as up (a daemon: once its BGP daemon answers). */
  ready?(node: StartedNode<C>, ctx: OpContext): Promise<void>;
}

export interface StartedNode<C extends NodeCollection> {
  rec: RecordOf<C>;
  id: string;
  engine: DockerEngine;
  /** the store as it is now (a readiness check renders the config it expects) */
  readState: () => Promise<StoreState>;
}

/** Collaborators every node lifecycle is given. */
export interface NodeDeps {
  /** which engine each node is on */
  placement: Placement;
  store: Store;
  containers: NodeContainers;
  /** what else goes with a node before it is deleted (its tunnels); returns notes */
  attached: { removeFor(name: string): Promise<string[]> };
}

export class NodeLifecycle<C extends NodeCollection, V> {
  constructor(
    private readonly kind: NodeKind<C, V>,
    private readonly deps: NodeDeps,
  ) {}

  /** The engine a node record runs on. */
  engineOf(rec: { engine?: string | undefined }): DockerEngine {
    return this.deps.placement.node(rec);
  }

  async record(name: string): Promise<RecordOf<C>> {
    const rec = (await this.deps.store.read())[this.kind.coll][name];
    if (!rec) throw notFound(this.kind.role, name);
    return rec as RecordOf<C>;
  }

  async list(): Promise<V[]> {
    await this.deps.placement.default.ready();
    const recs = Object.values((await this.deps.store.read())[this.kind.coll]) as Array<RecordOf<C>>;
    recs.sort((a, b) => a.name.localeCompare(b.name));
    const found = await Promise.all(recs.map((r) => this.engineOf(r).classifyContainer(r.name, r.container_id)));
    // A container by that name that is not ours does not count as this node's container.
    return recs.map((r, i) => this.kind.view(r, containerState(found[i]?.owner === 'ours' ? found[i]?.info : undefined)));
  }

  async get(name: string): Promise<V> {
    const rec = await this.record(name);
    const engine = this.engineOf(rec);
    await engine.ready();
    return this.kind.view(rec, containerState(await engine.ownedContainer(name, rec.container_id)));
  }

  /**
   * Reserve name and addresses in the store (fill builds the record inside that transaction),
   * then make the container. A failure removes the record again: nothing is left half made.
   */
  async create(name: string, engineName: string | undefined, fill: (s: StoreState) => RecordOf<C>, ctx: OpContext): Promise<V> {
    const engine = this.deps.placement.of(engineName);
    await engine.ready();
    await this.deps.containers.refuseTakenName(name, engine);
    await this.deps.store.update((s) => {
      refuseTakenInStore(s, name);
      const rec = fill(s);
      refuseEngineSplit(s, rec, engineName ?? this.deps.placement.defaultName, this.deps.placement.defaultName);
      (s[this.kind.coll] as Record<string, RecordOf<C>>)[name] = {
        ...rec,
        ...(engineName ? { engine: engineName } : {}),
        pending: pendingMark('create'),
      };
    });
    crashPoint('node.reserved');
    try {
      return this.kind.view(await this.#build(name, ctx), 'running');
    } catch (err) {
      await this.#forget(name);
      throw err;
    }
  }

  /**
   * Make and start the container of a record already reserved in `state`, with its config and
   * tunnel files; no store access (topology standup provisions many nodes from one snapshot).
   */
  async provision(rec: RecordOf<C>, state: StoreState, ctx: OpContext = {}, wait = true): Promise<{ id: string; image: string }> {
    let files: FileEntry[];
    try {
      // Tunnels ending here are part of the node: its entrypoint brings them up at every start.
      files = [...this.kind.files(rec, state), ...tunnelFiles(state, rec.name), recordFile(rec)];
    } catch (err) {
      if (err instanceof LabError) throw err;
      // The drivers refuse values their config language cannot represent.
      throw new LabError('INVALID_INPUT', `the ${this.kind.role} configuration cannot be written: ${(err as Error).message}`);
    }
    const spec = { role: this.kind.role, image: this.kind.image(rec), files };
    return this.deps.containers.create(rec, spec, state.networks, ctx, wait ? (id) => this.#ready(rec, id, ctx) : undefined);
  }

  async #build(name: string, ctx: OpContext): Promise<RecordOf<C>> {
    const state = await this.deps.store.read();
    const rec = state[this.kind.coll][name] as RecordOf<C> | undefined;
    if (!rec) throw notFound(this.kind.role, name);
    const { id, image } = await this.provision(rec, state, ctx);
    try {
      return await this.deps.store.update((s) => {
        const r = s[this.kind.coll][name] as RecordOf<C> | undefined;
        if (!r) throw new LabError('CONFLICT', `${this.kind.role} '${name}' was deleted while it was being created`);
        r.container_id = id;
        r.image = image;
        delete r.pending;
        return r;
      });
    } catch (err) {
      throw withLeftovers(err, await undo([[`container ${name}`, () => this.engineOf(rec).removeContainerId(id)]]));
    }
  }

  /** Called once a node's container has started; a daemon waits here until its BGP daemon answers. */
  #ready(rec: RecordOf<C>, id: string, ctx: OpContext): Promise<void> {
    if (!this.kind.ready) return Promise.resolve();
    return this.kind.ready({ rec, id, engine: this.engineOf(rec), readState: () => this.deps.store.read() }, ctx);
  }

  async delete(name: string): Promise<{ deleted: string; warnings?: string[] }> {
    const rec = await this.record(name);
    const engine = this.engineOf(rec);
    await engine.ready();
    // Marked first: a delete killed part way is finished by sync_run, not undone.
    await this.deps.store.update((s) => {
      const r = s[this.kind.coll][name];
      if (r) r.pending = pendingMark('delete');
    });
    const warnings: string[] = await this.deps.attached.removeFor(name);
    const found = await engine.classifyContainer(name, rec.container_id);
    if (found?.owner === 'ours') await engine.removeContainerId(found.info.Id);
    else if (found) warnings.push(`a container named '${name}' that netstream-lab did not create was left alone`);
    crashPoint('node.container_removed');
    await this.#forget(name);
    return { deleted: name, ...(warnings.length ? { warnings } : {}) };
  }

  async stop(name: string): Promise<V> {
    const { engine, info } = await this.#found(name);
    if (info) await engine.stopContainer(info.Id);
    await this.#setDesired(name, 'stopped');
    return this.get(name);
  }

  /** Start the container, or recreate it from the store when it is gone. */
  async start(name: string, ctx: OpContext = {}): Promise<V> {
    const { rec, engine, info } = await this.#found(name);
    if (info) {
      const wasRunning = info.State.Running && !info.State.Restarting;
      await engine.startContainer(info.Id);
      if (!wasRunning) await this.#ready(rec, info.Id, ctx);
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
    const { engine, info } = await this.#found(name);
    if (info) await engine.removeContainerId(info.Id);
    await this.#build(name, ctx);
    await this.#setDesired(name, 'running');
    return this.get(name);
  }

  async exec(name: string, opts: ExecOptions): Promise<ExecResult> {
    const { engine, info } = await this.#found(name);
    if (!info) {
      throw new LabError('CONFLICT', `the container of '${name}' is missing`, { hint: `recreate it with ${this.kind.role}_start` });
    }
    return engine.exec(info, name, opts);
  }

  /** The node's record, its engine (once it answers), and the container of ours it has, if any. */
  async #found(name: string) {
    const rec = await this.record(name);
    const engine = this.engineOf(rec);
    await engine.ready();
    const info = await engine.ownedContainer(name, rec.container_id);
    return { rec, engine, info };
  }

  #setDesired(name: string, desired: 'running' | 'stopped'): Promise<void> {
    return this.deps.store.update((s) => {
      const r = s[this.kind.coll][name];
      if (r) r.desired = desired;
    });
  }

  /** Drop the record and free its addresses (after a failed create, or a delete). */
  #forget(name: string): Promise<void> {
    return this.deps.store.update((s) => {
      delete s[this.kind.coll][name];
      Networks.release(s, name);
    });
  }
}
