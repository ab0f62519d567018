import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LabError } from '../../src/core/errors.js';
import { runSteps } from '../../src/core/steps/run.js';
import { emptyState, type StoreState } from '../../src/core/store/schema.js';
import { planTopology } from '../../src/core/topology/plan.js';
import { type Made, release, reserve } from '../../src/core/topology/records.js';
import { type Desired, resolveTopology } from '../../src/core/topology/resolve.js';
import { parseTopology } from '../../src/core/topology/spec.js';
import { standupPhases } from '../../src/core/topology/standup-phases.js';
import { failureText, type StandupDeps, workOf } from '../../src/core/topology/standup-steps.js';
import { teardownPhases } from '../../src/core/topology/teardown.js';

const triangle = () => parseTopology({ yaml: readFileSync(new URL('../../examples/triangle.yaml', import.meta.url), 'utf8') });
const noFacts = { containers: new Map(), networks: new Set<string>(), containerIds: new Map<string, string>() };

/** Docker and the services as a standup sees them, writing what is done to them in one journal. */
function fakes(state: StoreState, o: { failing?: string[]; dead?: string[] } = {}) {
  const log: string[] = [];
  const engine = {
    removeContainerId: async (id: string) => void log.push(`remove ${id}`),
    inspectContainer: async (id: string) => ({ State: { Running: !o.dead?.some((n) => id === `c-${n}`), Restarting: false } }),
    logTail: async () => 'oops',
  };
  const nodes = {
    provision: async (rec: { name: string }) => {
      log.push(`provision ${rec.name}`);
      if (o.failing?.includes(rec.name)) throw new LabError('DAEMON_ERROR', 'no image');
      return { id: `c-${rec.name}`, image: 'img' };
    },
  };
  const deps = {
    engine,
    placement: { node: () => engine, of: () => engine },
    store: { read: async () => state, update: async <T>(fn: (s: StoreState) => T) => fn(state) },
    networks: {
      provision: async (rec: { name: string }) => {
        log.push(`network ${rec.name}`);
        return { id: `n-${rec.name}`, warnings: [] };
      },
      unprovision: async (rec: { name: string }) => void log.push(`unprovision ${rec.name}`),
    },
    daemons: nodes,
    hosts: nodes,
    tunnels: { observe: async () => ({ link: { ours: true } }) },
  } as unknown as StandupDeps;
  return { log, deps };
}

/** A first standup of the triangle: its phases, ready to run, and what they fill in. */
function firstStandup(o: { failing?: string[]; dead?: string[] } = {}) {
  const state = emptyState();
  const desired: Desired = resolveTopology(triangle(), state);
  const plan = planTopology(desired, state, noFacts);
  const work = workOf(desired, plan, noFacts);
  reserve(state, desired, work);
  const { log, deps } = fakes(state, o);
  const made: Made = { networks: new Map(), nodes: new Map() };
  const progress: string[] = [];
  const p = standupPhases({
    deps,
    desired,
    plan,
    work,
    reserved: state,
    made,
    warnings: [],
    concurrency: 1,
    progress: (m) => progress.push(m),
  });
  const phases = [p.networks, p.nodes, p.started, p.tunnelsOfNew, p.record, p.updates, p.tunnelsOfKept];
  return { state, work, log, made, phases, progress };
}

describe('standup as steps', () => {
  it('reads the plan into what is made and removed, in the plan order', () => {
    const state = emptyState();
    const desired = resolveTopology(triangle(), state);
    const work = workOf(desired, planTopology(desired, state, noFacts), noFacts);
    expect(work.createNets.map((n) => n.name)).toEqual(['triangle-core', 'triangle-lan1']);
    expect(work.createNodes.map((n) => n.name)).toEqual(['triangle-r1', 'triangle-r2', 'triangle-r3', 'triangle-h1']);
    expect(work.createTunnels.map((t) => t.name)).toEqual(['t12']);
    expect([work.goneNodes, work.goneNets, work.goneTunnels, work.replaced, [...work.kept]]).toEqual([[], [], [], [], []]);
  });

  it('makes the networks before the nodes, one node at a time here, says each node, and records the ids', async () => {
    const { log, state, phases } = firstStandup();
    const seen: string[] = [];
    const run = await runSteps(phases, { progress: (m) => seen.push(m) });
    expect(run.ok).toBe(true);
    expect(log).toEqual([
      'network triangle-core',
      'network triangle-lan1',
      'provision triangle-r1',
      'provision triangle-r2',
      'provision triangle-r3',
      'provision triangle-h1',
    ]);
    expect(seen).toEqual(['creating 2 networks', ...['r1', 'r2', 'r3', 'h1'].map((n, i) => `node triangle-${n} up (${i + 1}/4)`)]);
    expect(state.networks['triangle-core']?.id).toBe('n-triangle-core');
    expect(state.daemons['triangle-r2']).toMatchObject({ container_id: 'c-triangle-r2', image: 'img' });
  });

  it('a node that fails: the others are still tried, then what was made is undone newest first, and the ids are not recorded', async () => {
    const { log, state, phases } = firstStandup({ failing: ['triangle-r2'] });
    const run = await runSteps(phases);
    expect(run.ok).toBe(false);
    expect(run.failures.map(failureText)).toEqual(['triangle-r2: no image']);
    expect(log).toContain('provision triangle-h1');
    expect(log.slice(log.indexOf('provision triangle-h1') + 1)).toEqual([
      'remove c-triangle-h1',
      'remove c-triangle-r3',
      'remove c-triangle-r1',
      'unprovision triangle-lan1',
      'unprovision triangle-core',
    ]);
    expect(state.daemons['triangle-r1']?.container_id).toBeUndefined();
  });

  it('a container that died right after starting fails its node, with what it printed', async () => {
    const { phases } = firstStandup({ dead: ['triangle-r3'] });
    const run = await runSteps(phases);
    expect(run.failures.map(failureText)).toEqual(['triangle-r3: its container exited right after starting; it said: oops']);
    expect(run.undone).toBe(6);
  });

  it('a rollback releases exactly what the reservation took', () => {
    const state = emptyState();
    state.topologies.triangle = {
      name: 'triangle',
      spec: {},
      created_at: '',
      deployed: false,
    } as unknown as StoreState['topologies'][string];
    const before = structuredClone(state);
    const desired = resolveTopology(triangle(), state);
    const work = workOf(desired, planTopology(desired, state, noFacts), noFacts);
    reserve(state, desired, work);
    expect(state.networks['triangle-core']?.allocations).toMatchObject({ '10.10.0.11': 'triangle-r1', '10.10.0.2': 'triangle-r2' });
    expect(state.topologies.triangle?.deployed).toBe(true);
    release(state, 'triangle', work);
    expect(state).toEqual(before);
  });

  it('the reservation refuses an address someone took meanwhile', () => {
    const state = emptyState();
    const desired = resolveTopology(triangle(), state);
    const work = workOf(desired, planTopology(desired, state, noFacts), noFacts);
    const taken = structuredClone(state);
    reserve(taken, desired, { ...work, createNodes: [] });
    (taken.networks['triangle-core'] as { allocations: Record<string, string> }).allocations['10.10.0.2'] = 'someone';
    // the networks stand (made by the first reservation); the nodes come now
    expect(() => reserve(taken, desired, { ...work, createNets: [] })).toThrow(
      /10\.10\.0\.2 on 'triangle-core' was taken by 'someone' meanwhile/,
    );
  });

  it('teardown freezes the running daemons, tries every removal, containers before networks, and a failure thaws what is left and stops the rules and records', async () => {
    const log: string[] = [];
    const engine = {
      isLocal: false,
      pauseContainer: async (id: string) => {
        log.push(`pause ${id}`);
        if (id === 'id-d') throw new Error('is not running');
      },
      unpauseContainer: async (id: string) => {
        log.push(`unpause ${id}`);
        if (id === 'id-a') throw new Error('No such container'); // removed already: no matter
      },
      removeContainerId: async (id: string) => {
        log.push(`rm ${id}`);
        if (id === 'id-b') throw new Error('device busy');
      },
    };
    const deps = {
      engine,
      placement: { of: () => engine },
      networks: { unprovision: async (rec: { name: string }) => void log.push(`net ${rec.name}`) },
    } as unknown as StandupDeps;
    const names = ['a', 'b', 'c', 'd', 'e'];
    const facts = {
      containerIds: new Map(names.map((n) => [n, `id-${n}`])),
      engineOf: new Map(),
      // c is a host (nothing to freeze), e a daemon already stopped, d one whose pause fails
      roles: new Map([
        ['a', 'daemon'],
        ['b', 'daemon'],
        ['c', 'host'],
        ['d', 'daemon'],
        ['e', 'daemon'],
      ]),
      containers: new Map<string, 'running' | 'stopped'>([
        ['a', 'running'],
        ['b', 'running'],
        ['c', 'running'],
        ['d', 'running'],
        ['e', 'stopped'],
      ]),
      networks: new Set(['lab-core']),
      networkIds: new Map(),
      down: [],
    };
    const run = await runSteps(teardownPhases(deps, facts, emptyState(), ['lab-core']));
    expect(log.slice(0, 3)).toEqual(['pause id-a', 'pause id-b', 'pause id-d']);
    expect(log.slice(3, 8)).toEqual(['rm id-a', 'rm id-b', 'rm id-c', 'rm id-d', 'rm id-e']);
    // the removal failed: every frozen daemon is thawed (a was removed: its failed thaw is no matter)
    expect(log.slice(8).sort()).toEqual(['unpause id-a', 'unpause id-b', 'unpause id-d']);
    expect(run.failures.map((f) => f.step.describe)).toEqual(['remove container b']);
    expect(run.leftovers).toEqual([]);
    log.length = 0;
    const ok = await runSteps(teardownPhases(deps, { ...facts, containerIds: new Map([['a', 'id-a']]) }, emptyState(), ['lab-core']));
    expect(ok.ok).toBe(true);
    expect(log).toEqual(['pause id-a', 'rm id-a', 'net lab-core']);
  });
});
