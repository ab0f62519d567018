/**
 * sync_run: the store (desired state) against Docker (runtime truth), by ownership labels. It
 * reports drift and, with apply, repairs it: recreates or starts what the store says should run,
 * removes labelled objects that no record claims (a create killed half way), restores forwarding
 * rules and drops rules whose bridge is gone. It never touches anything without this store's labels.
 * Detection is in ./sync/detect.ts, the repairs in ./sync/repair.ts.
 */
import { allowRouted } from './docker/firewall.js';
import type { Owned } from './engines/placement.js';
import { LabError } from './errors.js';
import type { OpContext } from './progress.js';
import { applyRebuild, findRebuildable, type Rebuildable } from './rebuild.js';
import { runSteps } from './steps/run.js';
import type { NetworkRecord } from './store/schema.js';
import { addressDrift, containerDrift, networkDrift, orphanDrift, recordDrift, ruleDrift, seen } from './sync/detect.js';
import type { Drift } from './sync/drift.js';
import { repairScope, repairSteps, type SyncDeps } from './sync/repair.js';

export { DRIFT_KINDS, DRIFT_OBJECTS, type Drift, type DriftKind, type DriftObject } from './sync/drift.js';

export class Sync {
  constructor(private readonly deps: SyncDeps) {}

  async run(apply: boolean, ctx: OpContext = {}): Promise<{ applied: boolean; in_sync: boolean; drift: Drift[] }> {
    const { engine, store, placement } = this.deps;
    await engine.ready();
    const [state, owned] = await Promise.all([store.read(), placement.listOwned()]);
    const drift: Drift[] = [];
    // Records lost from the store, rebuilt from what the objects carry: first, so that what
    // follows (networks, nodes) sees them.
    const rebuild = await findRebuildable(placement, state, owned, { allowExternal: this.deps.config.allowExternal });
    const v = seen(placement, state, owned, rebuild);
    recordDrift(rebuild, drift);
    // Networks first: a node on a network that is gone needs the network back before it can run.
    networkDrift(v, drift);
    containerDrift(v, drift);
    orphanDrift(v, drift);
    addressDrift(v, drift);
    // The rule of a network whose create is under way or unfinished comes with finishing it.
    const settled = Object.fromEntries(Object.entries(state.networks).filter(([, n]) => n.id && !n.pending));
    if (engine.isLocal) await ruleDrift(settled, drift);

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

  /**
   * Each repair is a step, tried in order whatever the others did; nothing is undone (a repair
   * that fails leaves things no worse), and each item says whether its repair worked.
   */
  async #repair(drift: Drift[], networks: Record<string, NetworkRecord>, owned: Owned, ctx: OpContext): Promise<void> {
    const steps = repairSteps(drift, repairScope(this.deps, networks, owned, ctx));
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
    await ruleDrift(state.networks, drift);
    const restored: string[] = [];
    for (const d of drift) if (d.kind === 'missing_rule' && !(await allowRouted(d.name))) restored.push(d.name);
    return restored;
  }
}
