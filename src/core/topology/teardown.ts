/**
 * Teardown: every container and network labelled with the topology is removed (whatever the
 * store says), as steps, then its records in one transaction. Nothing is undone (what is removed
 * stays removed) and nothing stops half way: the records are forgotten only once Docker is clean.
 */
import { removeRoutedMany } from '../docker/firewall.js';
import { LabError } from '../errors.js';
import { bridgeName } from '../networks.js';
import type { OpContext } from '../progress.js';
import { type Phase, runSteps } from '../steps/run.js';
import type { StoreState } from '../store/schema.js';
import { dockerFacts, type Facts, forgetNode } from './records.js';
import { removeContainerStep, type StandupDeps, silent } from './standup-steps.js';

/**
 * The running daemons frozen first (docker pause, 16 at a time), then containers (8 at a time),
 * then networks, then their forwarding rules. Each removal is tried even when one fails; the first
 * failure is the error.
 *
 * Why freeze: a BGP daemon that loses a peer recomputes its routes and tells its other peers, who
 * do the same, so removing routers one by one from a running lab made every router left work on
 * each removal, a cost that grows with the square of the lab's size (ring of 60, measured: the
 * containers themselves used 11.4 s of CPU during teardown, 0.5 s frozen; `container.remove` 1.9 s
 * against 1.1 s each). A frozen daemon hears nothing; Docker removes a paused container as it
 * removes a running one (the kill is delivered as it thaws). A freeze that fails is no matter (that
 * container is removed as it is); if the teardown fails, what was frozen and is still there is
 * thawed again.
 */
export function teardownPhases(deps: StandupDeps, facts: Facts, state: StoreState, nets: string[]): Phase[] {
  const bridges = nets.map((n) => state.networks[n]?.bridge ?? bridgeName(n));
  const frozen = [...facts.containerIds].filter(([name]) => facts.roles.get(name) === 'daemon' && facts.containers.get(name) === 'running');
  return [
    {
      title: `freezing ${frozen.length} daemons`,
      span: [0, 0.1],
      concurrency: 16,
      keepGoing: true,
      say: silent,
      steps: frozen.map(([name, id]) => {
        const engine = () => deps.placement.of(facts.engineOf.get(name));
        return {
          describe: `freeze ${name}`,
          async apply() {
            await engine()
              .pauseContainer(id)
              .catch(() => undefined);
          },
          async undo() {
            await engine()
              .unpauseContainer(id)
              .catch(() => undefined);
          },
        };
      }),
    },
    {
      title: `removing ${facts.containerIds.size} containers`,
      span: [0.1, 0.7],
      concurrency: 8,
      keepGoing: true,
      say: silent,
      steps: [...facts.containerIds.keys()].map((name) => removeContainerStep(deps, facts, name)),
    },
    {
      title: `removing ${nets.length} networks`,
      span: [0.7, 0.9],
      keepGoing: true,
      say: silent,
      steps: nets.map((name) => ({
        describe: `remove network ${name}`,
        apply: () =>
          deps.networks.unprovision(state.networks[name] ?? { name, bridge: bridgeName(name), driver: 'bridge' }, { keepRule: true }),
      })),
    },
    {
      say: silent,
      // The forwarding rules go together: one read of the chain instead of one probe per bridge.
      steps: deps.engine.isLocal ? [{ describe: 'remove the forwarding rules', apply: () => removeRoutedMany(bridges) }] : [],
    },
  ];
}

export async function runTeardown(
  deps: StandupDeps,
  topology: string,
  ctx: OpContext,
): Promise<{ containers: number; networks: number; tunnels: number }> {
  const { store } = deps;
  const facts = await dockerFacts(deps.placement, topology);
  if (facts.down.length) {
    // Teardown forgets the records: with an engine out of sight its containers would stay, unowned.
    throw new LabError(
      'DOCKER_UNAVAILABLE',
      `engine${facts.down.length > 1 ? 's' : ''} ${facts.down.map((d) => `'${d.name}' (${d.error})`).join(', ')} did not answer; teardown of '${topology}' changed nothing`,
      { hint: 'start the engine again and retry (engine_list shows which engines answer)' },
    );
  }
  const state = await store.read();
  const nets = [
    ...new Set([
      ...facts.networks,
      ...Object.values(state.networks)
        .filter((n) => n.topology === topology)
        .map((n) => n.name),
    ]),
  ];
  const run = await runSteps(teardownPhases(deps, facts, state, nets), { progress: ctx.progress });
  if (!run.ok) throw run.failures[0]?.error;
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
  return { containers: facts.containerIds.size, networks: nets.length, tunnels };
}
