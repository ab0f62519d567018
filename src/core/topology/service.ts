/**
 * Topologies: files kept in the store, validated, planned against what runs, stood up, torn down
 * (keeping the file), activated one at a time, and read back as status. The lease is in lease.ts,
 * live status and waiting for sessions in live.ts, the shapes returned in views.ts.
 */

import type { Engines } from '../engines/service.js';
import { conflict, type FieldIssue, LabError, notFound } from '../errors.js';
import type { Faults } from '../faults/service.js';
import { ownValue } from '../keys.js';
import type { NodeLimits } from '../nodes/container.js';
import type { OpContext } from '../progress.js';
import type { StoreState, TopologyRecord } from '../store/schema.js';
import type { TunnelDoctor } from '../tunnels/diagnose.js';
import { type GraphFormat, type GraphLayout, toDot, toLayout, toMermaid, toPng, toSvg } from './graph.js';
import { withLease } from './lease.js';
import { liveStatus, type TopologyStatus, waitEstablished } from './live.js';
import { restoreMaskedPasswords } from './masked.js';
import { placeTopology } from './placement.js';
import { type Plan, type PlanItem, planTopology } from './plan.js';
import { type Desired, resolveTopology } from './resolve.js';
import { parseTopology, type TopologySpec } from './spec.js';
import { dockerFacts, type Facts, runStandup, runTeardown, type StandupDeps, type StandupOptions } from './standup.js';
import { newRecord, type StandupResult, type TopologyInput, type TopologyView, view } from './views.js';

export type { TopologyStatus } from './live.js';
export type { StandupResult, TopologyInput, TopologyView } from './views.js';

/** What topologies work with: what standup and teardown change, and what placement and status read. */
export interface TopologyDeps extends StandupDeps {
  /** free memory per engine, for `placement: spread` */
  engines: Pick<Engines, 'list'>;
  /** tunnel states, for status */
  doctor: Pick<TunnelDoctor, 'state'>;
  /** the memory each node is given, for placement */
  nodeLimits: Pick<NodeLimits, 'memoryMb'>;
  /** standup undoes the faults put into the lab (it converges to the file); teardown forgets them */
  faults?: Pick<Faults, 'clearTopology' | 'forgetTopology' | 'list'>;
}

export class Topologies {
  constructor(private readonly deps: TopologyDeps) {}

  /** Run `fn` holding the topology's lease (lease.ts). */
  #leased<T>(name: string, op: string, fn: () => Promise<T>): Promise<T> {
    return withLease(this.deps.store, name, op, fn);
  }

  async #record(name: string): Promise<TopologyRecord> {
    const r = (await this.deps.store.read()).topologies[name];
    if (!r) throw notFound('topology', name);
    return r;
  }

  async create(input: TopologyInput & { replace?: boolean | undefined }): Promise<TopologyView> {
    const spec = parseTopology(input);
    // Checked against the store as it is now; standup checks again against what runs then.
    const now = await this.deps.store.read();
    restoreMaskedPasswords(spec, ownValue(now.topologies, spec.name)?.spec);
    placeTopology(resolveTopology(spec, now, this.#swarm), spec, now, this.deps.placement.names, {
      nodeMb: this.deps.nodeLimits.memoryMb,
    });
    const at = new Date().toISOString();
    const rec = await this.deps.store.update((s) => {
      const old = s.topologies[spec.name];
      if (old && !input.replace)
        throw conflict(`topology '${spec.name}' already exists`, 'pass replace: true to change its file, or pick another name');
      const r = newRecord(spec, input.yaml, old, at);
      s.topologies[spec.name] = r;
      return r;
    });
    return view(rec);
  }

  async list(): Promise<TopologyView[]> {
    return Object.values((await this.deps.store.read()).topologies)
      .sort((a, b) => a.name.localeCompare(b.name))
      .map(view);
  }

  async get(name: string): Promise<TopologyView & { spec: Record<string, unknown>; yaml?: string }> {
    const r = await this.#record(name);
    return { ...view(r), spec: r.spec, ...(r.yaml !== undefined ? { yaml: r.yaml } : {}) };
  }

  async delete(name: string, force: boolean, ctx: OpContext = {}): Promise<{ deleted: string; torn_down?: boolean }> {
    const r = await this.#record(name);
    if (r.deployed && !force)
      throw conflict(`topology '${name}' is deployed`, 'tear it down first (topology_teardown), or delete with force, which tears it down');
    if (r.deployed) await this.teardown(name, ctx);
    await this.deps.store.update((s) => {
      delete s.topologies[name];
    });
    return { deleted: name, ...(r.deployed ? { torn_down: true } : {}) };
  }

  /** No side effects: parse and resolve, returning every problem with its field path. */
  async validate(
    input: TopologyInput & { name?: string | undefined },
  ): Promise<{ valid: boolean; errors: FieldIssue[]; summary?: string }> {
    try {
      const spec =
        input.name !== undefined && input.spec === undefined && input.yaml === undefined
          ? (await this.#record(input.name)).spec
          : undefined;
      const parsed = parseTopology(spec ? { spec } : input);
      const state = await this.deps.store.read();
      const d = resolveTopology(parsed, state, this.#swarm);
      // Engine names are checked too (no memory is read: validate has no side effects and is quick).
      placeTopology(d, parsed, state, this.deps.placement.names, { nodeMb: this.deps.nodeLimits.memoryMb });
      return {
        valid: true,
        errors: [],
        summary: `${d.networks.length} networks, ${d.nodes.length} nodes, ${d.sessions.length} sessions, ${d.tunnels.length} tunnels`,
      };
    } catch (err) {
      if (err instanceof LabError && err.code === 'INVALID_INPUT')
        return { valid: false, errors: err.issues ?? [{ path: '(input)', message: err.message }] };
      throw err;
    }
  }

  /** Several engines: auto addresses keep clear of the block Docker takes on overlays. */
  get #swarm(): { swarm: boolean } {
    return { swarm: this.deps.placement.multi };
  }

  /** Put each node on an engine (NSLAB_ENGINES): asked for, where it runs, else by `placement`. */
  async #place(desired: Desired, spec: TopologySpec, state: StoreState): Promise<void> {
    const names = this.deps.placement.names;
    let freeMb: Map<string, number> | undefined;
    if (spec.placement === 'spread' && names.length > 1) {
      const { engines } = await this.deps.engines.list();
      freeMb = new Map(engines.filter((e) => e.reachable).map((e) => [e.name, e.free_memory_mb ?? 0]));
    }
    placeTopology(desired, spec, state, names, { ...(freeMb ? { freeMb } : {}), nodeMb: this.deps.nodeLimits.memoryMb });
  }

  async #resolve(name: string): Promise<{ desired: Desired; plan: Plan; facts: Facts }> {
    await this.deps.engine.ready();
    const r = await this.#record(name);
    const spec = parseTopology({ spec: r.spec });
    const [state, facts] = await Promise.all([this.deps.store.read(), dockerFacts(this.deps.placement, name)]);
    const desired = resolveTopology(spec, state, this.#swarm);
    await this.#place(desired, spec, state);
    return { desired, plan: planTopology(desired, state, facts), facts };
  }

  /** A saved topology's file resolved against the store: names, addresses, sessions (nothing read from Docker). */
  async resolved(name: string): Promise<{ record: TopologyRecord; spec: TopologySpec; desired: Desired }> {
    const record = await this.#record(name);
    const spec = parseTopology({ spec: record.spec });
    return { record, spec, desired: resolveTopology(spec, await this.deps.store.read(), this.#swarm) };
  }

  async plan(name: string): Promise<{ name: string; items: PlanItem[]; summary: Plan['summary'] }> {
    const { plan } = await this.#resolve(name);
    return { name, items: plan.items, summary: plan.summary };
  }

  standup(
    name: string,
    opts: StandupOptions & { dry_run?: boolean | undefined; wait_established_s?: number | undefined },
    ctx: OpContext = {},
  ): Promise<StandupResult> {
    return opts.dry_run ? this.#standup(name, opts, ctx) : this.#leased(name, 'standup', () => this.#standup(name, opts, ctx));
  }

  async #standup(
    name: string,
    opts: StandupOptions & { dry_run?: boolean | undefined; wait_established_s?: number | undefined },
    ctx: OpContext,
  ): Promise<StandupResult> {
    const t0 = Date.now();
    // Faults put in on purpose are undone first: standup converges the lab to its file.
    const undone = opts.dry_run ? [] : ((await this.deps.faults?.clearTopology(name)) ?? []);
    const { desired, plan, facts } = await this.#resolve(name);
    const shown = { items: plan.items, summary: plan.summary };
    ctx.progress?.(
      `plan for ${name}: ${Object.entries(plan.summary)
        .map(([k, v]) => `${v} ${k}`)
        .join(', ')}`,
      0,
    );
    if (opts.dry_run) return { name, dry_run: true, plan: shown, duration_s: 0 };
    let outcome: Awaited<ReturnType<typeof runStandup>>;
    try {
      outcome = await runStandup(this.deps, desired, plan, facts, opts, ctx);
    } catch (err) {
      await this.#stamp(name, false, err instanceof LabError ? err.message : String(err));
      throw err;
    }
    await this.#stamp(
      name,
      true,
      Object.entries(plan.summary)
        .map(([k, v]) => `${v} ${k}`)
        .join(', '),
    );
    const result: StandupResult = {
      name,
      dry_run: false,
      plan: shown,
      ...(outcome.warnings.length || undone.length ? { warnings: [...undone, ...outcome.warnings] } : {}),
      duration_s: 0,
    };
    if (opts.wait_established_s) {
      const facts = () => dockerFacts(this.deps.placement, name);
      result.established = await waitEstablished({ daemons: this.deps.daemons, facts }, desired, opts.wait_established_s, ctx);
    }
    result.duration_s = Math.round((Date.now() - t0) / 100) / 10;
    ctx.progress?.(`${name} is up`, 1);
    return result;
  }

  #stamp(name: string, ok: boolean, summary: string): Promise<void> {
    return this.deps.store.update((s) => {
      const r = s.topologies[name];
      if (r) r.last_standup = { at: new Date().toISOString(), ok, summary: summary.slice(0, 2000) };
    });
  }

  async teardown(
    name: string,
    ctx: OpContext = {},
  ): Promise<{ name: string; removed: { containers: number; networks: number; tunnels: number } }> {
    await this.deps.engine.ready();
    await this.#record(name);
    return this.#leased(name, 'teardown', async () => {
      const removed = await runTeardown(this.deps, name, ctx);
      await this.deps.faults?.forgetTopology(name);
      return { name, removed };
    });
  }

  /** Tear down the active topology if it is another one, then stand this one up and mark it active. */
  async activate(
    name: string,
    opts: { wait_established_s?: number | undefined },
    ctx: OpContext = {},
  ): Promise<StandupResult & { deactivated?: string }> {
    await this.#record(name);
    const others = Object.values((await this.deps.store.read()).topologies).filter((t) => t.name !== name && t.active && t.deployed);
    for (const o of others) {
      ctx.progress?.(`tearing down ${o.name}`);
      await this.#leased(o.name, 'teardown', () => runTeardown(this.deps, o.name, ctx));
      await this.deps.faults?.forgetTopology(o.name);
    }
    const r = await this.standup(name, opts, ctx);
    await this.deps.store.update((s) => {
      for (const t of Object.values(s.topologies)) t.active = t.name === name;
    });
    return { ...r, ...(others.length ? { deactivated: others.map((o) => o.name).join(', ') } : {}) };
  }

  async status(name: string): Promise<TopologyStatus> {
    const r = await this.#record(name);
    const { desired, facts } = await this.#resolve(name);
    const faults = ((await this.deps.faults?.list(name)) ?? []).map((f) => ({ id: f.id, kind: f.kind, target: f.target, at: f.at }));
    return { name, deployed: r.deployed, ...(await liveStatus(this.deps, desired, facts)), ...(faults.length ? { faults } : {}) };
  }

  /** The drawing of graph() as data (positions, names, states), for the web view at /ui. */
  async layout(name: string): Promise<GraphLayout & { deployed: boolean }> {
    const r = await this.#record(name);
    const desired = resolveTopology(parseTopology({ spec: r.spec }), await this.deps.store.read(), this.#swarm);
    const live = r.deployed ? await this.status(name) : undefined;
    return { ...(await toLayout(desired, live)), deployed: r.deployed };
  }

  /** A drawing of the topology, coloured by live state when it is deployed. */
  async graph(
    name: string,
    format: GraphFormat,
  ): Promise<{ name: string; format: GraphFormat; mime_type: string; text?: string; data_base64?: string; live: boolean }> {
    const r = await this.#record(name);
    const desired = resolveTopology(parseTopology({ spec: r.spec }), await this.deps.store.read(), this.#swarm);
    const live = r.deployed ? await this.status(name) : undefined;
    const base = { name, format, live: !!live };
    switch (format) {
      case 'mermaid':
        return { ...base, mime_type: 'text/vnd.mermaid', text: toMermaid(desired, live) };
      case 'dot':
        return { ...base, mime_type: 'text/vnd.graphviz', text: toDot(desired, live) };
      case 'svg':
        return { ...base, mime_type: 'image/svg+xml', text: await toSvg(desired, live) };
      case 'png':
        return { ...base, mime_type: 'image/png', data_base64: (await toPng(desired, live)).toString('base64') };
    }
  }
}
