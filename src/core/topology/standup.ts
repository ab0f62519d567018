/**
 * Carrying out a plan: removals first, then every name and address reserved in one store
 * transaction, then the Docker work as phases of steps (./standup-steps.ts: networks, then nodes
 * with bounded concurrency, their tunnels coming up with them, then the changes made in place on
 * nodes that stay) run by the one executor, with progress and cancellation. A failure undoes what
 * this run made, newest first, and releases its records (or keeps it, if asked); the next standup
 * or teardown always works.
 */
import type { DockerEngine } from '../docker/engine.js';
import { readHostRoutes } from '../docker/host-routes.js';
import { LabError } from '../errors.js';
import { parseSubnet, type Subnet } from '../ipam.js';
import { refuseHostRoute } from '../networks.js';
import { crashPoint } from '../pending.js';
import type { OpContext } from '../progress.js';
import { type RunResult, runSteps } from '../steps/run.js';
import type { Plan } from './plan.js';
import { type Facts, forgetNode, type Made, recordMade, refuseTakenAddresses, release, reserve } from './records.js';
import type { Desired } from './resolve.js';
import { standupPhases } from './standup-phases.js';
import { failureText, removalPhases, type StandupDeps, type StandupStep, workOf } from './standup-steps.js';

export { dockerFacts, type Facts, networkRecord, nodeRecord } from './records.js';
export type { StandupDeps } from './standup-steps.js';
export { runTeardown } from './teardown.js';

export interface StandupOptions {
  concurrency?: number | undefined;
  on_error?: 'rollback' | 'keep' | undefined;
}

export interface StandupOutcome {
  warnings: string[];
}

/** A function that reads something of an engine once, however many times it is asked. */
function oncePerEngine<T>(read: (engine: DockerEngine) => Promise<T>): (engine: DockerEngine) => Promise<T> {
  const seen = new Map<DockerEngine, Promise<T>>();
  return (engine) => {
    let p = seen.get(engine);
    if (!p) {
      p = read(engine);
      seen.set(engine, p);
    }
    return p;
  };
}

/**
 * Names and subnets Docker already gives to someone else are refused here, the way
 * network_create and daemon_create refuse them, before anything is removed or made. Each engine's
 * networks, containers and host routes are read once for the whole topology, not once per node
 * or network.
 */
async function refuseClashes(deps: StandupDeps, desired: Desired, plan: Plan, warnings: string[]): Promise<void> {
  const { engine, placement } = deps;
  const of = (kind: string, ...actions: string[]) =>
    new Set(plan.items.filter((i) => i.kind === kind && actions.includes(i.action)).map((i) => i.name));
  const [netsNew, netsMade, nodesNew] = [of('network', 'create'), of('network', 'create', 'recreate'), of('node', 'create')];
  if (desired.networks.some((n) => n.overlay && netsMade.has(n.name))) await deps.networks.requireSwarm('placement');
  const networksOn = oncePerEngine((e) => e.networks.list());
  for (const n of desired.networks.filter((x) => netsNew.has(x.name))) {
    await deps.networks
      .refuseClashes(n.name, parseSubnet(n.subnet) as Subnet, n.overlay ? undefined : placement.of(n.engine), networksOn)
      .catch((err: unknown) => {
        throw err instanceof LabError
          ? new LabError(err.code, `networks.${n.key}: ${err.message}`, err.hint ? { hint: err.hint } : {})
          : err;
      });
  }
  // A name taken by any container on any engine, ours or not (as hosts.refuseTakenName says).
  const names = new Set(
    (await Promise.all(placement.all().map(({ engine: e }) => e.containers.list())))
      .flat()
      .flatMap((c) => c.Names.map((x) => x.replace(/^\//, ''))),
  );
  for (const n of desired.nodes.filter((x) => nodesNew.has(x.name))) {
    if (names.has(n.name))
      throw new LabError('CONFLICT', `nodes.${n.key}: a container named '${n.name}' already exists`, {
        hint: 'pick another name, or delete the existing one first',
      });
  }
  const routesOn = oncePerEngine(readHostRoutes);
  for (const n of desired.networks.filter((x) => netsMade.has(x.name))) {
    // A bridge takes the routes of its own engine's machine; an overlay is checked on the default engine.
    const on = n.overlay ? engine : placement.of(n.engine);
    const unchecked = await refuseHostRoute(on, n.subnet, `networks.${n.key}.subnet`, routesOn(on));
    if (unchecked) warnings.push(`networks.${n.key}: ${unchecked}`);
  }
}

/** Why a run of steps failed, as the error the caller's message is built on. */
function causeOf(run: RunResult<StandupStep>, topo: string): unknown {
  if (run.cancelled) return new LabError('TIMEOUT', `standup of '${topo}' was cancelled`);
  const [only] = run.failures;
  // A failure laid at no node (a change in place, the record) is the error itself.
  if (only && run.failures.length === 1 && !only.step.node) return only.error;
  return new LabError('DAEMON_ERROR', run.failures.map(failureText).join('; '));
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
  const { store } = deps;
  const topo = desired.topology;
  const progress = (m: string, f?: number) => ctx.progress?.(m, f);
  const work = workOf(desired, plan, facts);
  const warnings: string[] = [];

  // 1. Removals: tunnels, then containers, then networks that go or are made again. Nothing is
  // removed before the addresses the plan needs are known to be free.
  const before = await store.read();
  refuseTakenAddresses(before, desired);
  await refuseClashes(deps, desired, plan, warnings);
  const goneTunnels = work.goneTunnels.filter((n) => before.tunnels[n]).length;
  if (goneTunnels || work.goneNodes.length || work.goneNets.length)
    progress(`removing ${work.goneNodes.length} nodes, ${work.goneNets.length} networks, ${goneTunnels} tunnels that change`);
  // Not cancelled half way: the transaction below forgets what they removed.
  const removed = await runSteps(removalPhases(deps, facts, work, before));
  if (!removed.ok) throw removed.failures[0]?.error;

  // 2. One transaction: forget what went, reserve everything this run makes.
  const reserved = await store.update((s) => {
    reserve(s, desired, work);
    return structuredClone(s);
  });
  crashPoint('standup.reserved');

  // 3. Docker, as steps; each undone, newest first, if a later one fails or the run is cancelled.
  const made: Made = { networks: new Map(), nodes: new Map() };
  const concurrency = Math.max(1, opts.concurrency ?? 8);
  const p = standupPhases({ deps, desired, plan, work, reserved, made, warnings, concurrency, progress });
  const rollback = (opts.on_error ?? 'rollback') === 'rollback';
  const run = await runSteps([p.networks, p.nodes, p.started, p.execs, p.tunnelsOfNew, p.record, p.updates, p.tunnelsOfKept], {
    progress: ctx.progress,
    signal: ctx.signal,
    rollback,
    onRollback: (steps) => {
      const count = (of: { steps: readonly StandupStep[] }) => steps.filter((s) => of.steps.includes(s)).length;
      progress(`rolling back what this standup created (${count(p.nodes)} containers, ${count(p.networks)} networks)`);
    },
  });
  if (run.ok) return { warnings };

  const cause = causeOf(run, topo);
  const why = cause instanceof LabError ? cause.message : String(cause);
  if (rollback) {
    await store.update((s) => release(s, topo, work));
    const left = run.leftovers.length ? `; rollback could not remove ${run.leftovers.join(', ')}` : '';
    throw new LabError('DAEMON_ERROR', `standup of '${topo}' failed and was rolled back: ${why}${left}`, {
      hint: work.replaced.length
        ? `fix the cause and run topology_standup again: it brings back ${work.replaced.join(', ')}, removed by this run to be made again; everything else from before is untouched`
        : 'fix the cause and run topology_standup again; what stayed from before is untouched',
      cause,
    });
  }
  // keep: record what was made; forget the nodes that failed so the next standup makes them.
  await store.update((s) => {
    recordMade(s, made);
    for (const f of run.failures) if (f.step.node) forgetNode(s, f.step.node);
  });
  throw new LabError('DAEMON_ERROR', `standup of '${topo}' failed; what was made is kept for inspection: ${why}`, {
    hint: 'inspect it (topology_status, docker logs), then run topology_standup again or topology_teardown',
    cause,
  });
}
