import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import Docker from 'dockerode';
import pLimit from 'p-limit';
import { extract } from 'tar-stream';
import { LabError } from '../errors.js';
import { type FileEntry, tarFiles } from './archive.js';
import { dockerOptions, engineMessage, isConnectionError, statusOf, unreachable } from './client.js';
import { type ExecOptions, type ExecResult, execInContainer } from './exec.js';
import { LABELS, type LabelContext, type Ownership, ownership } from './labels.js';

export type ContainerInfo = Docker.ContainerInspectInfo;
export type NetworkInfo = Docker.NetworkInspectInfo;

/**
 * Thin layer over dockerode: turns "no engine" into one clear error, and makes the ownership rule
 * structural: the mutating helpers here refuse objects that do not carry the lab's labels.
 */
export class DockerEngine {
  readonly api: Docker;
  #ready: Promise<void> | undefined;
  readonly #execs = pLimit(16);
  /** ids of objects this process is removing or stopping, and since when (see acting) */
  readonly #acting = new Map<string, number>();
  /** Its name in NSLAB_ENGINES when there are several (set by Engines), for errors the user reads. */
  name: string | undefined;

  constructor(
    readonly host: string | undefined,
    readonly labels: LabelContext,
    /** the id of the store this engine works for (read once, by ready) */
    private readonly storeId: () => Promise<string> = async () => labels.store,
  ) {
    this.api = new Docker(dockerOptions(host));
  }

  /** The engine runs on this machine, so its bridges' firewall is this machine's firewall. */
  get isLocal(): boolean {
    return !this.host || this.host.startsWith('unix://');
  }

  /** Ping once per process (again after a failure). */
  ready(): Promise<void> {
    this.#ready ??= Promise.all([
      this.api.ping().catch((err) => {
        throw unreachable(this.host, err, this.name);
      }),
      this.storeId().then((id) => {
        this.labels.store = id;
      }),
    ]).then(
      () => undefined,
      (err) => {
        this.#ready = undefined;
        throw err;
      },
    );
    return this.#ready;
  }

  /** Await a Docker call, translating connection failures. */
  async call<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (err) {
      if (isConnectionError(err)) throw unreachable(this.host, err, this.name);
      throw err;
    }
  }

  /**
   * The container with exactly this name or full id. Docker resolves an unknown name as an id
   * prefix, so a lookup of node 'abc1' whose container is gone would otherwise return someone
   * else's container whose id starts with abc1: the answer must carry the name (or id) asked for.
   */
  async inspectContainer(nameOrId: string): Promise<ContainerInfo | undefined> {
    try {
      const info = await this.call(this.api.getContainer(nameOrId).inspect());
      return info.Id === nameOrId || info.Name === `/${nameOrId}` ? info : undefined;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /** The network with exactly this name or full id (not an id prefix; see inspectContainer). */
  async inspectNetwork(nameOrId: string): Promise<NetworkInfo | undefined> {
    try {
      const info = await this.call(this.api.getNetwork(nameOrId).inspect());
      return info.Id === nameOrId || info.Name === nameOrId ? info : undefined;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /**
   * A node's container: by the id the store recorded when it still carries the node's name,
   * else by the name (a container recreated outside the lab); never an id prefix.
   */
  async findContainer(name: string, storedId?: string): Promise<ContainerInfo | undefined> {
    if (storedId) {
      const byId = await this.inspectContainer(storedId);
      if (byId?.Name === `/${name}`) return byId;
    }
    return this.inspectContainer(name);
  }

  /** The container by that name (or its recorded id) and whose it is; undefined when there is none. */
  async classifyContainer(name: string, storedId?: string): Promise<{ info: ContainerInfo; owner: Ownership } | undefined> {
    const info = await this.findContainer(name, storedId);
    return info && { info, owner: ownership(info.Config.Labels, this.labels) };
  }

  /** A container this store owns, or undefined if absent; throws if one by that name is not ours. */
  async ownedContainer(name: string, storedId?: string): Promise<ContainerInfo | undefined> {
    const found = await this.classifyContainer(name, storedId);
    if (!found) return undefined;
    if (found.owner !== 'ours') throw notOurs('container', name, found.owner);
    return found.info;
  }

  /** A lab network of this store, by its recorded id (if it still has the name) or by name; throws NOT_FOUND or CONFLICT otherwise. */
  async ownedNetwork(name: string, storedId?: string): Promise<NetworkInfo> {
    const byId = storedId ? await this.inspectNetwork(storedId) : undefined;
    const info = byId?.Name === name ? byId : await this.inspectNetwork(name);
    if (!info) {
      throw new LabError('NOT_FOUND', `Docker network '${name}' is gone`, {
        hint: 'it was removed outside netstream-lab; delete and create the lab network again (network_delete, network_create)',
      });
    }
    const owner = ownership(info.Labels, this.labels);
    if (owner !== 'ours') throw notOurs('network', name, owner);
    return info;
  }

  /**
   * Every container and network of this store, in one query each (sync, teardown): labelled as
   * managed, with this store's label, optionally one topology's.
   */
  async listOwned(topology?: string): Promise<{ containers: Docker.ContainerInfo[]; networks: Docker.NetworkInspectInfo[] }> {
    const label = [
      `${LABELS.managed}=true`,
      `${LABELS.store}=${this.labels.store}`,
      ...(topology ? [`${LABELS.topology}=${topology}`] : []),
    ];
    const [containers, networks] = await Promise.all([
      this.call(this.api.listContainers({ all: true, filters: { label } })),
      this.call(this.api.listNetworks({ filters: { label } })),
    ]);
    return { containers, networks };
  }

  async removeContainer(name: string): Promise<void> {
    const info = await this.ownedContainer(name);
    if (!info) return;
    await this.removeContainerId(info.Id);
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
  async removeContainerId(id: string): Promise<void> {
    this.act(id);
    try {
      await this.call(this.api.getContainer(id).remove({ force: true, v: true }));
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
    this.act(id);
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

  /**
   * The regular files under `dir` in a container, running or not (docker cp), by absolute path;
   * at most `maxBytes` in all. An absent folder gives none.
   */
  async readFiles(id: string, dir: string, maxBytes = 1024 * 1024): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.call(this.api.getContainer(id).getArchive({ path: dir }));
    } catch (err) {
      if (statusOf(err) === 404) return out;
      throw err;
    }
    const ex = extract();
    let total = 0;
    ex.on('entry', (header, body, next) => {
      const chunks: Buffer[] = [];
      body.on('data', (data: unknown) => {
        const c = data as Buffer;
        total += c.length;
        if (total <= maxBytes) chunks.push(c);
      });
      body.on('end', () => {
        // The archive names entries from the folder's own name: 'nslab/record.json' for /etc/nslab.
        if (header.type === 'file' && total <= maxBytes) out.set(join(dirname(dir), header.name), Buffer.concat(chunks).toString('utf8'));
        next();
      });
      body.resume();
    });
    await pipeline(stream, ex);
    return out;
  }

  /** The last `lines` lines a container printed (stdout and stderr), for error messages. */
  async logTail(id: string, lines = 8): Promise<string> {
    try {
      const buf = (await this.call(
        this.api.getContainer(id).logs({ stdout: true, stderr: true, tail: lines, follow: false }),
      )) as unknown as Buffer;
      return demuxText(buf).trim();
    } catch {
      return '';
    }
  }

  /** Run argv in a running container, given its fresh inspect; `name` is what the user calls it. */
  async exec(info: ContainerInfo, name: string, opts: ExecOptions): Promise<ExecResult> {
    if (!info.State.Running || info.State.Restarting) {
      throw new LabError('CONFLICT', `'${name}' is not running (${info.State.Status})`, {
        hint: info.State.Restarting
          ? 'its main process keeps exiting; look at `docker logs` for the reason'
          : 'start it first (daemon_start / host_start)',
      });
    }
    // A bounded number of execs at once: 50 parallel calls do not become 50 streams in memory.
    return this.#execs(() => this.call(execInContainer(this.api.getContainer(info.Id), opts)));
  }
}

/** Docker's multiplexed log stream (8-byte frame headers) as plain text; raw text passes through. */
export function demuxText(buf: Buffer): string {
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length && (buf[i] === 1 || buf[i] === 2) && buf[i + 1] === 0) {
    const len = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + len));
    i += 8 + len;
  }
  if (i === 0) return buf.toString('utf8');
  return Buffer.concat(parts).toString('utf8');
}

function notOurs(what: 'container' | 'network', name: string, owner: Ownership): LabError {
  if (owner === 'other-store') {
    // Which store it is (a path or id of someone else's lab) is not said.
    return new LabError('CONFLICT', `${what} '${name}' belongs to another netstream-lab store`, {
      hint: 'use that store (NSLAB_DATA_DIR) to change it, or pick another name',
    });
  }
  return new LabError('CONFLICT', `${what} '${name}' exists but was not created by netstream-lab`, {
    hint: `netstream-lab never modifies a ${what} without its labels; pick another name or remove it yourself`,
  });
}

export { engineMessage, statusOf };
