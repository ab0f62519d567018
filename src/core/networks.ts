import { createHash } from 'node:crypto';
import type { DockerEngine } from './docker/engine.js';
import { engineMessage, statusOf } from './docker/engine.js';
import { allowRouted, removeRouted } from './docker/firewall.js';
import { hostRouteClash } from './docker/host-routes.js';
import { isManaged, LABELS, ownership, recordLabel } from './docker/labels.js';
import type { Placement } from './engines/placement.js';
import { conflict, invalid, LabError, notFound } from './errors.js';
import {
  allocate,
  checkAddress,
  defaultGateway,
  overlaps,
  overlayProblem,
  parseCidr,
  parseSubnet,
  type Subnet,
  swarmRange,
} from './ipam.js';
import { crashPoint, pendingMark } from './pending.js';
import { undo, withLeftovers } from './rollback.js';
import type { NetworkRecord, StoreState } from './store/schema.js';
import type { Store } from './store/store.js';

export interface NetworkCreateInput {
  name: string;
  subnet: string;
  gateway?: string | undefined;
  driver?: 'bridge' | 'macvlan' | undefined;
  parent?: string | undefined;
  internal?: boolean | undefined;
  topology?: string | undefined;
  /** the engine (NSLAB_ENGINES) a bridge goes on; default: the first */
  engine?: string | undefined;
  /** 'swarm': an attachable overlay network spanning the joined engines, instead of a bridge on one */
  scope?: 'local' | 'swarm' | undefined;
}

export interface NetworkView {
  name: string;
  subnet: string;
  gateway: string;
  driver: 'bridge' | 'macvlan' | 'overlay';
  engine?: string | undefined;
  internal: boolean;
  bridge?: string | undefined;
  topology?: string | undefined;
  /** present: Docker has it; missing: only the store remembers it (sync can recreate it) */
  state: 'present' | 'missing';
  containers: Array<{ name: string; ip: string }>;
  warnings?: string[];
}

/** Bridge names are at most 15 characters; derive one from the network name so rules can find it. */
export const bridgeName = (name: string): string => `nsl${createHash('sha1').update(name).digest('hex').slice(0, 12)}`;

/** Fields of a network record its label leaves out: Docker knows them, or they are only under way. */
export const NETWORK_RECORD_OMIT = ['id', 'allocations', 'pending'] as const;

const subnetOf = (rec: NetworkRecord): Subnet => parseSubnet(rec.subnet) as Subnet;
/**
 * Remove a Docker network. An overlay's last containers may sit on another engine: the manager
 * learns of their removal a moment later and refuses until then ("network … is in use by task …"),
 * so that refusal is retried for a while.
 */
async function removeNetwork(engine: DockerEngine, id: string, overlay: boolean): Promise<void> {
  const until = Date.now() + 30_000;
  for (;;) {
    try {
      await engine.networks.remove(id);
      return;
    } catch (err) {
      if (statusOf(err) === 404) return;
      if (!overlay || !/in use by task/.test(engineMessage(err)) || Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** IPAM IPRange of an overlay: the block Docker allocates its load-balancer endpoints from. */
const dockerRange = (rec: NetworkRecord): { IPRange?: string } => {
  const range = rec.driver === 'overlay' ? swarmRange(subnetOf(rec)) : undefined;
  return range ? { IPRange: range.cidr } : {};
};

/**
 * A lab subnet may not take over a route of the machine its engine runs on. Returns a note when
 * a remote engine's routes could not be read (it has no lab image yet), so the check did not run.
 */
export async function refuseHostRoute(engine: DockerEngine, subnet: string, field: string): Promise<string | undefined> {
  const clash = await hostRouteClash(engine, subnet);
  if (clash === 'unread')
    return engine.isLocal
      ? undefined
      : `the routes of ${engineWords(engine)} were not read (it has no lab image yet): ${subnet} was not checked against them`;
  if (clash) {
    const whose = engine.isLocal ? "this machine's own route" : `the route of ${engineWords(engine)}`;
    throw new LabError(
      'CONFLICT',
      `${field}: ${subnet} overlaps ${whose} to ${clash.dst} (dev ${clash.dev}); a lab network there would take that traffic from the host`,
      {
        issues: [{ path: field, message: `overlaps the host's route to ${clash.dst}` }],
        hint: 'choose a subnet the host does not use',
      },
    );
  }
  return undefined;
}

const engineWords = (engine: DockerEngine): string =>
  engine.name ? `the host of engine '${engine.name}' (${engine.host})` : `the host of the engine at ${engine.host}`;

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
    const info = await this.engine.system.info();
    if (info.Swarm?.LocalNodeState !== 'active' || !info.Swarm.ControlAvailable) {
      throw new LabError(
        'CONFLICT',
        `${field}: a network across engines is a swarm overlay network, and the engines are not joined in a swarm`,
        {
          issues: [{ path: field, message: 'the engines are not joined in a swarm' }],
          hint: 'run `nslab engines join` (tool engine_join) first; nothing was changed',
        },
      );
    }
  }

  #view(rec: NetworkRecord, present: boolean, warnings?: string[]): NetworkView {
    return {
      name: rec.name,
      subnet: rec.subnet,
      gateway: rec.gateway,
      driver: rec.driver,
      ...(rec.engine ? { engine: rec.engine } : {}),
      internal: rec.internal,
      bridge: rec.bridge,
      topology: rec.topology,
      state: present ? 'present' : 'missing',
      containers: Object.entries(rec.allocations)
        .map(([ip, name]) => ({ name, ip }))
        .sort((a, b) => a.name.localeCompare(b.name)),
      ...(warnings?.length ? { warnings } : {}),
    };
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
    return Promise.all(recs.map(async (r) => this.#view(r, (await namesOn(this.placement.network(r))).has(r.name))));
  }

  async get(name: string): Promise<NetworkView> {
    await this.engine.ready();
    const rec = (await this.store.read()).networks[name];
    if (!rec) throw notFound('network', name);
    const engine = this.placement.network(rec);
    const info = await engine.inspectNetwork(name);
    return this.#view(rec, !!info && ownership(info.Labels, engine.labels) === 'ours');
  }

  async create(input: NetworkCreateInput): Promise<NetworkView> {
    const subnet = parseSubnet(input.subnet);
    if (typeof subnet === 'string') throw invalid('subnet', subnet);
    const driver = input.driver ?? 'bridge';
    const gateway = input.gateway ?? defaultGateway(subnet);
    const gwProblem = checkAddress(subnet, '', {}, gateway);
    if (gwProblem) throw invalid('gateway', gwProblem);
    if (driver === 'macvlan' && !input.parent)
      throw invalid('parent', 'a macvlan network needs the host interface to attach to', 'set parent, e.g. parent=eth0');
    if (driver === 'bridge' && input.parent) throw invalid('parent', 'only macvlan networks take a parent interface');
    const overlay = input.scope === 'swarm';
    if (overlay && input.driver) throw invalid('driver', 'a network with scope: swarm is a Docker Swarm overlay; leave driver out');
    if (overlay && input.engine) throw invalid('engine', 'a network with scope: swarm spans every engine of the swarm; leave engine out');
    const engineName = overlay ? undefined : this.placement.recordName(input.engine);
    const tooSmall = overlay ? overlayProblem(subnet, gateway, this.placement.names.length) : undefined;
    if (tooSmall) throw invalid('subnet', tooSmall);
    // Reaching outside the machine is the operator's choice, never a caller's.
    if (!this.allowExternal && driver === 'macvlan') {
      throw invalid(
        'driver',
        'a macvlan network reaches outside the machine; it is refused unless the operator sets NSLAB_ALLOW_EXTERNAL',
        'use the default bridge driver',
      );
    }
    if (!this.allowExternal && input.internal === false) {
      throw invalid(
        'internal',
        'a network with internal: false reaches outside the machine; it is refused unless the operator sets NSLAB_ALLOW_EXTERNAL',
        'leave internal out (lab networks are internal)',
      );
    }

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
      return this.#view({ ...rec, id: made.id }, true, unchecked ? [unchecked, ...made.warnings] : made.warnings);
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
    let id: string | undefined;
    const engine = this.placement.network(rec);
    try {
      const made = await engine.networks.create(
        {
          Name: rec.name,
          Driver: rec.driver,
          Internal: rec.internal,
          CheckDuplicate: true,
          // An overlay made on the manager: containers on any engine of the swarm may join it.
          ...(rec.driver === 'overlay' ? { Attachable: true } : {}),
          // An overlay's top block is Docker's own, for its per-engine load balancers (ipam.ts swarmRange).
          IPAM: { Driver: 'default', Config: [{ Subnet: rec.subnet, Gateway: rec.gateway, ...dockerRange(rec) }] },
          Options: rec.bridge
            ? { 'com.docker.network.bridge.name': rec.bridge }
            : rec.driver === 'macvlan'
              ? { parent: rec.parent ?? '' }
              : {},
        },
        {
          [LABELS.topology]: rec.topology,
          [LABELS.bridge]: rec.bridge,
          // Addresses in use are rebuilt from the containers' endpoints, not kept here.
          ...recordLabel(rec, NETWORK_RECORD_OMIT),
        },
      );
      id = made;
      crashPoint('network.created');
      const warnings: string[] = [];
      if (rec.bridge) {
        const w = engine.isLocal
          ? await allowRouted(rec.bridge)
          : `the engine at ${engine.host} is remote: add the forwarding rule there yourself (iptables -I DOCKER-USER -i ${rec.bridge} -o ${rec.bridge} -j ACCEPT) for routed traffic between lab networks`;
        if (w) warnings.push(w);
      }
      return { id: made, warnings };
    } catch (err) {
      const left = id ? await undo([[`network ${rec.name}`, () => this.unprovision(rec)]]) : [];
      const e =
        err instanceof LabError
          ? err
          : new LabError('DAEMON_ERROR', `Docker refused to create network '${rec.name}': ${engineMessage(err)}`, { cause: err });
      throw withLeftovers(e, left);
    }
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
  async refuseClashes(name: string, subnet: Subnet, on?: DockerEngine): Promise<void> {
    const where = this.placement.all().filter((e) => !on || e.engine === on || (this.placement.multi && e.engine === this.engine));
    const lists = await Promise.all(where.map(async (e) => (await e.engine.networks.list()).map((n) => ({ ...n, engineName: e.name }))));
    const seen = new Set<string>();
    const all = lists.flat().filter((n) => !seen.has(n.Id) && seen.add(n.Id));
    const on_ = (n: { engineName: string }) => (this.placement.multi ? ` on engine '${n.engineName}'` : '');
    const same = all.find((n) => n.Name === name);
    if (same) {
      throw conflict(
        `a Docker network named '${name}' already exists${on_(same)}${isManaged(same.Labels) ? '' : ' (not created by netstream-lab)'}`,
        'pick another name',
      );
    }
    const clashes = all
      .flatMap((n) =>
        (n.IPAM?.Config ?? []).map((c) => ({
          name: `${n.Name}${n.Scope === 'swarm' && this.placement.multi ? ', a swarm overlay' : ''}`,
          subnet: `${c.Subnet ?? ''}${on_(n)}`,
          cidr: c.Subnet ?? '',
        })),
      )
      .filter((c) => {
        const other = parseCidr(c.cidr);
        return typeof other !== 'string' && overlaps(other, subnet);
      })
      .sort((a, b) => a.name.localeCompare(b.name));
    if (clashes.length) {
      const list = clashes.map((c) => `'${c.name}' (${c.subnet})`).join(', ');
      throw conflict(
        `subnet ${subnet.cidr} overlaps Docker network${clashes.length > 1 ? 's' : ''} ${list}`,
        'choose a subnet that does not overlap',
      );
    }
  }

  /** Remove the Docker network of a record (only if it is this store's) and its forwarding rule. */
  async unprovision(rec: Pick<NetworkRecord, 'name' | 'bridge' | 'driver' | 'engine'>, opts: { keepRule?: boolean } = {}): Promise<void> {
    const engine = this.placement.network(rec);
    const info = await engine.inspectNetwork(rec.name);
    if (info && ownership(info.Labels, engine.labels) === 'ours') {
      engine.act(info.Id);
      await removeNetwork(engine, info.Id, rec.driver === 'overlay');
    }
    if (rec.bridge && engine.isLocal && !opts.keepRule) await removeRouted(rec.bridge);
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

  // --- address allocation, used by daemons and hosts inside a store transaction -------------------

  /** Reserve an address on `network` for `owner` (chosen, or the lowest free). Mutates the state. */
  /** `field` prefixes the paths in errors: `interfaces.0` gives `interfaces.0.network` / `interfaces.0.ip`; '' gives `network` / `ip`. */
  static reserve(state: StoreState, field: string, network: string, owner: string, ip?: string): string {
    const rec = state.networks[network];
    if (!rec)
      throw invalid(
        field ? `${field}.network` : 'network',
        `network '${network}' does not exist`,
        'create it first with network_create, or list them with network_list',
      );
    const subnet = subnetOf(rec);
    const docker = rec.driver === 'overlay' ? swarmRange(subnet) : undefined;
    if (ip === undefined || ip === 'auto') {
      const free = allocate(subnet, rec.gateway, rec.allocations, docker);
      if (!free) throw conflict(`network '${network}' (${rec.subnet}) has no free address left`);
      rec.allocations[free] = owner;
      return free;
    }
    const problem = checkAddress(subnet, rec.gateway, rec.allocations, ip, docker);
    if (problem) throw invalid(field ? `${field}.ip` : 'ip', problem);
    rec.allocations[ip] = owner;
    return ip;
  }

  /** Release every address held by `owner` (or one network's). Mutates the state. */
  static release(state: StoreState, owner: string, network?: string): void {
    for (const rec of Object.values(state.networks)) {
      if (network && rec.name !== network) continue;
      for (const [ip, who] of Object.entries(rec.allocations)) if (who === owner) delete rec.allocations[ip];
    }
  }
}
