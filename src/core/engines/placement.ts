import type { ContainerSummary, DockerEngine, NetworkInfo } from '../docker/engine.js';
import { invalid } from '../errors.js';
import type { NetworkRecord } from '../store/schema.js';

/** What a placement needs of the engines: their names (first = default, swarm manager) and each one. */
export interface EngineSet {
  readonly names: string[];
  get(name: string): DockerEngine;
}

/**
 * Which Docker engine holds what: passed to the services (composition), so each operation on a
 * node or network goes to its own engine. A record without `engine` (every record made before
 * NSLAB_ENGINES existed, and every record with one engine) is on the first engine. An overlay
 * network lives in the swarm and is managed through the manager, the first engine.
 */
export class Placement {
  constructor(private readonly engines: EngineSet) {}

  /** The first engine: the default one and the swarm manager. */
  get default(): DockerEngine {
    return this.engines.get(this.defaultName);
  }

  get defaultName(): string {
    return this.engines.names[0] as string;
  }

  get names(): string[] {
    return this.engines.names;
  }

  /** More than one engine configured (NSLAB_ENGINES). */
  get multi(): boolean {
    return this.engines.names.length > 1;
  }

  /** The engine of that name (undefined: the default). */
  of(name: string | undefined): DockerEngine {
    return this.engines.get(name ?? this.defaultName);
  }

  /** The engine a node record runs on. */
  node(rec: { engine?: string | undefined }): DockerEngine {
    return this.of(rec.engine);
  }

  /** The engine through which a network is created, inspected and removed. */
  network(rec: Pick<NetworkRecord, 'driver' | 'engine'>): DockerEngine {
    return rec.driver === 'overlay' ? this.default : this.of(rec.engine);
  }

  /** Each engine with its name, the default first. */
  all(): Array<{ name: string; engine: DockerEngine }> {
    return this.engines.names.map((name) => ({ name, engine: this.engines.get(name) }));
  }

  /**
   * This store's containers and networks on every engine (one query per engine and kind), each
   * container with the engine it is on; another engine that does not answer is listed in `down`
   * with why, and the others are still read (the first one not answering is an error). An overlay seen from several engines counts once.
   */
  async listOwned(topology?: string): Promise<Owned> {
    const out: Owned = { containers: [], networks: [], engineOf: new Map(), down: [] };
    const seen = new Set<string>();
    const lists = await Promise.all(
      this.all().map(async ({ name, engine }) => {
        try {
          return { name, owned: await engine.listOwned(topology) };
        } catch (err) {
          // The first engine holds the store's view of the swarm: without it nothing is known.
          if (name === this.defaultName) throw err;
          out.down.push({ name, error: (err as Error).message });
          return { name, owned: undefined };
        }
      }),
    );
    for (const { name, owned } of lists) {
      if (!owned) continue;
      for (const c of owned.containers) {
        out.containers.push(c);
        out.engineOf.set(c.Id, name);
      }
      for (const n of owned.networks) if (!seen.has(n.Id) && seen.add(n.Id)) out.networks.push(n);
    }
    return out;
  }

  /** Whether an engine name is among `down` (for reporting what cannot be seen). */
  static isDown(owned: Owned, engine: string): string | undefined {
    return owned.down.find((d) => d.name === engine)?.error;
  }

  /**
   * A requested engine name checked against NSLAB_ENGINES: the name to record (undefined when
   * none was asked for, so one-engine records stay as they were), or INVALID_INPUT naming `field`.
   */
  check(name: string | undefined, field = 'engine'): string | undefined {
    if (name === undefined) return undefined;
    if (!this.engines.names.includes(name)) {
      throw invalid(field, `no engine named '${name}'`, `the engines are ${this.engines.names.join(', ')} (NSLAB_ENGINES)`);
    }
    return name;
  }

  /** The engine name a new record keeps: the one asked for, else the default when there are several (none with one engine). */
  recordName(name: string | undefined, field = 'engine'): string | undefined {
    return this.check(name, field) ?? (this.multi ? this.defaultName : undefined);
  }
}

export interface Owned {
  containers: ContainerSummary[];
  networks: NetworkInfo[];
  /** container id -> name of the engine it is on */
  engineOf: Map<string, string>;
  /** engines that did not answer, with why */
  down: Array<{ name: string; error: string }>;
}
