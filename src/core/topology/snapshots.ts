/**
 * Snapshots of a topology: its file as stored plus each node's live state (the peers and prefixes
 * of each daemon's record, with what was added or withdrawn since standup, and its own config),
 * and a restore that converges the lab to one, changing only what differs. Files: snapshot-files.ts;
 * the comparisons: snapshot-diff.ts.
 */
import { conflict, invalid, notFound } from '../errors.js';
import { ownValue } from '../keys.js';
import { holderAlive } from '../pending.js';
import type { OpContext } from '../progress.js';
import { isEmpty, nodesOf, peerDiff } from './snapshot-diff.js';
import { newSnapshotId, type SnapshotFile, SnapshotFiles } from './snapshot-files.js';
import { type RestoreResult, restoreSnapshot, type SnapshotDeps } from './snapshot-restore.js';

export type { RestoreResult, SnapshotDeps } from './snapshot-restore.js';

/** What a daemon's record holds beyond its file: the diff from the file to the record. */
export interface LiveChange {
  name: string;
  peers_added?: SnapshotFile['nodes'][number]['neighbors'];
  peers_removed?: string[];
  prefixes_advertised?: string[];
  prefixes_withdrawn?: string[];
}

export interface SnapshotSummary {
  id: string;
  topology: string;
  label?: string;
  created_at: string;
  deployed: boolean;
  nodes: number;
  daemons: number;
  peers: number;
  prefixes: number;
  /** daemons whose peers or prefixes differed from the file */
  changed_since_standup: number;
}

const summary = (s: SnapshotFile): SnapshotSummary => {
  const daemons = s.nodes.filter((n) => n.role === 'daemon');
  return {
    id: s.id,
    topology: s.topology,
    ...(s.label !== undefined ? { label: s.label } : {}),
    created_at: s.created_at,
    deployed: s.deployed,
    nodes: s.nodes.length,
    daemons: daemons.length,
    peers: daemons.reduce((t, d) => t + (d.neighbors?.length ?? 0), 0),
    prefixes: daemons.reduce((t, d) => t + (d.advertise?.length ?? 0), 0),
    changed_since_standup: s.changed?.length ?? 0,
  };
};

export class Snapshots {
  readonly files: SnapshotFiles;

  constructor(private readonly deps: SnapshotDeps) {
    this.files = new SnapshotFiles(deps.dataDir);
  }

  async take(
    name: string,
    label?: string,
  ): Promise<SnapshotSummary & { daemons_changed_since_standup: LiveChange[]; dropped?: string[]; warnings?: string[] }> {
    const state = await this.deps.store.read();
    const rec = ownValue(state.topologies, name);
    if (!rec) throw notFound('topology', name);
    if (rec.lease && holderAlive(rec.lease))
      throw conflict(`a ${rec.lease.op} of '${name}' is running`, 'take the snapshot once it has finished');
    const nodes = nodesOf(state, name);
    const warnings = nodes
      .filter((n) => (ownValue(state.daemons, n.name) ?? ownValue(state.hosts, n.name))?.pending)
      .map((n) => `${n.name} is half made or half removed (a pending mark): sync_run finishes it`);
    const changes = rec.deployed ? await this.#sinceStandup(name, nodes, warnings) : [];
    const at = new Date();
    let id = newSnapshotId(at);
    for (let i = 0; i < 8 && !(await this.files.free(name, id)); i++) id = newSnapshotId(at);
    const snap: SnapshotFile = {
      version: 1,
      id,
      topology: name,
      ...(label ? { label } : {}),
      created_at: at.toISOString(),
      deployed: rec.deployed,
      file: { spec: rec.spec, ...(rec.yaml !== undefined ? { yaml: rec.yaml } : {}) },
      nodes,
      ...(changes.length ? { changed: changes.map((c) => c.name) } : {}),
    };
    const { dropped } = await this.files.write(snap);
    if (!rec.deployed) warnings.push(`'${name}' is not stood up: only its file is saved`);
    if (dropped.length)
      warnings.push(
        `at most 50 snapshots are kept per topology: the oldest (${dropped.join(', ')}) ${dropped.length > 1 ? 'were' : 'was'} removed`,
      );
    return {
      ...summary(snap),
      daemons_changed_since_standup: changes,
      ...(dropped.length ? { dropped } : {}),
      ...(warnings.length ? { warnings } : {}),
    };
  }

  /** Per daemon, what its record holds that its file does not (peers and prefixes changed live). */
  async #sinceStandup(name: string, nodes: SnapshotFile['nodes'], warnings: string[]): Promise<LiveChange[]> {
    let desired: Awaited<ReturnType<SnapshotDeps['topologies']['resolved']>>['desired'];
    try {
      ({ desired } = await this.deps.topologies.resolved(name));
    } catch (err) {
      warnings.push(`could not compare with the file: ${err instanceof Error ? err.message : String(err)}`);
      return [];
    }
    const out: LiveChange[] = [];
    for (const n of nodes) {
      const want = desired.nodes.find((d) => d.name === n.name);
      if (n.role !== 'daemon' || want?.role !== 'daemon') continue;
      const d = peerDiff(want, { neighbors: n.neighbors ?? [], advertise: n.advertise ?? [] });
      if (isEmpty(d)) continue;
      out.push({
        name: n.name,
        ...(d.add.length ? { peers_added: d.add } : {}),
        ...(d.remove.length ? { peers_removed: d.remove.filter((a) => !d.add.some((x) => x.address === a)) } : {}),
        ...(d.advertise.length ? { prefixes_advertised: d.advertise } : {}),
        ...(d.withdraw.length ? { prefixes_withdrawn: d.withdraw } : {}),
      });
    }
    return out;
  }

  async list(name?: string): Promise<{ snapshots: SnapshotSummary[]; unreadable?: string[] }> {
    if (name !== undefined && !ownValue((await this.deps.store.read()).topologies, name) && !(await this.files.topologies()).includes(name))
      throw notFound('topology', name);
    const { snapshots, unreadable } = await this.files.list(name);
    return { snapshots: snapshots.map(summary), ...(unreadable.length ? { unreadable } : {}) };
  }

  /** The snapshot `id` of `name`: NOT_FOUND naming it, or INVALID_INPUT when it is another topology's. */
  async #find(name: string, id: string): Promise<SnapshotFile> {
    const snap = await this.files.read(name, id);
    if (snap) return snap;
    const holders = await this.files.holders(id);
    if (holders.length)
      throw invalid(
        'snapshot',
        `${id} is a snapshot of topology '${holders[0]}', not of '${name}'`,
        'restore it with name set to its own topology',
      );
    throw notFound('snapshot', id, `topology_snapshot_list with name '${name}' shows its snapshots`);
  }

  /** Converge the lab to snapshot `id` of `name` (snapshot-restore.ts). */
  async restore(name: string, id: string, ctx: OpContext = {}): Promise<RestoreResult> {
    return restoreSnapshot(this.deps, await this.#find(name, id), ctx);
  }
}
