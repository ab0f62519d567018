import type { DockerEngine, NetworkInfo } from './docker/engine.js';
import { allowRouted } from './docker/firewall.js';
import { ownership } from './docker/labels.js';
import type { Placement } from './engines/placement.js';
import { conflict, LabError, notFound } from './errors.js';
import { overlaps, type Subnet } from './ipam.js';
import { releaseAddresses, reserveAddress } from './networks/addresses.js';
import { checkCreate, refuseClashes, refuseHostRoute, requireSwarm } from './networks/checks.js';
import { provisionNetwork, unprovisionNetwork } from './networks/docker.js';
import { bridgeName, type NetworkCreateInput, type NetworkView, networkView, subnetOf } from './networks/view.js';
import { crashPoint, pendingMark } from './pending.js';
import { undo, withLeftovers } from './rollback.js';
import type { NetworkRecord, StoreState } from './store/schema.js';
import type { Store } from './store/store.js';

export { refuseHostRoute } from './networks/checks.js';
export { bridgeName, NETWORK_RECORD_OMIT, type NetworkCreateInput, type NetworkView } from './networks/view.js';

/**
 * The lab's networks: the store's records and the Docker networks they stand for. The checks
 * (networks/checks.ts), the Docker side (networks/docker.ts) and address allocation
 * (networks/addresses.ts) live beside this file; this class runs them in order.
 */
export class Networks {
  constructor(
    private readonly placement: Placement,
    private readonly store: Store,
    private readonly allowExternal = false,
  ) {}

  /** The default engine: the store's id is read through it, and the swarm is managed from it. */
  private get engine(): DockerEngine {
    return this.placement.default;
  }

  /** An overlay needs the engines joined in a swarm; CONFLICT saying how to join them otherwise. */
  async requireSwarm(field = 'scope'): Promise<void> {
    return requireSwarm(this.engine, field);
  }

  async list(): Promise<NetworkView[]> {
    await this.engine.ready();
    const state = await this.store.read();
    const recs = Object.values(state.networks).sort((a, b) => a.name.localeCompare(b.name));
    // One query per engine that holds any of them.
    const present = new Map<DockerEngine, Promise<Set<string>>>();
    const namesOn = (e: DockerEngine) => {
      let p = present.get(e);
      if (!p) {
        p = e.networks.listOwned().then((nets) => new Set(nets.map((n) => n.Name)));
        present.set(e, p);
      }
      return p;
    };
    return Promise.all(recs.map(async (r) => networkView(r, (await namesOn(this.placement.network(r))).has(r.name))));
  }

  async get(name: string): Promise<NetworkView> {
    await this.engine.ready();
    const rec = (await this.store.read()).networks[name];
    if (!rec) throw notFound('network', name);
    const engine = this.placement.network(rec);
    const info = await engine.inspectNetwork(name);
    return networkView(rec, !!info && ownership(info.Labels, engine.labels) === 'ours');
  }

  async create(input: NetworkCreateInput): Promise<NetworkView> {
    const { subnet, driver, gateway, overlay, engineName } = checkCreate(input, this.placement, this.allowExternal);

    await this.engine.ready();
    if (overlay) await this.requireSwarm();
    const target = overlay ? undefined : this.placement.of(engineName);
    await this.refuseClashes(input.name, subnet, target);
    const unchecked = await refuseHostRoute(target ?? this.engine, subnet.cidr, 'subnet');
    const bridge = driver === 'bridge' && !overlay ? bridgeName(input.name) : undefined;
    const rec: NetworkRecord = {
      name: input.name,
      subnet: subnet.cidr,
      gateway,
      driver: overlay ? 'overlay' : driver,
      ...(engineName ? { engine: engineName } : {}),
      ...(input.parent ? { parent: input.parent } : {}),
      internal: input.internal ?? true,
      ...(bridge ? { bridge } : {}),
      ...(input.topology ? { topology: input.topology } : {}),
      created_at: new Date().toISOString(),
      allocations: {},
    };
    // Reserve the name in the store first so two concurrent creates cannot both pass the checks.
    await this.store.update((s) => {
      if (s.networks[rec.name]) throw conflict(`network '${rec.name}' already exists`);
      const clash = Object.values(s.networks).find((n) => overlaps(subnetOf(n), subnet));
      if (clash)
        throw conflict(`subnet ${subnet.cidr} overlaps network '${clash.name}' (${clash.subnet})`, 'choose a subnet that does not overlap');
      s.networks[rec.name] = { ...rec, pending: pendingMark('create') };
    });
    crashPoint('network.reserved');
    let id: string | undefined;
    try {
      const made = await this.provision(rec);
      id = made.id;
      await this.store.update((s) => {
        const r = s.networks[rec.name];
        if (!r) throw conflict(`network '${rec.name}' was deleted while it was being created`);
        r.id = made.id;
        delete r.pending;
      });
      return networkView({ ...rec, id: made.id }, true, unchecked ? [unchecked, ...made.warnings] : made.warnings);
    } catch (err) {
      const left = id ? await undo([[`network ${rec.name}`, () => this.unprovision(rec)]]) : [];
      await this.store.update((s) => {
        delete s.networks[rec.name];
      });
      throw withLeftovers(err, left);
    }
  }

  /**
   * Make the Docker network of a reserved record, labelled, with its forwarding rule; no store
   * access (topology standup reserves many at once). A refusal leaves nothing behind.
   */
  async provision(rec: NetworkRecord): Promise<{ id: string; warnings: string[] }> {
    return provisionNetwork(this.placement, rec, (r) => this.unprovision(r));
  }

  /**
   * Finish a create killed part way (sync_run): keep the network Docker has (this store's) or make
   * it, put its forwarding rule back, and record its id.
   */
  async finishCreate(name: string): Promise<NetworkView> {
    await this.engine.ready();
    const rec = (await this.store.read()).networks[name];
    if (!rec) throw notFound('network', name);
    const engine = this.placement.network(rec);
    const info = await engine.inspectNetwork(name);
    let id: string;
    if (info && ownership(info.Labels, engine.labels) === 'ours') {
      id = info.Id;
      if (rec.bridge && engine.isLocal) {
        const w = await allowRouted(rec.bridge);
        if (w) throw new LabError('DAEMON_ERROR', w);
      }
    } else id = (await this.provision(rec)).id;
    await this.store.update((s) => {
      const r = s.networks[name];
      if (!r) return;
      r.id = id;
      delete r.pending;
    });
    return this.get(name);
  }

  /**
   * Refuse a name or subnet any Docker network already has (this store's or not): on the engine a
   * bridge goes to (and the manager, which sees the swarm's overlays), or on every engine for an
   * overlay (`on` undefined).
   */
  async refuseClashes(
    name: string,
    subnet: Subnet,
    on?: DockerEngine,
    listed?: (engine: DockerEngine) => Promise<NetworkInfo[]>,
  ): Promise<void> {
    return refuseClashes(this.placement, name, subnet, on, listed);
  }

  /** Remove the Docker network of a record (only if it is this store's) and its forwarding rule. */
  async unprovision(rec: Pick<NetworkRecord, 'name' | 'bridge' | 'driver' | 'engine'>, opts: { keepRule?: boolean } = {}): Promise<void> {
    return unprovisionNetwork(this.placement, rec, opts);
  }

  async delete(name: string): Promise<{ deleted: string }> {
    await this.engine.ready();
    const rec = (await this.store.read()).networks[name];
    if (!rec) throw notFound('network', name);
    const users = new Set(Object.values(rec.allocations));
    const info = await this.placement.network(rec).inspectNetwork(name);
    // An overlay lists the swarm's own load-balancer endpoint (key lb-<network>): not a user.
    for (const [key, c] of Object.entries(info?.Containers ?? {})) if (c.Name && !key.startsWith('lb-')) users.add(c.Name);
    if (users.size > 0) {
      throw conflict(
        `network '${name}' is still used by ${[...users].sort().join(', ')}`,
        'delete those daemons/hosts or disconnect them first (network_disconnect)',
      );
    }
    // Marked first: a delete killed part way is finished by sync_run, not undone.
    await this.store.update((s) => {
      const r = s.networks[name];
      if (r) r.pending = pendingMark('delete');
    });
    await this.unprovision(rec);
    crashPoint('network.removed');
    await this.store.update((s) => {
      delete s.networks[name];
    });
    return { deleted: name };
  }

  // --- address allocation, used by daemons and hosts inside a store transaction (networks/addresses.ts)

  /** Reserve an address on `network` for `owner` (chosen, or the lowest free). Mutates the state. */
  /** `field` prefixes the paths in errors: `interfaces.0` gives `interfaces.0.network` / `interfaces.0.ip`; '' gives `network` / `ip`. */
  static reserve(state: StoreState, field: string, network: string, owner: string, ip?: string): string {
    return reserveAddress(state, field, network, owner, ip);
  }

  /** Release every address held by `owner` (or one network's). Mutates the state. */
  static release(state: StoreState, owner: string, network?: string): void {
    releaseAddresses(state, owner, network);
  }
}
