import Docker from 'dockerode';
import { LabError } from '../errors.js';
import type { FileEntry } from './archive.js';
import { dockerOptions, engineMessage, statusOf, unreachable } from './client.js';
import { type ContainerInfo, type ContainerSummary, ContainersClient } from './containers-client.js';
import { type CallLog, type Dial, runCall } from './dial.js';
import type { ExecOptions, ExecResult } from './exec.js';
import { ExecClient } from './exec-client.js';
import { ImagesClient } from './images-client.js';
import { type LabelContext, notOurs, type Ownership } from './labels.js';
import { type NetworkInfo, NetworksClient } from './networks-client.js';
import { SwarmClient } from './swarm-client.js';
import { SystemClient } from './system-client.js';

export type { ContainerInfo, ContainerSummary } from './containers-client.js';
export type { NetworkInfo } from './networks-client.js';

/**
 * One Docker engine, closed: a client per concern (containers, networks, images, exec, swarm,
 * system), all reaching the engine through one dial, so every call has the same error mapping
 * (an engine that does not answer is DOCKER_UNAVAILABLE, naming it) and is logged with its
 * object's id, and every object made carries this store's labels. Nothing outside this folder
 * sees dockerode. The helpers below are the calls most services make, with the ownership rule:
 * they refuse objects that do not carry the lab's labels.
 */
export class DockerEngine {
  readonly #api: Docker;
  readonly containers: ContainersClient;
  readonly networks: NetworksClient;
  readonly images: ImagesClient;
  readonly execs: ExecClient;
  readonly swarm: SwarmClient;
  readonly system: SystemClient;
  #ready: Promise<void> | undefined;
  #owner: Promise<LabelContext> | undefined;
  /** ids of objects this process is removing or stopping, and since when (see acting) */
  readonly #acting = new Map<string, number>();
  /** Its name in NSLAB_ENGINES when there are several (set by Engines), for errors the user reads. */
  name: string | undefined;

  constructor(
    readonly host: string | undefined,
    readonly labels: LabelContext,
    /** the id of the store this engine works for (read once, by the first call that needs it) */
    private readonly storeId: () => Promise<string> = async () => labels.store,
    /** hears of every call (debug log) */
    readonly log?: CallLog,
  ) {
    this.#api = new Docker(dockerOptions(host));
    const dial: Dial = {
      api: this.#api,
      run: (op, id, fn) => runCall(this, this.#api, op, id, fn),
      owner: () => this.owner(),
      act: (id) => this.act(id),
    };
    this.containers = new ContainersClient(dial);
    this.networks = new NetworksClient(dial);
    this.images = new ImagesClient(dial);
    this.execs = new ExecClient(dial);
    this.system = new SystemClient(dial);
    this.swarm = new SwarmClient(dial, this.system);
  }

  /** The engine runs on this machine, so its bridges' firewall is this machine's firewall. */
  get isLocal(): boolean {
    return !this.host || this.host.startsWith('unix://');
  }

  /** Ping once per process (again after a failure), and know the store's id. */
  ready(): Promise<void> {
    this.#ready ??= Promise.all([
      this.system.ping().catch((err: unknown) => {
        // Any failed ping, not only a refused connection, means this engine cannot be used.
        throw err instanceof LabError ? err : unreachable(this.host, err, this.name);
      }),
      this.owner(),
    ]).then(
      () => undefined,
      (err) => {
        this.#ready = undefined;
        throw err;
      },
    );
    return this.#ready;
  }

  /**
   * This store's labels, its id read once (again after a failure). Every client awaits it before
   * it makes or lists objects: the ownership rule does not depend on someone calling ready().
   */
  owner(): Promise<LabelContext> {
    this.#owner ??= this.storeId().then(
      (id) => {
        this.labels.store = id;
        return this.labels;
      },
      (err) => {
        this.#owner = undefined;
        throw err;
      },
    );
    return this.#owner;
  }

  /** The container with exactly this name or full id, never an id prefix (ContainersClient.inspect). */
  inspectContainer(nameOrId: string): Promise<ContainerInfo | undefined> {
    return this.containers.inspect(nameOrId);
  }

  /** The network with exactly this name or full id (not an id prefix). */
  inspectNetwork(nameOrId: string): Promise<NetworkInfo | undefined> {
    return this.networks.inspect(nameOrId);
  }

  /** The container by that name (or its recorded id) and whose it is; undefined when there is none. */
  classifyContainer(name: string, storedId?: string): Promise<{ info: ContainerInfo; owner: Ownership } | undefined> {
    return this.containers.classify(name, storedId);
  }

  /** A container this store owns, or undefined if absent; throws if one by that name is not ours. */
  async ownedContainer(name: string, storedId?: string): Promise<ContainerInfo | undefined> {
    const found = await this.containers.classify(name, storedId);
    if (!found) return undefined;
    if (found.owner !== 'ours') throw notOurs('container', name, found.owner);
    return found.info;
  }

  /** A lab network of this store, by its recorded id (if it still has the name) or by name; throws NOT_FOUND or CONFLICT otherwise. */
  ownedNetwork(name: string, storedId?: string): Promise<NetworkInfo> {
    return this.networks.owned(name, storedId);
  }

  /**
   * Every container and network of this store, in one query each (sync, teardown): labelled as
   * managed, with this store's label, optionally one topology's.
   */
  async listOwned(topology?: string): Promise<{ containers: ContainerSummary[]; networks: NetworkInfo[] }> {
    const [containers, networks] = await Promise.all([this.containers.listOwned(topology), this.networks.listOwned(topology)]);
    return { containers, networks };
  }

  async removeContainer(name: string): Promise<void> {
    const info = await this.ownedContainer(name);
    if (!info) return;
    await this.containers.remove(info.Id);
  }

  /** Mark an object this process is about to remove or stop, so its events read as the lab's own. */
  act(id: string): void {
    const now = Date.now();
    for (const [k, at] of this.#acting) if (now - at > 60_000) this.#acting.delete(k);
    this.#acting.set(id, now);
  }

  /** Whether this process removed or stopped the object with this id in the last minute. */
  acting(id: string): boolean {
    const at = this.#acting.get(id);
    return at !== undefined && Date.now() - at <= 60_000;
  }

  /** Remove by id a container this process has just made (rollback). */
  removeContainerId(id: string): Promise<void> {
    // its kept reader first (its process ends as its stdin closes), not killed with the container
    this.execs.readers.close(id);
    this.execs.relays.close(id);
    return this.containers.remove(id);
  }

  startContainer(id: string): Promise<void> {
    return this.containers.start(id);
  }

  stopContainer(id: string, timeoutS = 5): Promise<void> {
    return this.containers.stop(id, timeoutS);
  }

  pauseContainer(id: string): Promise<void> {
    return this.containers.pause(id);
  }

  unpauseContainer(id: string): Promise<void> {
    return this.containers.unpause(id);
  }

  putFiles(id: string, files: FileEntry[]): Promise<void> {
    return this.containers.putFiles(id, files);
  }

  /** The regular files under `dir` in a container, running or not (docker cp), by absolute path. */
  readFiles(id: string, dir: string, maxBytes = 1024 * 1024): Promise<Map<string, string>> {
    return this.containers.readFiles(id, dir, maxBytes);
  }

  /** The last `lines` lines a container printed (stdout and stderr), for error messages. */
  async logTail(id: string, lines = 8): Promise<string> {
    try {
      return (await this.containers.logs(id, { stderr: true, tail: lines })).trim();
    } catch {
      return '';
    }
  }

  /** Run argv in a running container, given its fresh inspect; `name` is what the user calls it. */
  exec(info: ContainerInfo, name: string, opts: ExecOptions): Promise<ExecResult> {
    return this.execs.run(info, name, opts);
  }
}

export { demuxText } from './containers-client.js';
export { engineMessage, statusOf };
