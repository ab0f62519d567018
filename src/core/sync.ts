/**
 * sync_run: the store (desired state) against Docker (runtime truth), by ownership labels. It
 * reports drift and, with apply, repairs it: recreates or starts what the store says should run,
 * removes labelled objects that no record claims (a create killed half way), restores forwarding
 * rules and drops rules whose bridge is gone. It never touches anything without this store's labels.
 */
import { existsSync } from 'node:fs';
import type { Config } from '../config.js';
import type { Daemons } from './daemons.js';
import type { DockerEngine } from './docker/engine.js';
import { allowRouted, removeRoutedMany, ruleCounts } from './docker/firewall.js';
import { LABELS } from './docker/labels.js';
import { type Owned, Placement } from './engines/placement.js';
import { LabError } from './errors.js';
import type { Hosts } from './hosts.js';
import type { Networks } from './networks.js';
import { holderAlive } from './pending.js';
import type { OpContext } from './progress.js';
import { applyRebuild, findRebuildable, type Rebuildable } from './rebuild.js';
import { printable, problemText } from './rebuild-check.js';
import { keepRoutes } from './routes-keep.js';
import { runSteps, type Step } from './steps/run.js';
import type { NetworkRecord, Pending } from './store/schema.js';
import type { Store } from './store/store.js';
import { endsOf } from './tunnels/render.js';

export const DRIFT_KINDS = [
  'missing_record',
  'refused_record',
  'missing_topology',
  'unfinished_create',
  'unfinished_delete',
  'missing_container',
  'stopped_container',
  'recreated_container',
  'missing_network',
  'orphan_container',
  'orphan_network',
  'unknown_address',
  'missing_rule',
  'stale_rule',
] as const;
export type DriftKind = (typeof DRIFT_KINDS)[number];

export const DRIFT_OBJECTS = ['network', 'daemon', 'host', 'tunnel'] as const;
export type DriftObject = (typeof DRIFT_OBJECTS)[number];

export interface Drift {
  kind: DriftKind;
  name: string;
  /** what `name` names, where a kind covers several */
  object?: DriftObject;
  detail: string;
  /** what apply does about it (nothing: report only) */
  repair: string;
  /** with apply: whether the repair worked, and why not */
  repaired?: boolean;
  error?: string;
}

/** A create or delete whose process died before the store and Docker agreed again. */
function unfinished(op: 'create' | 'delete', object: DriftObject, name: string, exists: boolean): Drift {
  const what = object === 'network' ? `Docker network '${name}'` : `the container of '${name}'`;
  return op === 'create'
    ? {
        kind: 'unfinished_create',
        name,
        object,
        detail: `the create of ${object} '${name}' stopped part way (its process is gone); ${what} ${exists ? 'exists but may be half made' : 'was not made'}`,
        repair:
          object === 'network'
            ? 'finish it: make or keep the network, with its forwarding rule'
            : 'finish it: make the container again from the store',
      }
    : {
        kind: 'unfinished_delete',
        name,
        object,
        detail: `the delete of ${object} '${name}' stopped part way (its process is gone); ${what} ${exists ? 'is still there' : 'is gone'}`,
        repair: 'finish it: remove what is left and the record',
      };
}

export class Sync {
  constructor(
    private readonly deps: {
      engine: DockerEngine;
      placement: Placement;
      store: Store;
      networks: Networks;
      daemons: Daemons;
      hosts: Hosts;
      /** the egress gate: a rebuilt network that reaches outside the machine needs it as a created one does */
      config: Pick<Config, 'allowExternal'>;
    },
  ) {}

  async run(apply: boolean, ctx: OpContext = {}): Promise<{ applied: boolean; in_sync: boolean; drift: Drift[] }> {
    const { engine, store } = this.deps;
    await engine.ready();
    const { placement } = this.deps;
    const [state, owned] = await Promise.all([store.read(), placement.listOwned()]);
    const drift: Drift[] = [];
    const byName = new Map(owned.containers.map((c) => [(c.Names[0] ?? '').replace(/^\//, ''), c]));
    // An engine that does not answer: what runs there cannot be seen (reported, not guessed).
    const unseen = (engineName: string | undefined) => Placement.isDown(owned, engineName ?? placement.defaultName);
    const netEngine = (rec: NetworkRecord) => (rec.driver === 'overlay' ? placement.defaultName : rec.engine);
    const netByName = new Map(owned.networks.map((n) => [n.Name, n]));
    // Someone is at work on a record (a create or delete in a live process, a standup holding
    // its topology's lease): it is theirs to finish, not drift.
    const busy = (rec: { pending?: Pending | undefined; topology?: string | undefined }) =>
      (rec.pending && holderAlive(rec.pending)) ||
      (!!rec.topology && !!state.topologies[rec.topology]?.lease && holderAlive(state.topologies[rec.topology]?.lease as Pending));

    // Records lost from the store, rebuilt from what the objects carry: first, so that what
    // follows (networks, nodes) sees them.
    const rebuild = await findRebuildable(placement, state, owned, { allowExternal: this.deps.config.allowExternal });
    for (const n of rebuild.networks)
      drift.push({
        kind: 'missing_record',
        name: n.name,
        object: 'network',
        detail: `network '${n.name}' (${n.subnet}) carries this store's labels and its record, but the store has no record of it`,
        repair: 'rebuild its record from its labels',
      });
    for (const n of rebuild.nodes)
      drift.push({
        kind: 'missing_record',
        name: n.rec.name,
        object: n.coll === 'daemons' ? 'daemon' : 'host',
        detail: `${n.coll === 'daemons' ? 'daemon' : 'host'} '${n.rec.name}' carries this store's labels and its record, but the store has no record of it${n.unfinished ? ' (its create never finished)' : ''}`,
        repair: n.unfinished ? 'rebuild its record, then make its container again' : 'rebuild its record from its labels',
      });
    for (const t of rebuild.tunnels)
      drift.push({
        kind: 'missing_record',
        name: t.name,
        object: 'tunnel',
        detail: `tunnel '${t.name}' is set up in ${endsOf(t)
          .map((e) => e.container)
          .join(' and ')}, but the store has no record of it`,
        repair: 'rebuild its record from the tunnel files',
      });
    // Records that fail their checks: named with the field and why, never put back, and their
    // objects left alone (not orphans: removing them on a crafted record is no repair either).
    for (const r of rebuild.refused)
      drift.push({
        kind: 'refused_record',
        name: printable(r.name, 80),
        object: r.object,
        detail: `the record of ${r.object} '${printable(r.name, 80)}' in ${printable(r.source, 200)} is not rebuilt: ${problemText(r.problems)}`,
        repair:
          r.object === 'tunnel'
            ? 'none (report only): the record is not put back; create the tunnel again (tunnel_create) if it is wanted'
            : `none (report only): the record is not put back, nor is the ${r.object === 'network' ? 'network' : 'container'} removed; remove it by hand (docker ${r.object === 'network' ? 'network rm' : 'rm -f'}) or fix what is named, and run sync_run again`,
      });
    for (const t of rebuild.topologies)
      drift.push({
        kind: 'missing_topology',
        name: t,
        detail: `objects of topology '${t}' carry this store's labels, but its definition is gone (it is not kept in labels)`,
        repair: `none (report only): topology_create '${t}' with its file again; topology_standup then keeps what runs`,
      });

    // Networks first: a node on a network that is gone needs the network back before it can run.
    for (const rec of Object.values(state.networks)) {
      if (busy(rec)) continue;
      if (rec.pending || !rec.id)
        drift.push(unfinished(rec.pending?.op === 'delete' ? 'delete' : 'create', 'network', rec.name, netByName.has(rec.name)));
      else if (!netByName.has(rec.name))
        drift.push({
          kind: 'missing_network',
          name: rec.name,
          detail: unseen(netEngine(rec))
            ? `Docker network '${rec.name}' cannot be seen: engine '${netEngine(rec)}' does not answer (${unseen(netEngine(rec))})`
            : `Docker network '${rec.name}' is gone`,
          repair: 'create it again and reconnect its containers',
        });
    }
    for (const rec of [...Object.values(state.daemons), ...Object.values(state.hosts)]) {
      if (busy(rec)) continue;
      const c = byName.get(rec.name);
      const role = state.daemons[rec.name] ? 'daemon' : 'host';
      if (rec.pending || (!rec.container_id && c))
        drift.push(unfinished(rec.pending?.op === 'delete' ? 'delete' : 'create', role, rec.name, !!c));
      else if (!c)
        drift.push({
          kind: 'missing_container',
          name: rec.name,
          detail: unseen(rec.engine)
            ? `the container of '${rec.name}' cannot be seen: engine '${rec.engine}' does not answer (${unseen(rec.engine)})`
            : `the container of '${rec.name}' is gone`,
          repair: 'recreate it from the store',
        });
      else if (rec.container_id && c.Id !== rec.container_id) {
        drift.push({
          kind: 'recreated_container',
          name: rec.name,
          detail: `'${rec.name}' runs in another container than the one the lab made (${c.Id.slice(0, 12)})`,
          repair: 'record the new container',
        });
      } else if (c.State !== 'running' && rec.desired === 'running') {
        drift.push({ kind: 'stopped_container', name: rec.name, detail: `'${rec.name}' is ${c.State} but should run`, repair: 'start it' });
      }
    }
    const refused = (networks: boolean) =>
      rebuild.refused.filter((r) => r.object !== 'tunnel' && (r.object === 'network') === networks).map((r) => r.name);
    const claimed = new Set([
      ...Object.keys(state.daemons),
      ...Object.keys(state.hosts),
      ...rebuild.nodes.map((n) => n.rec.name),
      ...refused(false),
    ]);
    for (const [name, c] of byName) {
      if (!claimed.has(name))
        drift.push({
          kind: 'orphan_container',
          name,
          detail: `container '${name}' (${c.Labels?.[LABELS.role] ?? '?'}) carries this store's labels but no record claims it, and it carries no record to rebuild`,
          repair: 'remove it',
        });
    }
    const netClaimed = new Set([...Object.keys(state.networks), ...rebuild.networks.map((n) => n.name), ...refused(true)]);
    for (const [name] of netByName) {
      if (!netClaimed.has(name))
        drift.push({
          kind: 'orphan_network',
          name,
          detail: `network '${name}' carries this store's labels but no record claims it, and it carries no record to rebuild`,
          repair: 'remove it',
        });
    }
    // Addresses taken on lab networks that the store does not know of (by containers it knows:
    // the others are reported above).
    for (const c of owned.containers) {
      const name = (c.Names[0] ?? '').replace(/^\//, '');
      const rec = state.daemons[name] ?? state.hosts[name];
      if (!rec || busy(rec)) continue;
      for (const [net, ep] of Object.entries(c.NetworkSettings?.Networks ?? {})) {
        const netRec = state.networks[net];
        const ip = ep.IPAddress;
        if (netRec && ip && netRec.allocations[ip] !== name) {
          drift.push({
            kind: 'unknown_address',
            name: `${net}/${ip}`,
            detail: `'${name}' holds ${ip} on '${net}', which the store ${netRec.allocations[ip] ? `gives to '${netRec.allocations[ip]}'` : 'does not know'}`,
            repair: 'none (report only): delete or reconnect that container',
          });
        }
      }
    }
    // The rule of a network whose create is under way or unfinished comes with finishing it.
    const settled = Object.fromEntries(Object.entries(state.networks).filter(([, n]) => n.id && !n.pending));
    if (engine.isLocal) await this.#rules(settled, drift);

    ctx.progress?.(`found ${drift.length} differences between the store and Docker`, 0.2);
    if (apply) {
      await this.#rebuild(drift, rebuild);
      await this.#repair(drift, state.networks, owned, ctx);
    }
    return { applied: apply, in_sync: drift.length === 0, drift };
  }

  /** Rebuilt records go in together, in one transaction; each item says whether it went back. */
  async #rebuild(drift: Drift[], rebuild: Rebuildable): Promise<void> {
    const items = drift.filter((d) => d.kind === 'missing_record');
    if (!items.length) return;
    try {
      const failed = await this.deps.store.update((s) => applyRebuild(s, rebuild));
      for (const d of items) {
        const why = failed.get(d.name);
        d.repaired = !why;
        if (why) d.error = why;
      }
    } catch (err) {
      for (const d of items) {
        d.repaired = false;
        d.error = err instanceof LabError ? err.message : String(err);
      }
    }
    // Unfinished creates among them are made again now that their records are back.
    for (const n of rebuild.nodes.filter((x) => x.unfinished)) {
      const d = items.find((x) => x.name === n.rec.name);
      if (!d?.repaired) continue;
      try {
        await (n.coll === 'daemons' ? this.deps.daemons : this.deps.hosts).finishCreate(n.rec.name);
      } catch (err) {
        d.repaired = false;
        d.error = err instanceof LabError ? err.message : String(err);
      }
    }
  }

  /** Forwarding rules: every lab bridge of this store has one; a rule whose bridge does not exist is stale. */
  async #rules(networks: Record<string, { name: string; bridge?: string | undefined }>, drift: Drift[]): Promise<void> {
    const counts = await ruleCounts();
    if (!counts) return;
    const bridges = new Set(Object.values(networks).flatMap((n) => (n.bridge ? [n.bridge] : [])));
    for (const n of Object.values(networks)) {
      if (n.bridge && !counts.has(n.bridge) && existsSync(`/sys/class/net/${n.bridge}`)) {
        drift.push({
          kind: 'missing_rule',
          name: n.bridge,
          detail: `the forwarding rule of '${n.name}' (bridge ${n.bridge}) is missing: routed traffic between lab networks is dropped`,
          repair: 'add it',
        });
      }
    }
    for (const b of counts.keys()) {
      if (!bridges.has(b) && !existsSync(`/sys/class/net/${b}`))
        drift.push({
          kind: 'stale_rule',
          name: b,
          detail: `a netstream-lab forwarding rule names bridge ${b}, which no longer exists`,
          repair: 'remove it',
        });
    }
  }

  async #repair(drift: Drift[], networks: Record<string, NetworkRecord>, owned: Owned, ctx: OpContext): Promise<void> {
    const { placement, store } = this.deps;
    const netLabels = new Map(owned.networks.map((n) => [n.Name, n.Labels?.[LABELS.bridge]]));
    const orphans = new Map(owned.containers.map((c) => [(c.Names[0] ?? '').replace(/^\//, ''), c]));
    // Each repair is a step, tried in order whatever the others did; nothing is undone (a repair
    // that fails leaves things no worse), and each item says whether its repair worked.
    const steps: Array<Step & { drift: Drift }> = [];
    let done = 0;
    const attempt = (d: Drift, fn: () => Promise<unknown>): void => {
      steps.push({
        drift: d,
        describe: `${d.repair}: ${d.name}`,
        async apply() {
          ctx.progress?.(`${d.repair}: ${d.name}`, 0.2 + (0.8 * done++) / drift.length);
          await fn();
        },
      });
    };
    for (const d of drift) {
      switch (d.kind) {
        case 'missing_network':
          attempt(d, async () => {
            const rec = networks[d.name];
            if (!rec) return;
            const { id } = await this.deps.networks.provision(rec);
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
          });
          break;
        case 'missing_container':
        case 'stopped_container':
          attempt(d, async () => {
            const s = await store.read();
            if (s.daemons[d.name]) await this.deps.daemons.start(d.name, ctx);
            else await this.deps.hosts.start(d.name, ctx);
          });
          break;
        case 'recreated_container':
          attempt(d, async () => {
            const rec = (await store.read()).daemons[d.name] ?? (await store.read()).hosts[d.name];
            const info = await placement.node(rec ?? {}).ownedContainer(d.name);
            await store.update((s) => {
              const r = s.daemons[d.name] ?? s.hosts[d.name];
              if (r && info) r.container_id = info.Id;
            });
          });
          break;
        case 'orphan_container':
          attempt(d, () => {
            const c = orphans.get(d.name);
            return placement.of(c && owned.engineOf.get(c.Id)).removeContainer(d.name);
          });
          break;
        case 'orphan_network':
          attempt(d, () => this.deps.networks.unprovision({ name: d.name, bridge: netLabels.get(d.name) } as NetworkRecord));
          break;
        case 'missing_rule':
          attempt(d, async () => {
            const w = await allowRouted(d.name);
            if (w) throw new Error(w);
          });
          break;
        case 'stale_rule':
          attempt(d, () => removeRoutedMany([d.name]));
          break;
        case 'unfinished_create':
          attempt(d, () =>
            d.object === 'network'
              ? this.deps.networks.finishCreate(d.name)
              : (d.object === 'daemon' ? this.deps.daemons : this.deps.hosts).finishCreate(d.name, ctx),
          );
          break;
        case 'unfinished_delete':
          attempt(d, () =>
            d.object === 'network'
              ? this.deps.networks.delete(d.name)
              : (d.object === 'daemon' ? this.deps.daemons : this.deps.hosts).delete(d.name),
          );
          break;
        case 'missing_record':
        case 'refused_record':
        case 'missing_topology':
        case 'unknown_address':
          break;
      }
    }
    const run = await runSteps([{ steps, concurrency: 1, keepGoing: true, say: () => undefined }], { rollback: false });
    for (const s of run.applied) s.drift.repaired = true;
    for (const f of run.failures) {
      f.step.drift.repaired = false;
      f.step.drift.error = f.error instanceof LabError ? f.error.message : String(f.error);
    }
  }

  /** At server start: put back the forwarding rules a reboot or a firewall reload dropped. Cheap. */
  async restoreRules(): Promise<string[]> {
    if (!this.deps.engine.isLocal) return [];
    const state = await this.deps.store.read();
    const drift: Drift[] = [];
    await this.#rules(state.networks, drift);
    const restored: string[] = [];
    for (const d of drift) if (d.kind === 'missing_rule' && !(await allowRouted(d.name))) restored.push(d.name);
    return restored;
  }
}
