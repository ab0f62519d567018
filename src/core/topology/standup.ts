/**
 * Carrying out a plan: removals first, then every name and address reserved in one store
 * transaction, the Docker work in parallel (networks, then nodes with bounded concurrency, their
 * tunnels coming up with them), the results recorded in one more transaction, then the changes
 * made in place on nodes that stay. A failure rolls back what this run created (or keeps it, if
 * asked), and the next standup or teardown always works.
 */
import pLimit from 'p-limit';
import type { Daemons } from '../daemons.js';
import type { DockerEngine } from '../docker/engine.js';
import { removeRoutedMany } from '../docker/firewall.js';
import type { Placement } from '../engines/placement.js';
import { LabError } from '../errors.js';
import type { Hosts } from '../hosts.js';
import { parseSubnet, type Subnet } from '../ipam.js';
import { bridgeName, type Networks, refuseHostRoute } from '../networks.js';
import { crashPoint } from '../pending.js';
import type { OpContext } from '../progress.js';
import type { DaemonRecord, HostRecord, NetworkRecord, StoreState, TunnelRecord } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { endsOf, type TunnelEnd } from '../tunnels/render.js';
import type { Tunnels } from '../tunnels/service.js';
import type { DockerFacts, Plan } from './plan.js';
import type { Desired, DesiredNetwork, DesiredNode } from './resolve.js';

export interface StandupDeps {
  engine: DockerEngine;
  placement: Placement;
  store: Store;
  networks: Networks;
  daemons: Daemons;
  hosts: Hosts;
  tunnels: Tunnels;
}

export interface StandupOptions {
  concurrency?: number | undefined;
  on_error?: 'rollback' | 'keep' | undefined;
}

export interface StandupOutcome {
  warnings: string[];
}

export type Facts = Awaited<ReturnType<typeof dockerFacts>>;

const now = () => new Date().toISOString();

/**
 * What Docker holds for a topology of this store, found by label in one query per kind and
 * engine; `engineOf` says which engine each container is on, `down` which engines did not answer.
 */
export async function dockerFacts(
  placement: Placement,
  topology: string,
): Promise<
  DockerFacts & {
    containerIds: Map<string, string>;
    networkIds: Map<string, string>;
    engineOf: Map<string, string>;
    down: Array<{ name: string; error: string }>;
  }
> {
  const owned = await placement.listOwned(topology);
  const containers = new Map<string, 'running' | 'stopped' | 'restarting'>();
  const containerIds = new Map<string, string>();
  const engineOf = new Map<string, string>();
  for (const c of owned.containers) {
    const name = (c.Names[0] ?? '').replace(/^\//, '');
    containers.set(name, c.State === 'running' ? 'running' : c.State === 'restarting' ? 'restarting' : 'stopped');
    containerIds.set(name, c.Id);
    engineOf.set(name, owned.engineOf.get(c.Id) ?? placement.defaultName);
  }
  const ns = owned.networks;
  return {
    containers,
    containerIds,
    engineOf,
    down: owned.down,
    networks: new Set(ns.map((n) => n.Name)),
    networkIds: new Map(ns.map((n) => [n.Name, n.Id])),
  };
}

/** Remove a container of the topology by id, on the engine it was found on. */
function removeFound(deps: StandupDeps, facts: Facts, name: string): Promise<void> {
  const id = facts.containerIds.get(name);
  return id ? deps.placement.of(facts.engineOf.get(name)).removeContainerId(id) : Promise.resolve();
}

export function nodeRecord(n: DesiredNode, topology: string): DaemonRecord | HostRecord {
  const common = {
    name: n.name,
    interfaces: n.interfaces,
    topology,
    ...(n.engine ? { engine: n.engine } : {}),
    desired: 'running' as const,
    created_at: now(),
  };
  if (n.role === 'daemon') {
    return { ...common, kind: n.kind, asn: n.asn, router_id: n.router_id, neighbors: n.neighbors, advertise: n.advertise };
  }
  return { ...common, ...(n.gateway ? { gateway: n.gateway } : {}), ...(n.loopback ? { loopback: n.loopback } : {}) };
}

export function networkRecord(n: DesiredNetwork, topology: string): NetworkRecord {
  return {
    name: n.name,
    subnet: n.subnet,
    gateway: n.gateway,
    // Nodes on several engines share an attachable overlay of the swarm; otherwise a bridge.
    ...(n.overlay ? { driver: 'overlay' as const } : { driver: 'bridge' as const, bridge: bridgeName(n.name) }),
    ...(n.engine ? { engine: n.engine } : {}),
    internal: true,
    topology,
    created_at: now(),
    allocations: {},
  };
}

interface Results {
  networks: Map<string, string>;
  nodes: Map<string, { id: string; image: string }>;
}

/** Write the ids Docker gave to what this run made. */
function recordResults(s: StoreState, results: Results): void {
  for (const [name, id] of results.networks) if (s.networks[name]) (s.networks[name] as NetworkRecord).id = id;
  for (const [name, r] of results.nodes) {
    const rec = s.daemons[name] ?? s.hosts[name];
    if (rec) {
      rec.container_id = r.id;
      rec.image = r.image;
    }
  }
}

/** An address the plan gives a node that someone else holds in the store (taken meanwhile). */
function refuseTakenAddresses(s: StoreState, desired: Desired): void {
  for (const n of desired.nodes) {
    for (const i of n.interfaces) {
      const holder = s.networks[i.network]?.allocations[i.ip];
      const ours = holder !== undefined && desired.nodes.some((x) => x.name === holder);
      if (holder !== undefined && holder !== n.name && !ours) {
        throw new LabError('CONFLICT', `${i.ip} on '${i.network}' was taken by '${holder}' meanwhile`, { hint: 'run the standup again' });
      }
    }
  }
}

/** Drop a node's records and addresses from the state. */
function forgetNode(s: StoreState, name: string): void {
  delete s.daemons[name];
  delete s.hosts[name];
  for (const rec of Object.values(s.networks))
    for (const [ip, who] of Object.entries(rec.allocations)) if (who === name) delete rec.allocations[ip];
}

export async function runStandup(
  deps: StandupDeps,
  desired: Desired,
  plan: Plan,
  /** what Docker held when the plan was made (by label) */
  facts: Facts,
  opts: StandupOptions,
  ctx: OpContext,
): Promise<StandupOutcome> {
  const { engine, store, placement } = deps;
  const topo = desired.topology;
  const progress = (m: string, f?: number) => ctx.progress?.(m, f);
  const cancelled = () => {
    if (ctx.signal?.aborted) throw new LabError('TIMEOUT', `standup of '${topo}' was cancelled`);
  };
  const of = (kind: string, ...actions: string[]) =>
    plan.items.filter((i) => i.kind === kind && actions.includes(i.action)).map((i) => i.name);
  const warnings: string[] = [];

  // 1. Removals: tunnels, then containers, then networks that go or are made again. Nothing is
  // removed before the addresses the plan needs are known to be free.
  const before = await store.read();
  refuseTakenAddresses(before, desired);
  // Names and subnets Docker already gives to someone else are refused here, the way
  // network_create and daemon_create refuse them, before anything is removed or made.
  if (desired.networks.some((n) => n.overlay && of('network', 'create', 'recreate').includes(n.name)))
    await deps.networks.requireSwarm('placement');
  for (const n of desired.networks.filter((x) => of('network', 'create').includes(x.name))) {
    await deps.networks
      .refuseClashes(n.name, parseSubnet(n.subnet) as Subnet, n.overlay ? undefined : placement.of(n.engine))
      .catch((err: unknown) => {
        throw err instanceof LabError
          ? new LabError(err.code, `networks.${n.key}: ${err.message}`, err.hint ? { hint: err.hint } : {})
          : err;
      });
  }
  for (const n of desired.nodes.filter((x) => of('node', 'create').includes(x.name))) {
    await deps.hosts.refuseTakenName(n.name).catch((err: unknown) => {
      throw err instanceof LabError ? new LabError(err.code, `nodes.${n.key}: ${err.message}`, err.hint ? { hint: err.hint } : {}) : err;
    });
  }
  for (const n of desired.networks.filter((x) => of('network', 'create', 'recreate').includes(x.name))) {
    // A bridge takes the routes of its own engine's machine; an overlay is checked on the default engine.
    const unchecked = await refuseHostRoute(n.overlay ? engine : placement.of(n.engine), n.subnet, `networks.${n.key}.subnet`);
    if (unchecked) warnings.push(`networks.${n.key}: ${unchecked}`);
  }
  const goneTunnels = of('tunnel', 'delete', 'recreate')
    .map((n) => before.tunnels[n])
    .filter((t): t is TunnelRecord => !!t);
  const goneNodes = of('node', 'delete', 'recreate');
  const goneNets = of('network', 'delete', 'recreate');
  if (goneTunnels.length || goneNodes.length || goneNets.length)
    progress(`removing ${goneNodes.length} nodes, ${goneNets.length} networks, ${goneTunnels.length} tunnels that change`);
  await Promise.all(
    goneTunnels.flatMap((t) =>
      endsOf(t)
        .filter((e) => !goneNodes.includes(e.container))
        .map((e) => deps.tunnels.removeEnd(e).catch(() => undefined)),
    ),
  );
  await Promise.all(goneNodes.map((n) => removeFound(deps, facts, n)));
  for (const n of goneNets) {
    const rec = before.networks[n];
    if (rec) await deps.networks.unprovision(rec);
  }

  // 2. One transaction: forget what went, reserve everything this run makes.
  const createNodes = desired.nodes.filter((n) => of('node', 'create', 'recreate').includes(n.name));
  const createNets = desired.networks.filter((n) => of('network', 'create', 'recreate').includes(n.name));
  const createTunnels = desired.tunnels.filter((t) => of('tunnel', 'create', 'recreate').includes(t.name));
  const reserved = await store.update((s) => {
    for (const t of goneTunnels) delete s.tunnels[t.name];
    for (const n of goneNodes) forgetNode(s, n);
    for (const n of goneNets) delete s.networks[n];
    for (const n of createNets) s.networks[n.name] = networkRecord(n, topo);
    for (const n of createNodes) {
      const rec = nodeRecord(n, topo);
      if ('kind' in rec) s.daemons[n.name] = rec;
      else s.hosts[n.name] = rec;
    }
    refuseTakenAddresses(s, desired);
    for (const n of desired.nodes) {
      for (const i of n.interfaces) {
        const net = s.networks[i.network];
        if (net) net.allocations[i.ip] = n.name;
      }
    }
    for (const t of createTunnels) s.tunnels[t.name] = { ...t, topology: topo, created_at: now() };
    const rec = s.topologies[topo];
    if (rec) rec.deployed = true;
    return structuredClone(s);
  });
  crashPoint('standup.reserved');

  const made = { containers: [] as Array<{ id: string; engine: DockerEngine }>, networks: [] as NetworkRecord[] };
  const failed: Array<{ name: string; error: string }> = [];
  const results: Results = { networks: new Map(), nodes: new Map() };
  const broughtUp: TunnelEnd[] = [];
  /** nodes this run removed to make them again: a rollback cannot give them back */
  const replaced = of('node', 'recreate').filter((n) => facts.containerIds.has(n));
  try {
    cancelled();
    // 3. Docker: networks in parallel, then nodes with bounded concurrency.
    if (createNets.length) progress(`creating ${createNets.length} networks`, 0.05);
    await Promise.all(
      createNets.map(async (n) => {
        const rec = reserved.networks[n.name] as NetworkRecord;
        const r = await deps.networks.provision(rec);
        made.networks.push(rec);
        results.networks.set(n.name, r.id);
        warnings.push(...r.warnings);
      }),
    );
    const limit = pLimit(Math.max(1, opts.concurrency ?? 8));
    let done = 0;
    await Promise.all(
      createNodes.map((n) =>
        limit(async () => {
          if (ctx.signal?.aborted) return;
          try {
            const svc = n.role === 'daemon' ? deps.daemons : deps.hosts;
            const rec = (n.role === 'daemon' ? reserved.daemons[n.name] : reserved.hosts[n.name]) as DaemonRecord & HostRecord;
            // Started without waiting for the daemon: the concurrency slot goes to the next node,
            // and all daemons are awaited together below.
            const r = await svc.provision(rec, reserved, { ...(ctx.signal ? { signal: ctx.signal } : {}) }, false);
            made.containers.push({ id: r.id, engine: placement.node(rec) });
            results.nodes.set(n.name, r);
            crashPoint('standup.node_made');
          } catch (err) {
            failed.push({ name: n.name, error: err instanceof LabError ? err.message : String(err) });
          }
          done++;
          progress(
            `node ${n.name} ${failed.some((f) => f.name === n.name) ? 'failed' : 'up'} (${done}/${createNodes.length})`,
            0.1 + (0.7 * done) / createNodes.length,
          );
        }),
      ),
    );
    cancelled();
    if (!failed.length) {
      // Standup returns once every node is configured and started; it does not wait for each
      // daemon to answer (wait_established_s does that for the whole lab). A container that has
      // already died is a failure, though, with what it printed.
      await Promise.all(
        createNodes.map(async (n) => {
          const r = results.nodes.get(n.name);
          const on = placement.of(n.engine);
          const info = r && (await on.inspectContainer(r.id));
          if (!r || (info?.State.Running && !info.State.Restarting)) return;
          const logs = await on.logTail(r.id, 5);
          failed.push({ name: n.name, error: `its container exited right after starting${logs ? `; it said: ${logs}` : ''}` });
        }),
      );
    }
    // Tunnels of new nodes came up from their files at container start; one that did not (a
    // kernel without GRE) is made again here, which fails with the kernel's own reason.
    if (!failed.length) {
      for (const t of createTunnels) {
        for (const e of endsOf({ ...t, topology: topo, created_at: '' }).filter((x) => results.nodes.has(x.container))) {
          const seen = await deps.tunnels.observe(e);
          if (seen.link?.ours || !seen.info) continue;
          await deps.tunnels.bringUp(seen.info, e, 'fix').catch((err: unknown) =>
            failed.push({
              name: e.container,
              error: `tunnel ${t.name}: ${err instanceof LabError ? `${err.message} (${err.hint ?? ''})` : String(err)}`,
            }),
          );
        }
      }
    }
    cancelled();
    if (failed.length) throw new LabError('DAEMON_ERROR', failed.map((f) => `${f.name}: ${f.error}`).join('; '));

    crashPoint('standup.made');
    // 4. Record what Docker made, in one transaction.
    await store.update((s) => recordResults(s, results));

    // 5. Nodes that stay: start them, change their BGP configuration in place, add new tunnels.
    for (const u of plan.updates) {
      cancelled();
      progress(`updating ${u.name} in place`, 0.85);
      if (u.start) {
        if (reserved.daemons[u.name]) await deps.daemons.start(u.name);
        else await deps.hosts.start(u.name);
      }
      await applyUpdate(deps.daemons, u, desired);
    }
    const kept = new Set(of('node', 'keep', 'update'));
    for (const t of createTunnels) {
      const ends = endsOf({ ...t, topology: topo, created_at: '' }).filter((e) => kept.has(e.container));
      for (const e of ends) {
        const info = await (await deps.tunnels.engineOf(e.container)).ownedContainer(e.container);
        if (info?.State.Running) {
          await deps.tunnels.bringUp(info, e, 'create');
          broughtUp.push(e);
        }
      }
      for (const e of ends) if (reserved.daemons[e.container]) await deps.daemons.config.refresh(e.container);
    }
    return { warnings };
  } catch (err) {
    if ((opts.on_error ?? 'rollback') === 'rollback') {
      progress(`rolling back what this standup created (${made.containers.length} containers, ${made.networks.length} networks)`);
      const leftovers: string[] = [];
      await Promise.all(
        made.containers.map(({ id, engine: on }) =>
          on.removeContainerId(id).catch((e: unknown) => leftovers.push(`container ${id.slice(0, 12)}: ${String(e)}`)),
        ),
      );
      for (const n of made.networks)
        await deps.networks.unprovision(n).catch((e: unknown) => leftovers.push(`network ${n.name}: ${String(e)}`));
      for (const e of broughtUp)
        await deps.tunnels.removeEnd(e).catch((x: unknown) => leftovers.push(`tunnel ${e.name} in ${e.container}: ${String(x)}`));
      await store.update((s) => {
        for (const n of createNodes) forgetNode(s, n.name);
        for (const n of createNets) delete s.networks[n.name];
        for (const t of createTunnels) delete s.tunnels[t.name];
        const rec = s.topologies[topo];
        // Deployed only if something of it still runs from before this standup.
        if (rec)
          rec.deployed =
            Object.values(s.daemons).some((d) => d.topology === topo) || Object.values(s.hosts).some((h) => h.topology === topo);
      });
      const why = err instanceof LabError ? err.message : String(err);
      throw new LabError(
        'DAEMON_ERROR',
        `standup of '${topo}' failed and was rolled back: ${why}${leftovers.length ? `; rollback could not remove ${leftovers.join(', ')}` : ''}`,
        {
          hint: replaced.length
            ? `fix the cause and run topology_standup again: it brings back ${replaced.join(', ')}, removed by this run to be made again; everything else from before is untouched`
            : 'fix the cause and run topology_standup again; what stayed from before is untouched',
          cause: err,
        },
      );
    }
    // keep: record what was made; forget the nodes that failed so the next standup makes them.
    await store.update((s) => {
      recordResults(s, results);
      for (const f of failed) forgetNode(s, f.name);
    });
    const why = err instanceof LabError ? err.message : String(err);
    throw new LabError('DAEMON_ERROR', `standup of '${topo}' failed; what was made is kept for inspection: ${why}`, {
      hint: 'inspect it (topology_status, docker logs), then run topology_standup again or topology_teardown',
      cause: err,
    });
  }
}

/** Peers and prefixes of a daemon that stays, changed one by one through its live interface. */
async function applyUpdate(daemons: Daemons, u: Plan['updates'][number], desired: Desired): Promise<void> {
  const node = desired.nodes.find((n) => n.name === u.name);
  if (node?.role !== 'daemon') return;
  for (const address of u.removePeers) await daemons.peerRemove(u.name, address);
  for (const p of u.withdraw) await daemons.routeWithdraw(u.name, p);
  for (const n of u.addPeers) await daemons.peerAdd(u.name, n);
  for (const p of u.advertise) await daemons.routeAdvertise(u.name, p);
}

/** Remove every container and network labelled with the topology (whatever the store says), then its records. */
export async function runTeardown(
  deps: StandupDeps,
  topology: string,
  ctx: OpContext,
): Promise<{ containers: number; networks: number; tunnels: number }> {
  const { engine, store } = deps;
  const facts = await dockerFacts(deps.placement, topology);
  if (facts.down.length) {
    // Teardown forgets the records: with an engine out of sight its containers would stay, unowned.
    throw new LabError(
      'DOCKER_UNAVAILABLE',
      `engine${facts.down.length > 1 ? 's' : ''} ${facts.down.map((d) => `'${d.name}' (${d.error})`).join(', ')} did not answer; teardown of '${topology}' changed nothing`,
      { hint: 'start the engine again and retry (engine_list shows which engines answer)' },
    );
  }
  ctx.progress?.(`removing ${facts.containerIds.size} containers`, 0.1);
  const limit = pLimit(8);
  await Promise.all([...facts.containerIds.keys()].map((name) => limit(() => removeFound(deps, facts, name))));
  const state = await store.read();
  const nets = new Set([
    ...facts.networks,
    ...Object.values(state.networks)
      .filter((n) => n.topology === topology)
      .map((n) => n.name),
  ]);
  ctx.progress?.(`removing ${nets.size} networks`, 0.7);
  await Promise.all(
    [...nets].map(async (name) => {
      const rec = state.networks[name] ?? { name, bridge: bridgeName(name), driver: 'bridge' as const };
      await deps.networks.unprovision(rec, { keepRule: true });
    }),
  );
  // The forwarding rules go together: one read of the chain instead of one probe per bridge.
  if (engine.isLocal) await removeRoutedMany([...nets].map((n) => state.networks[n]?.bridge ?? bridgeName(n)));
  let tunnels = 0;
  await store.update((s) => {
    for (const t of Object.values(s.tunnels)) {
      if (t.topology === topology) {
        delete s.tunnels[t.name];
        tunnels++;
      }
    }
    for (const rec of [...Object.values(s.daemons), ...Object.values(s.hosts)]) if (rec.topology === topology) forgetNode(s, rec.name);
    for (const n of Object.values(s.networks)) if (n.topology === topology) delete s.networks[n.name];
    const t = s.topologies[topology];
    if (t) {
      t.deployed = false;
      t.active = false;
    }
  });
  return { containers: facts.containerIds.size, networks: nets.size, tunnels };
}
