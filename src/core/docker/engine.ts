import Docker from 'dockerode';
import { LabError } from '../errors.js';
import { type FileEntry, tarFiles } from './archive.js';
import { dockerOptions, engineMessage, isConnectionError, statusOf, unreachable } from './client.js';
import { type ExecOptions, type ExecResult, execInContainer } from './exec.js';
import { isManaged, type LabelContext } from './labels.js';

export type ContainerInfo = Docker.ContainerInspectInfo;
export type NetworkInfo = Docker.NetworkInspectInfo;

/**
 * Thin layer over dockerode: turns "no engine" into one clear error, and makes the ownership rule
 * structural: the mutating helpers here refuse objects that do not carry the lab's labels.
 */
export class DockerEngine {
  readonly api: Docker;
  #ready: Promise<void> | undefined;

  constructor(
    readonly host: string | undefined,
    readonly labels: LabelContext,
  ) {
    this.api = new Docker(dockerOptions(host));
  }

  /** The engine runs on this machine, so its bridges' firewall is this machine's firewall. */
  get isLocal(): boolean {
    return !this.host || this.host.startsWith('unix://');
  }

  /** Ping once per process (again after a failure). */
  ready(): Promise<void> {
    this.#ready ??= this.api.ping().then(
      () => undefined,
      (err) => {
        this.#ready = undefined;
        throw unreachable(this.host, err);
      },
    );
    return this.#ready;
  }

  /** Await a Docker call, translating connection failures. */
  async call<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (err) {
      if (isConnectionError(err)) throw unreachable(this.host, err);
      throw err;
    }
  }

  async inspectContainer(nameOrId: string): Promise<ContainerInfo | undefined> {
    try {
      return await this.call(this.api.getContainer(nameOrId).inspect());
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  async inspectNetwork(nameOrId: string): Promise<NetworkInfo | undefined> {
    try {
      return await this.call(this.api.getNetwork(nameOrId).inspect());
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /** A container the lab owns, or undefined if absent; throws if one by that name is not ours. */
  async ownedContainer(name: string): Promise<ContainerInfo | undefined> {
    const info = await this.inspectContainer(name);
    if (!info) return undefined;
    if (!isManaged(info.Config.Labels)) {
      throw new LabError('CONFLICT', `container '${name}' exists but was not created by netstream-lab`, {
        hint: 'netstream-lab never modifies containers without its labels; pick another name or remove it yourself',
      });
    }
    return info;
  }

  async removeContainer(name: string): Promise<void> {
    const info = await this.ownedContainer(name);
    if (!info) return;
    try {
      await this.call(this.api.getContainer(info.Id).remove({ force: true, v: true }));
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
  }

  async startContainer(id: string): Promise<void> {
    try {
      await this.call(this.api.getContainer(id).start());
    } catch (err) {
      if (statusOf(err) !== 304) throw err; // already running
    }
  }

  async stopContainer(id: string, timeoutS = 5): Promise<void> {
    try {
      await this.call(this.api.getContainer(id).stop({ t: timeoutS }));
    } catch (err) {
      if (statusOf(err) !== 304 && statusOf(err) !== 404) throw err; // already stopped / gone
    }
  }

  async putFiles(id: string, files: FileEntry[]): Promise<void> {
    if (files.length === 0) return;
    const tar = await tarFiles(files);
    await this.call(this.api.getContainer(id).putArchive(tar, { path: '/' }));
  }

  async exec(id: string, opts: ExecOptions): Promise<ExecResult> {
    const info = await this.inspectContainer(id);
    if (!info?.State.Running) {
      throw new LabError('CONFLICT', `container '${id}' is not running`, {
        hint: 'start it first (daemon_start / host_start)',
      });
    }
    return this.call(execInContainer(this.api.getContainer(info.Id), opts));
  }
}

export { engineMessage, statusOf };
