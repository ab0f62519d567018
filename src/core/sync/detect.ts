/**
 * Drift detection, one small function per object kind: records to rebuild or refused, networks,
 * containers (with unfinished creates and deletes), orphans, addresses and forwarding rules.
 * Each appends its items to the list, in the order sync_run reports them.
 */
import { existsSync } from 'node:fs';
import { ruleCounts } from '../docker/firewall.js';
import { LABELS } from '../docker/labels.js';
import { type Owned, Placement } from '../engines/placement.js';
import { holderAlive } from '../pending.js';
import type { Rebuildable } from '../rebuild.js';
import { printable, problemText } from '../rebuild-check.js';
import type { NetworkRecord, Pending, StoreState } from '../store/schema.js';
import { endsOf } from '../tunnels/render.js';
import { type Drift, unfinished } from './drift.js';

/** The store and what Docker has, read once, with the lookups the detectors share. */
export interface Seen {
  state: StoreState;
  owned: Owned;
  rebuild: Rebuildable;
  byName: Map<string, Owned['containers'][number]>;
  netByName: Map<string, Owned['networks'][number]>;
  /** An engine that does not answer: what runs there cannot be seen (reported, not guessed). */
  unseen(engineName: string | undefined): string | undefined;
  netEngine(rec: NetworkRecord): string | undefined;
  /** Someone is at work on a record: it is theirs to finish, not drift. */
  busy(rec: { pending?: Pending | undefined; topology?: string | undefined }): boolean | undefined;
}

export function seen(placement: Placement, state: StoreState, owned: Owned, rebuild: Rebuildable): Seen {
  return {
    state,
    owned,
    rebuild,
    byName: new Map(owned.containers.map((c) => [(c.Names[0] ?? '').replace(/^\//, ''), c])),
    netByName: new Map(owned.networks.map((n) => [n.Name, n])),
    unseen: (engineName) => Placement.isDown(owned, engineName ?? placement.defaultName),
    netEngine: (rec) => (rec.driver === 'overlay' ? placement.defaultName : rec.engine),
    // A create or delete in a live process, a standup holding its topology's lease.
    busy: (rec) =>
      (rec.pending && holderAlive(rec.pending)) ||
      (!!rec.topology && !!state.topologies[rec.topology]?.lease && holderAlive(state.topologies[rec.topology]?.lease as Pending)),
  };
}

/** Records lost from the store and rebuildable from what the objects carry; records refused; topologies gone. */
export function recordDrift(rebuild: Rebuildable, drift: Drift[]): void {
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
}

/** Networks of the store: unfinished, or gone from Docker. */
export function networkDrift(v: Seen, drift: Drift[]): void {
  for (const rec of Object.values(v.state.networks)) {
    if (v.busy(rec)) continue;
    if (rec.pending || !rec.id)
      drift.push(unfinished(rec.pending?.op === 'delete' ? 'delete' : 'create', 'network', rec.name, v.netByName.has(rec.name)));
    else if (!v.netByName.has(rec.name))
      drift.push({
        kind: 'missing_network',
        name: rec.name,
        detail: v.unseen(v.netEngine(rec))
          ? `Docker network '${rec.name}' cannot be seen: engine '${v.netEngine(rec)}' does not answer (${v.unseen(v.netEngine(rec))})`
          : `Docker network '${rec.name}' is gone`,
        repair: 'create it again and reconnect its containers',
      });
  }
}

/** Daemons and hosts of the store: unfinished, container gone, replaced or stopped. */
export function containerDrift(v: Seen, drift: Drift[]): void {
  const { state } = v;
  for (const rec of [...Object.values(state.daemons), ...Object.values(state.hosts)]) {
    if (v.busy(rec)) continue;
    const c = v.byName.get(rec.name);
    const role = state.daemons[rec.name] ? 'daemon' : 'host';
    if (rec.pending || (!rec.container_id && c))
      drift.push(unfinished(rec.pending?.op === 'delete' ? 'delete' : 'create', role, rec.name, !!c));
    else if (!c)
      drift.push({
        kind: 'missing_container',
        name: rec.name,
        detail: v.unseen(rec.engine)
          ? `the container of '${rec.name}' cannot be seen: engine '${rec.engine}' does not answer (${v.unseen(rec.engine)})`
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
}

/** Labelled containers, then networks, that no record claims (nor a record to rebuild or a refused one). */
export function orphanDrift(v: Seen, drift: Drift[]): void {
  const { state, rebuild } = v;
  const refused = (networks: boolean) =>
    rebuild.refused.filter((r) => r.object !== 'tunnel' && (r.object === 'network') === networks).map((r) => r.name);
  const claimed = new Set([
    ...Object.keys(state.daemons),
    ...Object.keys(state.hosts),
    ...rebuild.nodes.map((n) => n.rec.name),
    ...refused(false),
  ]);
  for (const [name, c] of v.byName) {
    if (!claimed.has(name))
      drift.push({
        kind: 'orphan_container',
        name,
        detail: `container '${name}' (${c.Labels?.[LABELS.role] ?? '?'}) carries this store's labels but no record claims it, and it carries no record to rebuild`,
        repair: 'remove it',
      });
  }
  const netClaimed = new Set([...Object.keys(state.networks), ...rebuild.networks.map((n) => n.name), ...refused(true)]);
  for (const [name] of v.netByName) {
    if (!netClaimed.has(name))
      drift.push({
        kind: 'orphan_network',
        name,
        detail: `network '${name}' carries this store's labels but no record claims it, and it carries no record to rebuild`,
        repair: 'remove it',
      });
  }
}

/**
 * Addresses taken on lab networks that the store does not know of (by containers it knows:
 * the others are reported as orphans).
 */
export function addressDrift(v: Seen, drift: Drift[]): void {
  const { state } = v;
  for (const c of v.owned.containers) {
    const name = (c.Names[0] ?? '').replace(/^\//, '');
    const rec = state.daemons[name] ?? state.hosts[name];
    if (!rec || v.busy(rec)) continue;
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
}

/** Forwarding rules: every lab bridge of this store has one; a rule whose bridge does not exist is stale. */
export async function ruleDrift(networks: Record<string, { name: string; bridge?: string | undefined }>, drift: Drift[]): Promise<void> {
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
