/**
 * `engine_join` as steps (../steps): initialise the swarm on the first engine if it is in none, read
 * how the others reach it, join each of the others, and record what was done. Built from pure data
 * and the few swarm operations below, so the plan can be read (and tested) without an engine.
 */
import type { Phase, Step } from '../steps/step.js';
import type { SwarmRecord } from './swarm-record.js';

/** The swarm operations the plan is made of, each on an engine named as in NSLAB_ENGINES. */
export interface JoinOps {
  init(engine: string, advertise: string | undefined): Promise<void>;
  leave(engine: string): Promise<void>;
  /** the worker join token and the address of the manager's own node */
  managerAddress(engine: string): Promise<{ token: string; addr: string }>;
  /** join `engine` to the swarm at `addr`; returns its node id */
  join(engine: string, to: { addr: string; token: string; advertise: string | undefined }): Promise<string>;
  write(record: SwarmRecord): Promise<void>;
}

export interface JoinFacts {
  manager: string;
  /** the manager is already in a swarm (as a manager): nothing to initialise */
  managerActive: boolean;
  /** the engines to join, in NSLAB_ENGINES order (those already members left out) */
  workers: readonly string[];
  advertise: Readonly<Record<string, string>>;
}

/** What the run of a plan did, filled in as its steps apply. */
export interface JoinOutcome {
  initialized: boolean;
  joined: string[];
}

/**
 * The phases of a join, which updates `record` (what engine_leave undoes) and `outcome` as steps
 * apply. One step at a time: a swarm join is not something to race.
 */
export function joinPhases(facts: JoinFacts, ops: JoinOps, record: SwarmRecord, outcome: JoinOutcome): Phase[] {
  const { manager, advertise } = facts;
  const reach = { token: '', addr: '' };
  const init: Step[] = facts.managerActive
    ? []
    : [
        {
          describe: `swarm init on engine ${manager}`,
          async apply() {
            await ops.init(manager, advertise[manager]);
            outcome.initialized = true;
            record.initialized = true;
          },
          undo: () => ops.leave(manager),
        },
      ];
  const address: Step = {
    describe: `swarm address of engine ${manager}`,
    async apply() {
      Object.assign(reach, await ops.managerAddress(manager));
    },
  };
  const joins: Step[] = facts.workers.map((name) => ({
    describe: `swarm join of engine ${name}`,
    async apply() {
      const nodeId = await ops.join(name, { ...reach, advertise: advertise[name] });
      record.joined.push({ engine: name, node_id: nodeId });
      outcome.joined.push(name);
    },
    undo: () => ops.leave(name),
  }));
  const write: Step = {
    describe: 'record the swarm in swarm.json',
    apply: () => ops.write(record),
  };
  const one = (steps: Step[]): Phase => ({ steps, concurrency: 1 });
  return [one(init), one([address]), one(joins), one([write])];
}
