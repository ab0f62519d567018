/**
 * What apply does about each drift item: `repairFor` maps an item to the work that repairs it
 * (none for report-only kinds), and `repairSteps` makes those into steps for the executor
 * (../steps/run.ts), tried in order whatever the others did, nothing undone.
 */

import type { Config } from '../../config.js';
import { allowRouted, removeRoutedMany } from '../docker/firewall.js';
import { LABELS } from '../docker/labels.js';
import type { Owned } from '../engines/placement.js';
import type { OpContext } from '../progress.js';
import { keepRoutes } from '../routes-keep.js';
import type { LabServices } from '../services.js';
import type { Step } from '../steps/run.js';
import type { NetworkRecord } from '../store/schema.js';
import type { Drift } from './drift.js';

export interface SyncDeps extends LabServices {
  /** the egress gate: a rebuilt network that reaches outside the machine needs it as a created one does */
  config: Pick<Config, 'allowExternal'>;
}

/** What the repairs work from: the store's networks and the labelled objects as sync_run found them. */
export interface RepairScope {
  deps: SyncDeps;
  networks: Record<string, NetworkRecord>;
  owned: Owned;
  ctx: OpContext;
  /** network name -> its bridge, from its labels */
  netLabels: Map<string, string | undefined>;
  /** container name -> the container */
  orphans: Map<string, Owned['containers'][number]>;
}

export function repairScope(deps: SyncDeps, networks: Record<string, NetworkRecord>, owned: Owned, ctx: OpContext): RepairScope {
  return {
    deps,
    networks,
    owned,
    ctx,
    netLabels: new Map(owned.networks.map((n) => [n.Name, n.Labels?.[LABELS.bridge]])),
    orphans: new Map(owned.containers.map((c) => [(c.Names[0] ?? '').replace(/^\//, ''), c])),
  };
}

/** The work that repairs one item; undefined where the kind is report only (or repaired elsewhere). */
export function repairFor(d: Drift, scope: RepairScope): (() => Promise<unknown>) | undefined {
  const { deps, networks, owned, ctx, netLabels, orphans } = scope;
  const { placement, store } = deps;
  switch (d.kind) {
    case 'missing_network':
      return async () => {
        const rec = networks[d.name];
        if (!rec) return;
        const { id } = await deps.networks.provision(rec);
        await store.update((s) => {
          const r = s.networks[d.name];
          if (r) r.id = id;
        });
        // Containers that still exist get their address on it back.
        for (const [ip, owner] of Object.entries(rec.allocations)) {
          const s = await store.read();
          const on = placement.node(s.daemons[owner] ?? s.hosts[owner] ?? {});
          const info = await on.ownedContainer(owner);
          // As network_connect does: Docker collides with routes the lab gave the container.
          if (info) {
            await keepRoutes(on, info, owner, rec.subnet, () => on.networks.connect(id, info.Id, ip));
          }
        }
      };
    case 'missing_container':
    case 'stopped_container':
      return async () => {
        const s = await store.read();
        if (s.daemons[d.name]) await deps.daemons.start(d.name, ctx);
        else await deps.hosts.start(d.name, ctx);
      };
    case 'recreated_container':
      return async () => {
        const rec = (await store.read()).daemons[d.name] ?? (await store.read()).hosts[d.name];
        const info = await placement.node(rec ?? {}).ownedContainer(d.name);
        await store.update((s) => {
          const r = s.daemons[d.name] ?? s.hosts[d.name];
          if (r && info) r.container_id = info.Id;
        });
      };
    case 'orphan_container':
      return () => {
        const c = orphans.get(d.name);
        return placement.of(c && owned.engineOf.get(c.Id)).removeContainer(d.name);
      };
    case 'orphan_network':
      return () => deps.networks.unprovision({ name: d.name, bridge: netLabels.get(d.name) } as NetworkRecord);
    case 'missing_rule':
      return async () => {
        const w = await allowRouted(d.name);
        if (w) throw new Error(w);
      };
    case 'stale_rule':
      return () => removeRoutedMany([d.name]);
    case 'unfinished_create':
      return () =>
        d.object === 'network'
          ? deps.networks.finishCreate(d.name)
          : (d.object === 'daemon' ? deps.daemons : deps.hosts).finishCreate(d.name, ctx);
    case 'unfinished_delete':
      return () =>
        d.object === 'network' ? deps.networks.delete(d.name) : (d.object === 'daemon' ? deps.daemons : deps.hosts).delete(d.name);
    case 'missing_record':
    case 'refused_record':
    case 'missing_topology':
    case 'unknown_address':
      return undefined;
  }
}

/** One step per repairable item, in drift order; each says its progress as it starts. */
export function repairSteps(drift: Drift[], scope: RepairScope): Array<Step & { drift: Drift }> {
  const steps: Array<Step & { drift: Drift }> = [];
  let done = 0;
  for (const d of drift) {
    const fn = repairFor(d, scope);
    if (!fn) continue;
    steps.push({
      drift: d,
      describe: `${d.repair}: ${d.name}`,
      async apply() {
        scope.ctx.progress?.(`${d.repair}: ${d.name}`, 0.2 + (0.8 * done++) / drift.length);
        await fn();
      },
    });
  }
  return steps;
}
