/**
 * Checks against the running lab: topology_verify (a file's `expect:` plus the implicit checks),
 * lab_check (checks given inline, for labs made one tool at a time) and topology_scenario (fault,
 * clear, verify and sleep steps in order, timing how long the lab takes to hold again after each
 * change). State is read the same way for every daemon kind: neighbor states and the normalised
 * route table of the drivers, ping and traceroute inside the containers.
 */
import type { Daemons } from '../daemons.js';
import type { Placement } from '../engines/placement.js';
import { conflict } from '../errors.js';
import type { Faults } from '../faults/service.js';
import type { Hosts } from '../hosts.js';
import { containerState } from '../nodes/records.js';
import type { OpContext } from '../progress.js';
import type { Store } from '../store/store.js';
import type { Topologies } from '../topology/service.js';
import type { TunnelDoctor } from '../tunnels/diagnose.js';
import type { CheckResult, Prepared, Probe } from './evaluate.js';
import { containerNaming, implicitChecks, prepareChecks, topologyNaming } from './prepare.js';
import { runRounds } from './rounds.js';
import { runScenario, type ScenarioInput, type ScenarioResult } from './scenario.js';
import type { Check } from './spec.js';

export interface CheckDeps {
  store: Store;
  placement: Placement;
  daemons: Pick<Daemons, 'neighborStates' | 'routes'>;
  hosts: Pick<Hosts, 'exec'>;
  doctor: Pick<TunnelDoctor, 'state'>;
  topologies: Pick<Topologies, 'resolved'>;
  faults: Faults;
}

export interface VerifyResult {
  name?: string;
  passed: boolean;
  summary: string;
  checks: CheckResult[];
  /** one line per failing check: what it is and what to do */
  failures: string[];
  duration_ms: number;
}

export function verifyResult(name: string | undefined, r: { passed: boolean; checks: CheckResult[]; duration_ms: number }): VerifyResult {
  const bad = r.checks.filter((c) => !c.ok);
  return {
    ...(name !== undefined ? { name } : {}),
    passed: r.passed,
    summary: `${r.checks.length - bad.length} of ${r.checks.length} checks hold${bad.length ? `; ${bad.length} fail` : ''}`,
    checks: r.checks,
    failures: bad.map((c) => `${c.check} ${c.target}: expected ${c.expected}, saw ${c.observed}${c.detail ? ` — ${c.detail}` : ''}`),
    duration_ms: r.duration_ms,
  };
}

export class Checks {
  constructor(private readonly deps: CheckDeps) {}

  /** A fresh view of the lab for one round: each node's neighbors, routes and container read at most once. */
  probe(): Probe {
    const memo = new Map<string, Promise<unknown>>();
    const once = <T>(key: string, f: () => Promise<T>): Promise<T> => {
      if (!memo.has(key)) memo.set(key, f());
      return memo.get(key) as Promise<T>;
    };
    const info = (node: string) =>
      once(`info:${node}`, async () => {
        const state = await this.deps.store.read();
        const rec = state.daemons[node] ?? state.hosts[node];
        if (!rec) return undefined;
        const engine = this.deps.placement.node(rec);
        const found = await engine.ownedContainer(node, rec.container_id).catch(() => undefined);
        return found ? { engine, info: found } : undefined;
      });
    return {
      neighbors: (n) => once(`nb:${n}`, () => this.deps.daemons.neighborStates(n).catch(() => undefined)),
      routes: (n) => once(`rt:${n}`, () => this.deps.daemons.routes(n).catch(() => undefined)),
      container: async (n) => containerState((await info(n))?.info),
      exec: async (n, argv, timeoutS) => {
        const c = await info(n);
        if (!c || containerState(c.info) !== 'running') return undefined;
        return c.engine.exec(c.info, n, { command: argv, timeoutS: Math.ceil(timeoutS), maxOutputBytes: 256 * 1024 });
      },
      tunnel: (container, name) =>
        this.deps.doctor
          .state(container, name)
          .then((s) => s.state)
          .catch(() => 'missing'),
    };
  }

  run(prepared: Prepared[], waitS: number, ctx: OpContext = {}) {
    return runRounds(prepared, () => this.probe(), waitS, ctx);
  }

  /** What `verify: all` and topology_verify check for a deployed topology. */
  async topologyChecks(name: string, implicit: boolean): Promise<Prepared[]> {
    const { record, spec, desired } = await this.deps.topologies.resolved(name);
    if (!record.deployed) throw conflict(`topology '${name}' is not deployed`, `stand it up first: topology_standup ${name}`);
    const naming = topologyNaming(name);
    const state = await this.deps.store.read();
    return [...(implicit ? implicitChecks(desired, naming) : []), ...prepareChecks(spec.expect ?? [], state, naming, 'expect', 'expect.')];
  }

  async verify(
    name: string,
    opts: { wait_s?: number | undefined; implicit?: boolean | undefined },
    ctx: OpContext = {},
  ): Promise<VerifyResult> {
    const prepared = await this.topologyChecks(name, opts.implicit ?? true);
    return verifyResult(name, await this.run(prepared, opts.wait_s ?? 0, ctx));
  }

  async check(checks: Check[], opts: { wait_s?: number | undefined }, ctx: OpContext = {}): Promise<VerifyResult> {
    const prepared = prepareChecks(checks, await this.deps.store.read(), containerNaming, 'checks', 'checks.');
    return verifyResult(undefined, await this.run(prepared, opts.wait_s ?? 0, ctx));
  }

  scenario(name: string, input: ScenarioInput, ctx: OpContext = {}): Promise<ScenarioResult> {
    return runScenario(this, this.deps, name, input, ctx);
  }
}
