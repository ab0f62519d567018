import type { DockerEngine } from './docker/engine.js';
import type { ExecOptions, ExecResult } from './docker/exec.js';
import { invalid } from './errors.js';
import { parseCidr } from './ipam.js';
import { containerStates } from './node-states.js';
import { type HostView, hostKind, resolveGateway } from './nodes/kinds/host.js';
import { type NodeDeps, NodeLifecycle } from './nodes/lifecycle.js';
import type { InterfaceRequest } from './nodes/records.js';
import { reserveInterfaces } from './nodes/reserve.js';
import type { OpContext } from './progress.js';
import type { HostRecord, StoreState } from './store/schema.js';

export interface HostCreateInput {
  name: string;
  interfaces: InterfaceRequest[];
  /** an IP, or the name of a daemon or host on a shared network */
  gateway?: string | undefined;
  loopback?: string | undefined;
  topology?: string | undefined;
  engine?: string | undefined;
}

/** Hosts: plain Linux containers to ping and trace from, on the shared node lifecycle. */
export class Hosts {
  readonly #nodes: NodeLifecycle<'hosts', HostView>;

  constructor(private readonly deps: NodeDeps) {
    this.#nodes = new NodeLifecycle(hostKind, deps);
  }

  /** Every host with its container's state: one store read and one label query per engine. */
  async list(): Promise<HostView[]> {
    await this.deps.placement.default.ready();
    const recs = Object.values((await this.deps.store.read()).hosts).sort((a, b) => a.name.localeCompare(b.name));
    const states = await containerStates(this.deps.placement, recs);
    return recs.map((r) => hostKind.view(r, states.get(r.name) ?? 'missing'));
  }

  get(name: string): Promise<HostView> {
    return this.#nodes.get(name);
  }

  delete(name: string): Promise<{ deleted: string; warnings?: string[] }> {
    return this.#nodes.delete(name);
  }

  stop(name: string): Promise<HostView> {
    return this.#nodes.stop(name);
  }

  /** Start the container, or recreate it from the store when it is gone. */
  start(name: string, ctx: OpContext = {}): Promise<HostView> {
    return this.#nodes.start(name, ctx);
  }

  /** Finish a create killed part way (sync_run). */
  finishCreate(name: string, ctx: OpContext = {}): Promise<HostView> {
    return this.#nodes.finishCreate(name, ctx);
  }

  exec(name: string, opts: ExecOptions): Promise<ExecResult> {
    return this.#nodes.exec(name, opts);
  }

  /** Make the container of a record already reserved in `state` (topology standup). */
  provision(rec: HostRecord, state: StoreState, ctx: OpContext = {}, wait = true): Promise<{ id: string; image: string }> {
    return this.#nodes.provision(rec, state, ctx, wait);
  }

  /** Refuse a name any daemon, host or container already has, on the engine it would go to (or every engine). */
  refuseTakenName(name: string, engine?: DockerEngine): Promise<void> {
    return this.deps.containers.refuseTakenName(name, engine);
  }

  async create(input: HostCreateInput, ctx: OpContext = {}): Promise<HostView> {
    const loopback = input.loopback === undefined ? undefined : parseCidr(input.loopback);
    if (typeof loopback === 'string') throw invalid('loopback', loopback);
    return this.#nodes.create(
      input.name,
      this.deps.placement.recordName(input.engine),
      (s) => {
        const interfaces = reserveInterfaces(s, input.name, input.interfaces);
        if (input.gateway) resolveGateway(s, interfaces, input.gateway);
        return {
          name: input.name,
          interfaces,
          ...(input.gateway ? { gateway: input.gateway } : {}),
          ...(input.loopback ? { loopback: input.loopback } : {}),
          ...(input.topology ? { topology: input.topology } : {}),
          desired: 'running',
          created_at: new Date().toISOString(),
        };
      },
      ctx,
    );
  }
}
