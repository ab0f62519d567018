/**
 * Restoring a snapshot: the snapshot's file becomes the topology's file again; a standup runs when
 * the lab differs from that file in more than peers and prefixes (nodes, networks, tunnels,
 * stopped containers, faults), and plans only what differs; then each daemon's peers and prefixes
 * are brought to the snapshot's live (same container, no restart). What changed is reported per
 * node, from the records before and after.
 */
import pLimit from 'p-limit';
import type { Daemons } from '../daemons.js';
import type { Placement } from '../engines/placement.js';
import { LabError, notFound } from '../errors.js';
import type { Faults } from '../faults/service.js';
import { ownValue } from '../keys.js';
import type { OpContext } from '../progress.js';
import type { Store } from '../store/store.js';
import { withLease } from './lease.js';
import { neighborKey } from './plan.js';
import { dockerFacts } from './records.js';
import type { Topologies } from './service.js';
import { changesBetween, type NodeChange, nodesOf, type PeerDiff, peerDiff } from './snapshot-diff.js';
import type { SnapshotFile } from './snapshot-files.js';
import { parseTopology } from './spec.js';
import type { StandupResult } from './views.js';

export interface SnapshotDeps {
  store: Pick<Store, 'read' | 'update'>;
  dataDir: string;
  placement: Placement;
  topologies: Pick<Topologies, 'plan' | 'standup' | 'resolved'>;
  daemons: Pick<Daemons, 'peerAdd' | 'peerRemove' | 'routeAdvertise' | 'routeWithdraw' | 'setRouteServer'>;
  faults?: Pick<Faults, 'list'> | undefined;
}

export interface RestoreResult {
  topology: string;
  snapshot: string;
  file_restored: boolean;
  standup: { ran: boolean; why: string; summary?: StandupResult['plan']['summary'] };
  nodes: NodeChange[];
  unchanged: number;
  warnings?: string[];
  duration_s: number;
}

export async function restoreSnapshot(deps: SnapshotDeps, snap: SnapshotFile, ctx: OpContext = {}): Promise<RestoreResult> {
  const t0 = Date.now();
  const name = snap.topology;
  const id = snap.id;
  // The file must still be one this version accepts (field paths otherwise).
  parseTopology({ spec: snap.file.spec });
  const warnings: string[] = [];
  const before = nodesOf(await deps.store.read(), name);
  const fileRestored = await putFile(deps, snap);
  const deployed = ownValue((await deps.store.read()).topologies, name)?.deployed ?? false;
  const done = (standup: RestoreResult['standup'], after: SnapshotFile['nodes']): RestoreResult => {
    const nodes = changesBetween(before, after);
    return {
      topology: name,
      snapshot: id,
      file_restored: fileRestored,
      standup,
      nodes,
      unchanged: new Set([...before, ...after].map((n) => n.name)).size - nodes.length,
      ...(warnings.length ? { warnings } : {}),
      duration_s: Math.round((Date.now() - t0) / 100) / 10,
    };
  };
  if (!deployed && !snap.deployed) return done({ ran: false, why: 'neither the snapshot nor the lab is stood up: only the file' }, before);
  if (!snap.deployed) warnings.push(`the snapshot was taken while '${name}' was not stood up: the running lab was converged to its file`);

  const why = await standupNeeded(deps, name, deployed);
  let standup: RestoreResult['standup'] = { ran: false, why: 'only peers and prefixes differ: changed live' };
  if (why) {
    ctx.progress?.(`standing ${name} up (${why})`, 0.1);
    const r = await deps.topologies.standup(name, {}, ctx);
    warnings.push(...(r.warnings ?? []));
    standup = { ran: true, why, summary: r.plan.summary };
  }
  ctx.progress?.('peers and prefixes', 0.8);
  await withLease(deps.store, name, 'restore', () => converge(deps, snap, standup.ran ? before : [], warnings));
  return done(standup, nodesOf(await deps.store.read(), name));
}

/** Make the snapshot's file the topology's file again (its record made again if it was deleted). */
async function putFile(deps: SnapshotDeps, snap: SnapshotFile): Promise<boolean> {
  const name = snap.topology;
  const at = new Date().toISOString();
  const same = (r: { spec: unknown; yaml?: string | undefined }) =>
    JSON.stringify([r.spec, r.yaml ?? null]) === JSON.stringify([snap.file.spec, snap.file.yaml ?? null]);
  const current = ownValue((await deps.store.read()).topologies, name);
  if (current && same(current)) return false;
  if (!current) {
    await deps.store.update((s) => {
      if (ownValue(s.topologies, name)) return;
      s.topologies[name] = { name, spec: snap.file.spec, created_at: at, updated_at: at, deployed: false };
    });
  }
  return withLease(deps.store, name, 'restore', () =>
    deps.store.update((s) => {
      const r = ownValue(s.topologies, name);
      if (!r) throw notFound('topology', name);
      if (same(r)) return false;
      r.spec = snap.file.spec;
      if (snap.file.yaml !== undefined) r.yaml = snap.file.yaml;
      else delete r.yaml;
      r.updated_at = at;
      return true;
    }),
  );
}

/**
 * Why a standup is needed, or undefined when the lab differs from its file only in peers and
 * prefixes of running daemons (changed live then, so that sessions that stay are not reset).
 */
async function standupNeeded(deps: SnapshotDeps, name: string, deployed: boolean): Promise<string | undefined> {
  if (!deployed) return 'the lab is not stood up';
  const faults = (await deps.faults?.list(name)) ?? [];
  if (faults.length) return `${faults.length} fault(s) to undo`;
  const [plan, facts] = await Promise.all([deps.topologies.plan(name), dockerFacts(deps.placement, name)]);
  if (facts.down.length) return `engine ${facts.down[0]?.name} did not answer`;
  const structural = plan.items.filter((i) => {
    if (i.action === 'keep' || i.kind === 'session') return false;
    if (i.kind === 'node' && i.action === 'update') return facts.containers.get(i.name) !== 'running';
    return true;
  });
  if (!structural.length) return undefined;
  const [first] = structural;
  return `${structural.length} change(s) beyond peers and prefixes, e.g. ${first?.kind} ${first?.name}: ${first?.action}${first?.reason ? ` (${first.reason})` : ''}`;
}

/** Bring each daemon's peers and prefixes to the snapshot's, live (same container, no restart). */
async function converge(deps: SnapshotDeps, snap: SnapshotFile, beforeStandup: SnapshotFile['nodes'], warnings: string[]): Promise<void> {
  const state = await deps.store.read();
  const limit = pLimit(4);
  const work = snap.nodes
    .filter((n) => n.role === 'daemon')
    .map((n) =>
      limit(async () => {
        const rec = ownValue(state.daemons, n.name);
        if (!rec || rec.topology !== snap.topology) {
          warnings.push(`${n.name}: not in the lab after the standup; its peers and prefixes were not restored`);
          return;
        }
        if (rec.own?.config !== undefined || n.own?.config !== undefined) {
          if (JSON.stringify(rec.own ?? null) !== JSON.stringify(n.own ?? null))
            warnings.push(`${n.name}: its own configuration differs from the snapshot's (it comes from the file)`);
          return;
        }
        const d = peerDiff(rec, { neighbors: n.neighbors ?? [], advertise: n.advertise ?? [] });
        await apply(deps, n.name, d, warnings);
        if ((n.route_server === true) !== (rec.route_server === true))
          await deps.daemons.setRouteServer(n.name, n.route_server === true).catch((err: unknown) => {
            warnings.push(`${n.name}: route_server: ${text(err)}`);
          });
        // Peers the lab had, that the snapshot keeps and its file does not: the standup took them away.
        const had = beforeStandup.find((b) => b.name === n.name)?.neighbors ?? [];
        const again = d.add.filter((p) => had.some((h) => neighborKey(h) === neighborKey(p))).map((p) => p.address);
        if (again.length)
          warnings.push(`${n.name}: peers ${again.join(', ')} are not in the file: the standup removed them and they were added again`);
      }),
    );
  await Promise.all(work);
}

async function apply(deps: SnapshotDeps, name: string, d: PeerDiff, warnings: string[]): Promise<void> {
  const daemons = deps.daemons;
  const step = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      warnings.push(`${name}: could not ${what}: ${text(err)}`);
    }
  };
  for (const a of d.remove) await step(`remove peer ${a}`, () => daemons.peerRemove(name, a));
  for (const n of d.add) await step(`add peer ${n.address}`, () => daemons.peerAdd(name, n));
  for (const p of d.withdraw) await step(`withdraw ${p}`, () => daemons.routeWithdraw(name, p));
  for (const p of d.advertise) await step(`advertise ${p}`, () => daemons.routeAdvertise(name, p));
}

const text = (err: unknown): string => (err instanceof LabError ? err.message : err instanceof Error ? err.message : String(err));
