import type { ChangeOutcome, DaemonConfig } from './daemon-config.js';
import { engineMessage, statusOf } from './docker/engine.js';
import type { Placement } from './engines/placement.js';
import { conflict, LabError, notFound } from './errors.js';
import { Networks } from './networks.js';
import type { NodeCollection } from './nodes/records.js';
import { refuseEngineSplit } from './nodes/reserve.js';
import { keepRoutes } from './routes-keep.js';
import type { StoreState } from './store/schema.js';
import type { Store } from './store/store.js';
import { connectedSubnets, inSubnet } from './subnets.js';

export interface ConnectInput {
  network: string;
  container: string;
  ip?: string | undefined;
}

export interface ConnectResult {
  network: string;
  container: string;
  ip: string;
  bgp?: ChangeOutcome;
  warnings?: string[];
}

/** Hosts whose default gateway is `container` and that would share no network with it any more. */
function strandedHosts(s: StoreState, container: string, network: string): string[] {
  const node = s.daemons[container] ?? s.hosts[container];
  const left = new Set(node?.interfaces.filter((i) => i.network !== network).map((i) => i.network));
  return Object.values(s.hosts)
    .filter((h) => h.gateway === container && !h.interfaces.some((i) => left.has(i.network)))
    .map((h) => `host ${h.name} (its gateway)`);
}

/** Peers of a daemon that no network or tunnel would reach once it leaves `network`. */
function strandedPeers(s: StoreState, container: string, network: string): string[] {
  const rec = s.daemons[container];
  if (!rec) return [];
  const remaining = connectedSubnets({ ...rec, interfaces: rec.interfaces.filter((i) => i.network !== network) }, s);
  return rec.neighbors
    .filter((n) => n.multihop === undefined && !remaining.some((c) => inSubnet(n.address, c.subnet)))
    .map((n) => `BGP peer ${n.address}`);
}

function collectionOf(s: StoreState, name: string): NodeCollection {
  if (s.daemons[name]) return 'daemons';
  if (s.hosts[name]) return 'hosts';
  throw notFound(
    'container',
    name,
    'only daemons and hosts created by netstream-lab can be connected; list them with daemon_list or host_list',
  );
}

/** Attaching lab containers to lab networks after creation, with addresses kept in the store. */
export class Wiring {
  constructor(
    /** which engine each node and network is on */
    private readonly placement: Placement,
    private readonly store: Store,
    /** brings a daemon's BGP files in line with its record after a change */
    private readonly daemonConfig: Pick<DaemonConfig, 'refresh'>,
  ) {}

  /** The daemon's BGP files follow; a daemon that cannot take them now is a warning, not a failed call (the wiring is done). */
  async #follow(coll: NodeCollection, name: string, warnings: string[]): Promise<ChangeOutcome | undefined> {
    if (coll !== 'daemons') return undefined;
    try {
      return await this.daemonConfig.refresh(name);
    } catch (err) {
      warnings.push(
        `the BGP configuration of '${name}' could not follow yet (${err instanceof LabError ? err.message : String(err)}); daemon_start or sync_run applies it`,
      );
      return undefined;
    }
  }

  async connect(input: ConnectInput): Promise<ConnectResult> {
    await this.placement.default.ready();
    const { coll, ip, engine, net } = await this.store.update((s) => {
      const coll = collectionOf(s, input.container);
      const rec = s[coll][input.container];
      const net = s.networks[input.network];
      if (!net) throw notFound('network', input.network);
      refuseEngineSplit(
        s,
        { interfaces: [{ network: input.network }] },
        rec?.engine ?? this.placement.defaultName,
        this.placement.defaultName,
      );
      if (rec?.interfaces.some((i) => i.network === input.network)) {
        throw conflict(`'${input.container}' is already connected to '${input.network}'`);
      }
      const ip = Networks.reserve(s, '', input.network, input.container, input.ip);
      rec?.interfaces.push({ network: input.network, ip });
      return { coll, ip, engine: this.placement.node(rec ?? {}), net: structuredClone(net) };
    });
    const warnings: string[] = [];
    try {
      const info = await engine.ownedContainer(input.container);
      if (info) {
        // An overlay is looked up through the manager; the node's engine attaches to its id.
        const found = await this.placement.network(net).ownedNetwork(input.network, net.id);
        // Docker collides with routes the lab gave the container (its gateway, learned routes): see routes-keep.ts.
        const kept = await keepRoutes(engine, info, input.container, net.subnet, () => engine.networks.connect(found.Id, info.Id, ip));
        warnings.push(...kept.warnings);
      }
    } catch (err) {
      await this.#drop(coll, input.container, input.network);
      if (err instanceof LabError) throw err;
      throw new LabError('DAEMON_ERROR', `Docker could not connect '${input.container}' to '${input.network}': ${engineMessage(err)}`, {
        cause: err,
      });
    }
    const bgp = await this.#follow(coll, input.container, warnings);
    return { network: input.network, container: input.container, ip, ...(bgp ? { bgp } : {}), ...(warnings.length ? { warnings } : {}) };
  }

  async disconnect(input: Omit<ConnectInput, 'ip'> & { force?: boolean | undefined }): Promise<ConnectResult> {
    await this.placement.default.ready();
    // Check and detach in the store first (under the lock), so two disconnects cannot both pass
    // the "not its only network" check; Docker follows.
    const { coll, ip, stranded, engine, net } = await this.store.update((s) => {
      const coll = collectionOf(s, input.container);
      const rec = s[coll][input.container];
      const iface = rec?.interfaces.find((i) => i.network === input.network);
      if (!rec || !iface) {
        throw notFound(
          'connection',
          `${input.container} -> ${input.network}`,
          `'${input.container}' is not connected to '${input.network}'`,
        );
      }
      if (rec.interfaces.length === 1) {
        throw conflict(
          `'${input.network}' is the only network of '${input.container}'`,
          `delete the ${coll === 'daemons' ? 'daemon' : 'host'} instead`,
        );
      }
      const tunnels = Object.values(s.tunnels).filter(
        (t) =>
          t.underlay === input.network && (t.a.container === input.container || ('container' in t.b && t.b.container === input.container)),
      );
      if (tunnels.length) {
        throw conflict(
          `'${input.network}' carries tunnel${tunnels.length > 1 ? 's' : ''} ${tunnels.map((t) => t.name).join(', ')} of '${input.container}'`,
          'delete those tunnels first (tunnel_delete)',
        );
      }
      const stranded = [...strandedPeers(s, input.container, input.network), ...strandedHosts(s, input.container, input.network)];
      if (stranded.length && !input.force) {
        throw conflict(
          `disconnecting '${input.container}' from '${input.network}' would leave ${stranded.join(', ')} on no shared network`,
          'remove those peers first (daemon_peer_remove) or give those hosts another gateway, or disconnect with force',
        );
      }
      rec.interfaces = rec.interfaces.filter((i) => i.network !== input.network);
      Networks.release(s, input.container, input.network);
      const net = s.networks[input.network];
      return { coll, ip: iface.ip, stranded, engine: this.placement.node(rec), net: net && structuredClone(net) };
    });
    const routeWarnings: string[] = [];
    try {
      const info = await engine.ownedContainer(input.container);
      const found = await (net ? this.placement.network(net) : engine).inspectNetwork(input.network);
      if (info && found) {
        const kept = await keepRoutes(engine, info, input.container, undefined, () => engine.networks.disconnect(found.Id, info.Id));
        routeWarnings.push(...kept.warnings);
      }
    } catch (err) {
      // 404 / "is not connected": Docker already agrees. Anything else: put the record back.
      if (statusOf(err) !== 404 && !/not connected/i.test(engineMessage(err))) {
        await this.store.update((s) => {
          const rec = s[coll][input.container];
          const net = s.networks[input.network];
          if (rec && net && !net.allocations[ip]) {
            rec.interfaces.push({ network: input.network, ip });
            net.allocations[ip] = input.container;
          }
        });
        throw err;
      }
    }
    const warnings = [
      ...(stranded.length ? [`now on no shared network with '${input.container}': ${stranded.join(', ')}`] : []),
      ...routeWarnings,
    ];
    const bgp = await this.#follow(coll, input.container, warnings);
    return { network: input.network, container: input.container, ip, ...(bgp ? { bgp } : {}), ...(warnings.length ? { warnings } : {}) };
  }

  #drop(coll: NodeCollection, container: string, network: string): Promise<void> {
    return this.store.update((s) => {
      const rec = s[coll][container];
      if (rec) rec.interfaces = rec.interfaces.filter((i) => i.network !== network);
      Networks.release(s, container, network);
    });
  }
}
