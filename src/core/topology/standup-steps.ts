/**
 * What a standup works from and the steps shared with teardown: the plan read into what is made
 * and removed (`workOf`, pure), the removals that come before the reservation, and how a failed
 * step is told. The phases that make things are in ./standup-phases.ts.
 */

import { LabError } from '../errors.js';
import type { LabServices } from '../services.js';
import type { Phase, Step } from '../steps/step.js';
import type { StoreState, TunnelRecord } from '../store/schema.js';
import { endsOf } from '../tunnels/render.js';
import type { Tunnels } from '../tunnels/service.js';
import type { DockerFacts, Plan } from './plan.js';
import type { Changes, Facts } from './records.js';
import type { Desired } from './resolve.js';

export interface StandupDeps extends LabServices {
  tunnels: Tunnels;
}

/** A step of a standup; `node` names the node a failure is laid at (and forgotten for, when kept). */
export interface StandupStep extends Step {
  node?: string;
}

/** What the plan changes, by name and in the plan's order. */
export interface Work extends Changes {
  /** nodes this run removes to make them again: a rollback cannot give them back */
  replaced: string[];
  /** nodes that stay (kept or changed in place) */
  kept: ReadonlySet<string>;
}

export function workOf(desired: Desired, plan: Plan, facts: Pick<DockerFacts, 'containerIds'>): Work {
  const of = (kind: string, ...actions: string[]) =>
    plan.items.filter((i) => i.kind === kind && actions.includes(i.action)).map((i) => i.name);
  const made = (kind: string) => new Set(of(kind, 'create', 'recreate'));
  const [nets, nodes, tunnels] = [made('network'), made('node'), made('tunnel')];
  return {
    goneTunnels: of('tunnel', 'delete', 'recreate'),
    goneNodes: of('node', 'delete', 'recreate'),
    goneNets: of('network', 'delete', 'recreate'),
    createNets: desired.networks.filter((n) => nets.has(n.name)),
    createNodes: desired.nodes.filter((n) => nodes.has(n.name)),
    createTunnels: desired.tunnels.filter((t) => tunnels.has(t.name)),
    replaced: of('node', 'recreate').filter((n) => facts.containerIds?.has(n)),
    kept: new Set(of('node', 'keep', 'update')),
  };
}

export const silent = (): undefined => undefined;
const text = (err: unknown) => (err instanceof LabError ? err.message : String(err));

/** Remove a container of the topology by id, on the engine it was found on (nothing to undo: it is gone). */
export function removeContainerStep(deps: Pick<StandupDeps, 'placement'>, facts: Facts, name: string): Step {
  return {
    describe: `remove container ${name}`,
    async apply() {
      const id = facts.containerIds.get(name);
      if (id) await deps.placement.of(facts.engineOf.get(name)).removeContainerId(id);
    },
  };
}

/** Removals of what goes or is made again: tunnel ends in nodes that stay, then containers, then networks. */
export function removalPhases(deps: StandupDeps, facts: Facts, work: Work, before: StoreState): Phase[] {
  const tunnels = work.goneTunnels.map((n) => before.tunnels[n]).filter((t): t is TunnelRecord => !!t);
  const ends = tunnels.flatMap((t) => endsOf(t).filter((e) => !work.goneNodes.includes(e.container)));
  const nets = work.goneNets.flatMap((n) => (before.networks[n] ? [before.networks[n]] : []));
  return [
    // An end that cannot be removed goes with its record all the same: sync_run finds what is left.
    {
      say: silent,
      steps: ends.map((e) => ({
        describe: `remove tunnel ${e.name} in ${e.container}`,
        async apply() {
          await deps.tunnels.removeEnd(e).catch(() => undefined);
        },
      })),
    },
    { say: silent, keepGoing: true, steps: work.goneNodes.map((n) => removeContainerStep(deps, facts, n)) },
    {
      say: silent,
      concurrency: 1,
      steps: nets.map((rec) => ({ describe: `remove network ${rec.name}`, apply: () => deps.networks.unprovision(rec) })),
    },
  ];
}

/** A standup's failure in its error: the node it is laid at, then why. */
export function failureText(f: { step: StandupStep; error: unknown }): string {
  return `${f.step.node ? `${f.step.node}: ` : ''}${text(f.error)}`;
}
