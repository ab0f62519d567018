import { unreachable } from '../docker/client.js';
import { DockerEngine } from '../docker/engine.js';
import { LABELS } from '../docker/labels.js';
import type { EngineInfo as Info, SwarmInfo } from '../docker/system-client.js';
import { LabError } from '../errors.js';
import { runSteps } from '../steps/run.js';
import { withTimeout } from '../timeout.js';
import { type JoinOps, type JoinOutcome, joinPhases } from './join-plan.js';
import type { EngineSpec } from './parse.js';
import { SwarmFile, type SwarmRecord } from './swarm-record.js';

export interface EngineView {
  name: string;
  host: string;
  reachable: boolean;
  error?: string;
  docker_version?: string;
  swarm?: { state: string; role: 'manager' | 'worker' | 'none'; node_id?: string; cluster_id?: string; joined_by_lab: boolean };
  lab_containers?: number;
  images?: string[];
  cpus?: number;
  memory_mb?: number;
  /** memory minus the limits of the running containers: what new lab nodes can still count on */
  free_memory_mb?: number;
}

/** An engine that did not answer, in the words every call uses (the dial's), whatever failed. */
function down(host: string | undefined, err: unknown, name: string): LabError {
  return err instanceof LabError && err.code === 'DOCKER_UNAVAILABLE' ? err : unreachable(host, err, name);
}

const SWARM_PORT = 2377;

/**
 * The Docker engines of a lab (NSLAB_ENGINES) and the Docker Swarm that joins them. The first engine
 * is the default one and the swarm's manager. Join and leave change nothing but swarm membership,
 * and leave undoes only what join did (recorded in swarm.json beside the store).
 */
export class Engines {
  readonly #engines = new Map<string, DockerEngine>();
  readonly #record: SwarmFile;

  constructor(
    readonly specs: readonly EngineSpec[],
    defaultEngine: DockerEngine,
    dataDir: string,
  ) {
    specs.forEach((s, i) => {
      // One store id for all: the default engine reads it, the others wait for it.
      const storeId = async () => (await defaultEngine.owner()).store;
      const engine = i === 0 ? defaultEngine : new DockerEngine(s.host, defaultEngine.labels, storeId, defaultEngine.log);
      if (specs.length > 1) engine.name = s.name;
      this.#engines.set(s.name, engine);
    });
    this.#record = new SwarmFile(dataDir);
  }

  get names(): string[] {
    return this.specs.map((s) => s.name);
  }

  /** The engine of that name, or a NOT_FOUND naming the engines there are. */
  get(name: string): DockerEngine {
    const e = this.#engines.get(name);
    if (!e)
      throw new LabError('NOT_FOUND', `engine '${name}' not found`, { hint: `the engines are ${this.names.join(', ')} (NSLAB_ENGINES)` });
    return e;
  }

  async list(): Promise<{ engines: EngineView[] }> {
    await this.get(this.names[0] as string)
      .ready()
      .catch(() => undefined);
    const record = await this.#record.read();
    const views = await Promise.all(this.specs.map((s) => this.#view(s, record)));
    return { engines: views };
  }

  async #view(spec: EngineSpec, record: SwarmRecord | undefined): Promise<EngineView> {
    const engine = this.get(spec.name);
    const host = spec.host ?? 'unix:///var/run/docker.sock';
    let info: Info;
    try {
      info = await withTimeout(engine.system.info(), 5000, `engine ${spec.name}`);
    } catch (err) {
      // What the engine's connection said (the view names the engine and its address already).
      const why = err instanceof LabError && err.code === 'DOCKER_UNAVAILABLE' && err.cause instanceof Error ? err.cause : (err as Error);
      return { name: spec.name, host, reachable: false, error: why.message };
    }
    const [containers, images] = await Promise.all([engine.containers.list(), engine.images.listLab()]);
    const mine = containers.filter((c) => c.Labels?.[LABELS.managed] === 'true' && c.Labels?.[LABELS.store] === engine.labels.store);
    const running = containers.filter((c) => c.State === 'running');
    const limits = await Promise.all(
      running.map((c) =>
        engine.containers
          .inspect(c.Id)
          .then((i) => i?.HostConfig?.Memory ?? 0)
          .catch(() => 0),
      ),
    );
    const total = info.MemTotal ?? 0;
    const used = limits.reduce((a, b) => a + b, 0);
    const swarm = info.Swarm ?? {};
    const state = swarm.LocalNodeState ?? 'inactive';
    const role = state !== 'active' ? 'none' : swarm.ControlAvailable ? 'manager' : 'worker';
    const joinedByLab = record
      ? (record.manager === spec.name && record.initialized) || record.joined.some((j) => j.engine === spec.name)
      : false;
    return {
      name: spec.name,
      host,
      reachable: true,
      ...(info.ServerVersion ? { docker_version: info.ServerVersion } : {}),
      swarm: {
        state,
        role,
        ...(swarm.NodeID ? { node_id: swarm.NodeID } : {}),
        ...(swarm.Cluster?.ID ? { cluster_id: swarm.Cluster.ID } : {}),
        joined_by_lab: joinedByLab,
      },
      lab_containers: mine.length,
      images: images.flatMap((i) => i.RepoTags ?? []).sort(),
      ...(info.NCPU ? { cpus: info.NCPU } : {}),
      memory_mb: Math.round(total / 2 ** 20),
      free_memory_mb: Math.max(0, Math.round((total - used) / 2 ** 20)),
    };
  }

  /** The swarm state of every engine, all reachable, or an error naming the first one that is not. */
  async #states(): Promise<Map<string, SwarmInfo>> {
    const out = new Map<string, SwarmInfo>();
    await Promise.all(
      this.specs.map(async (s) => {
        try {
          const info = await withTimeout(this.get(s.name).system.info(), 5000, `engine ${s.name}`);
          out.set(s.name, info.Swarm ?? {});
        } catch (err) {
          // The same words as every other call to an engine that does not answer, plus what join did.
          const e = down(s.host, err, s.name);
          throw new LabError(e.code, e.message, { hint: `${e.hint}; nothing was changed`, cause: e.cause ?? err });
        }
      }),
    );
    return out;
  }

  async join(
    advertise: Record<string, string> = {},
  ): Promise<{ manager: string; initialized: boolean; joined: string[]; already: string[] }> {
    for (const name of Object.keys(advertise)) {
      if (!this.#engines.has(name)) {
        throw new LabError('INVALID_INPUT', `advertise.${name}: no engine of that name`, {
          issues: [{ path: `advertise.${name}`, message: 'no engine of that name' }],
          hint: `the engines are ${this.names.join(', ')} (NSLAB_ENGINES)`,
        });
      }
    }
    if (this.specs.length < 2)
      throw new LabError('UNSUPPORTED', 'there is one engine: a swarm joins several', {
        hint: 'name them in NSLAB_ENGINES (a=...,b=...)',
      });
    const managerName = this.names[0] as string;
    const manager = this.get(managerName);
    // Look before changing anything: every engine answers, and none belongs to another swarm.
    const states = await this.#states();
    const ms = states.get(managerName) ?? {};
    const managerActive = ms.LocalNodeState === 'active';
    if (managerActive && !ms.ControlAvailable) {
      throw new LabError(
        'CONFLICT',
        `engine '${managerName}' is a worker of another swarm (managers ${(ms.RemoteManagers ?? []).map((m) => m.Addr).join(', ')})`,
        {
          hint: 'the first engine of NSLAB_ENGINES must be a swarm manager or in no swarm; nothing was changed',
        },
      );
    }
    const members = managerActive ? await manager.swarm.nodeIds() : new Set<string>();
    const already: string[] = [];
    for (const name of this.names.slice(1)) {
      const s = states.get(name) ?? {};
      if (s.LocalNodeState === 'inactive' || s.LocalNodeState === undefined) continue;
      if (s.LocalNodeState === 'active' && s.NodeID && members.has(s.NodeID)) {
        already.push(name);
        continue;
      }
      throw new LabError(
        'CONFLICT',
        `engine '${name}' belongs to another swarm (state ${s.LocalNodeState}${s.Cluster?.ID ? `, cluster ${s.Cluster.ID}` : ''})`,
        {
          hint: `netstream-lab never takes an engine out of a swarm it did not make: run \`docker swarm leave\` on '${name}' yourself, or take it out of NSLAB_ENGINES; nothing was changed`,
        },
      );
    }
    const previous = await this.#record.read();
    const record: SwarmRecord = previous ?? { manager: managerName, initialized: false, joined: [], at: new Date().toISOString() };
    const outcome: JoinOutcome = { initialized: false, joined: [] };
    const facts = { manager: managerName, managerActive, workers: this.names.slice(1).filter((n) => !already.includes(n)), advertise };
    const run = await runSteps(joinPhases(facts, this.#joinOps(), record, outcome));
    if (run.ok) return { manager: managerName, initialized: outcome.initialized, joined: outcome.joined, already };
    const err = run.failures[0]?.error;
    // What the rollback could not take back, said after what was undone.
    const undone = `what this call did was undone${run.leftovers.length ? ` except ${run.leftovers.join('; ')}` : ''}`;
    if (err instanceof LabError && err.code === 'DOCKER_UNAVAILABLE') {
      throw new LabError(err.code, err.message, { hint: err.hint ? `${err.hint}; ${undone}` : undone, cause: err.cause ?? err });
    }
    if (err instanceof LabError) throw err;
    const why = (err as { json?: { message?: string } }).json?.message ?? (err as Error).message;
    throw new LabError('DAEMON_ERROR', `joining the engines failed: ${why}`, {
      cause: err,
      hint: /advertise|local IP address|listen/i.test(why)
        ? `an engine has several addresses: say which one the others reach, e.g. {"advertise": {"a": "192.0.2.10", "b": "192.0.2.11"}}; ${undone}`
        : undone,
    });
  }

  /** The swarm operations of a join plan, on these engines. */
  #joinOps(): JoinOps {
    const listen = `0.0.0.0:${SWARM_PORT}`;
    return {
      init: (name, advertiseAddr) =>
        this.get(name).swarm.init({ ListenAddr: listen, ...(advertiseAddr ? { AdvertiseAddr: advertiseAddr } : {}) }),
      leave: (name) => this.get(name).swarm.leave(),
      managerAddress: async (name) => {
        const manager = this.get(name);
        const token = await manager.swarm.workerToken();
        const mInfo = (await manager.system.info()).Swarm ?? {};
        const addr = (mInfo.RemoteManagers ?? []).find((m) => m.NodeID === mInfo.NodeID)?.Addr;
        if (!addr) throw new LabError('DAEMON_ERROR', `engine '${name}' is a swarm manager without an address`, {});
        return { token, addr };
      },
      join: async (name, to) => {
        const engine = this.get(name);
        await engine.swarm.join({
          ListenAddr: listen,
          RemoteAddrs: [to.addr],
          JoinToken: to.token,
          ...(to.advertise ? { AdvertiseAddr: to.advertise } : {}),
        });
        return (await engine.system.info()).Swarm?.NodeID ?? '';
      },
      write: (r) => this.#record.write(r),
    };
  }

  async leave(): Promise<{ left: string[]; removed_swarm: boolean }> {
    const record = await this.#record.read();
    if (!record) return { left: [], removed_swarm: false };
    const left: string[] = [];
    for (const j of [...record.joined].reverse()) {
      const engine = this.#engines.get(j.engine);
      if (!engine) continue;
      await engine.swarm.leave();
      left.push(j.engine);
      if (!record.initialized) {
        // The swarm stays (it was there before): take the departed node out of its list too.
        await this.get(record.manager)
          .swarm.removeNode(j.node_id)
          .catch(() => undefined);
      }
    }
    if (record.initialized) await this.get(record.manager).swarm.leave();
    await this.#record.clear();
    return { left, removed_swarm: record.initialized };
  }
}
