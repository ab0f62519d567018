/**
 * The Docker work of a standup as phases of steps, built from the plan: networks, then nodes
 * (bounded concurrency, their tunnels coming up from their files), a check that each started, a
 * fix of tunnels that did not come up, the ids recorded, then the nodes that stay changed in
 * place and given their new tunnels. Each step that makes something undoes it; the executor
 * (../steps/run.ts) runs the phases in this order, reports progress, stops on cancellation and
 * undoes newest first. Each builder reads only the run, so each phase can be tried alone.
 */
import type { Daemons } from '../daemons.js';
import { LabError } from '../errors.js';
import { EXEC_RAN_MARK, NAMED_MARK, splitArgs } from '../nodes/own.js';
import { crashPoint } from '../pending.js';
import type { Progress } from '../progress.js';
import type { Phase } from '../steps/step.js';
import type { DaemonRecord, HostRecord, NetworkRecord, StoreState } from '../store/schema.js';
import { endsOf } from '../tunnels/render.js';
import type { Plan } from './plan.js';
import { type Made, recordMade } from './records.js';
import type { Desired, DesiredTunnel } from './resolve.js';
import { type StandupDeps, type StandupStep, silent, type Work } from './standup-steps.js';

export interface StandupRun {
  deps: StandupDeps;
  desired: Desired;
  plan: Plan;
  work: Work;
  /** the state as reserved: the records the steps make real */
  reserved: StoreState;
  /** filled in by the steps: the ids Docker gave */
  made: Made;
  warnings: string[];
  concurrency: number;
  progress: Progress;
}

type StandupPhase = Phase<StandupStep>;

const endsOfDesired = (t: DesiredTunnel, topology: string) => endsOf({ ...t, topology, created_at: '' });

/** Every phase of a standup, named; run them in this order. */
export function standupPhases(r: StandupRun) {
  return {
    networks: networksPhase(r),
    nodes: nodesPhase(r),
    started: startedPhase(r),
    execs: execPhase(r),
    tunnelsOfNew: tunnelsOfNewPhase(r),
    record: recordPhase(r),
    updates: updatesPhase(r),
    tunnelsOfKept: tunnelsOfKeptPhase(r),
  };
}

/** Networks, all at once. */
export function networksPhase({ deps, work, reserved, made, warnings }: StandupRun): StandupPhase {
  return {
    title: `creating ${work.createNets.length} networks`,
    span: [0.05, 0.1],
    say: silent,
    steps: work.createNets.map((n) => {
      const rec = reserved.networks[n.name] as NetworkRecord;
      return {
        describe: `network ${n.name}`,
        async apply() {
          const p = await deps.networks.provision(rec);
          made.networks.set(n.name, p.id);
          warnings.push(...p.warnings);
        },
        undo: () => deps.networks.unprovision(rec),
      };
    }),
  };
}

/** Nodes, a few at a time. Every node is tried even when one fails, so that `on_error: keep` keeps all that could be made. */
export function nodesPhase({ deps, work, reserved, made, concurrency }: StandupRun): StandupPhase {
  return {
    concurrency,
    keepGoing: true,
    span: [0.1, 0.8],
    say: (s, c) => `node ${s.node} ${c.failed ? 'failed' : 'up'} (${c.done}/${c.total})`,
    steps: work.createNodes.map((n) => {
      const rec = (n.role === 'daemon' ? reserved.daemons[n.name] : reserved.hosts[n.name]) as DaemonRecord & HostRecord;
      let id = '';
      return {
        describe: `container ${n.name}`,
        node: n.name,
        async apply(signal) {
          const svc = n.role === 'daemon' ? deps.daemons : deps.hosts;
          // Started without waiting for the daemon: the concurrency slot goes to the next node,
          // and all daemons are awaited together by the check that follows.
          const p = await svc.provision(rec, reserved, signal ? { signal } : {}, false);
          id = p.id;
          made.nodes.set(n.name, p);
          crashPoint('standup.node_made');
        },
        undo: () => deps.placement.node(rec).removeContainerId(id),
      };
    }),
  };
}

/**
 * Standup returns once every node is configured and started; it does not wait for each daemon to
 * answer (wait_established_s does that for the whole lab). A container that has already died is
 * a failure, though, with what it printed. One that its restart policy is bringing back (Docker
 * says restarting, or it was restarted and is between two starts) is given up to
 * 60 s to run again, read every second: on a machine busy starting a hundred daemons at once, a
 * daemon may give up on its first start and succeed on the next. One that stays down fails.
 */
export function startedPhase({ deps, work, made }: StandupRun): StandupPhase {
  const waitMs = 60_000;
  const pollMs = 1_000;
  const runs = (i: { State: { Running: boolean; Restarting: boolean } } | undefined) => !!i && i.State.Running && !i.State.Restarting;
  // Docker decides on a restart as the container exits (restarting until it runs again); a
  // container neither running nor restarting that was never restarted will not come back.
  const comingBack = (i: { State: { Running: boolean; Restarting: boolean }; RestartCount?: number } | undefined) =>
    !!i && (i.State.Restarting || (!i.State.Running && (i.RestartCount ?? 0) > 0));
  return {
    keepGoing: true,
    say: silent,
    steps: work.createNodes.map((n) => ({
      describe: `check that ${n.name} runs`,
      node: n.name,
      async apply(signal) {
        const p = made.nodes.get(n.name);
        if (!p) return;
        const on = deps.placement.of(n.engine);
        let info = await on.inspectContainer(p.id);
        if (runs(info)) return;
        const deadline = Date.now() + waitMs;
        while (comingBack(info) && Date.now() < deadline) {
          if (signal?.aborted) return; // the run is cancelled and rolled back by its executor
          await new Promise((resolve) => setTimeout(resolve, pollMs));
          info = await on.inspectContainer(p.id);
          if (runs(info)) return;
        }
        const logs = await on.logTail(p.id, 5);
        const late = Date.now() >= deadline ? `, not running again within ${waitMs / 1000} s` : '';
        const restarts = info?.RestartCount ? ` (restarted ${info.RestartCount} times${late})` : '';
        throw new LabError('DAEMON_ERROR', `its container exited right after starting${restarts}${logs ? `; it said: ${logs}` : ''}`);
      },
    })),
  };
}

/**
 * The nodes' own `exec` lines, in order, once their containers run (as containerlab runs them
 * after deploy). A line that fails is a warning with what it printed, never a rollback: the lab
 * is up, and the line is the user's to fix. Each line is argv (split by splitArgs), no shell.
 */
export function execPhase({ deps, work, reserved, warnings, concurrency }: StandupRun): StandupPhase {
  const withExec = work.createNodes.filter((n) => (reserved.daemons[n.name] ?? reserved.hosts[n.name])?.own?.exec?.length);
  return {
    concurrency,
    keepGoing: true,
    say: silent,
    steps: withExec.map((n) => ({
      describe: `exec lines of ${n.name}`,
      node: n.name,
      async apply() {
        const lines = (reserved.daemons[n.name] ?? reserved.hosts[n.name])?.own?.exec ?? [];
        const on = deps.placement.of(n.engine);
        const info = await on.inspectContainer(n.name);
        if (!info?.State.Running) return;
        // Its entrypoint names the interfaces first (images/common/nslab-tunnels), then says so.
        const named = ['test', '-e', NAMED_MARK];
        for (let t = 0; t < 100 && (await on.exec(info, n.name, { command: named, timeoutS: 5 })).exit_code !== 0; t++) {
          await new Promise((r) => setTimeout(r, 100));
        }
        for (const [i, line] of lines.entries()) {
          const argv = splitArgs(line);
          if (typeof argv === 'string') continue; // refused when the file was read
          const r = await on.exec(info, n.name, { command: argv, timeoutS: 30, maxOutputBytes: 4096 }).catch((err: unknown) => ({
            exit_code: -1,
            stdout: '',
            stderr: err instanceof Error ? err.message : String(err),
          }));
          if (r.exit_code !== 0) {
            const said = (r.stderr || r.stdout).trim().split('\n').slice(-2).join(' / ').slice(0, 300);
            warnings.push(`${n.name}: exec.${i} \`${line.slice(0, 120)}\` exited ${r.exit_code}${said ? `: ${said}` : ''}`);
          }
        }
        // From now on the container's entrypoint runs them again at each start.
        await on.exec(info, n.name, { command: ['touch', EXEC_RAN_MARK], timeoutS: 5 }).catch(() => undefined);
      },
    })),
  };
}

/**
 * Tunnels of new nodes came up from their files at container start; one that did not (a kernel
 * without GRE) is made again here, which fails with the kernel's own reason.
 */
export function tunnelsOfNewPhase({ deps, desired, work }: StandupRun): StandupPhase {
  const newNodes = new Set(work.createNodes.map((n) => n.name));
  return {
    concurrency: 1,
    keepGoing: true,
    say: silent,
    steps: work.createTunnels.flatMap((t) =>
      endsOfDesired(t, desired.topology)
        .filter((e) => newNodes.has(e.container))
        .map((e) => ({
          describe: `tunnel ${t.name} in ${e.container}`,
          node: e.container,
          async apply() {
            const seen = await deps.tunnels.observe(e);
            if (seen.link?.ours || !seen.info) return;
            await deps.tunnels.bringUp(seen.info, e, 'fix').catch((err: unknown) => {
              const why = err instanceof LabError ? `${err.message} (${err.hint ?? ''})` : String(err);
              throw new LabError('DAEMON_ERROR', `tunnel ${t.name}: ${why}`);
            });
          },
        })),
    ),
  };
}

/** What Docker made, in one transaction. Nothing to undo: a rollback releases the records themselves. */
export function recordPhase({ deps, made }: StandupRun): StandupPhase {
  const step: StandupStep = {
    describe: 'record the ids Docker gave',
    async apply() {
      crashPoint('standup.made');
      await deps.store.update((s) => recordMade(s, made));
    },
  };
  return { say: silent, steps: [step] };
}

/** Nodes that stay: started if they stopped, their BGP configuration changed in place. */
export function updatesPhase({ deps, desired, plan, reserved, progress }: StandupRun): StandupPhase {
  return {
    concurrency: 1,
    say: silent,
    steps: plan.updates.map((u) => ({
      describe: `update ${u.name} in place`,
      async apply() {
        progress(`updating ${u.name} in place`, 0.85);
        if (u.start) {
          if (reserved.daemons[u.name]) await deps.daemons.start(u.name);
          else await deps.hosts.start(u.name);
        }
        await applyUpdate(deps.daemons, u, desired);
      },
    })),
  };
}

/** New tunnels of nodes that stay: each running end brought up (undone by removing it), then the daemons at its ends told. */
export function tunnelsOfKeptPhase({ deps, desired, work, reserved }: StandupRun): StandupPhase {
  return {
    concurrency: 1,
    say: silent,
    steps: work.createTunnels.flatMap((t) => {
      const ends = endsOfDesired(t, desired.topology).filter((e) => work.kept.has(e.container));
      const up = ends.map((e): StandupStep => {
        let brought = false;
        return {
          describe: `tunnel ${e.name} in ${e.container}`,
          async apply() {
            const info = await (await deps.tunnels.engineOf(e.container)).ownedContainer(e.container);
            if (!info?.State.Running) return;
            await deps.tunnels.bringUp(info, e, 'create');
            brought = true;
          },
          async undo() {
            if (brought) await deps.tunnels.removeEnd(e);
          },
        };
      });
      const told = ends
        .filter((e) => reserved.daemons[e.container])
        .map(
          (e): StandupStep => ({
            describe: `configuration of ${e.container}`,
            apply: async () => void (await deps.daemons.config.refresh(e.container)),
          }),
        );
      return [...up, ...told];
    }),
  };
}

/** Peers and prefixes of a daemon that stays, changed one by one through its live interface. */
async function applyUpdate(daemons: Daemons, u: Plan['updates'][number], desired: Desired): Promise<void> {
  const node = desired.nodes.find((n) => n.name === u.name);
  if (node?.role !== 'daemon') return;
  for (const address of u.removePeers) await daemons.peerRemove(u.name, address);
  for (const p of u.withdraw) await daemons.routeWithdraw(u.name, p);
  // Route server mode before the peers are added, so they come up with it.
  if (u.routeServer !== undefined) await daemons.setRouteServer(u.name, u.routeServer);
  for (const n of u.addPeers) await daemons.peerAdd(u.name, n);
  for (const p of u.advertise) await daemons.routeAdvertise(u.name, p);
}
