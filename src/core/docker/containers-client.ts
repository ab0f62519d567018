import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type Docker from 'dockerode';
import { extract } from 'tar-stream';
import { type FileEntry, tarFiles } from './archive.js';
import { statusOf } from './client.js';
import type { Dial } from './dial.js';
import { LABELS, type Ownership, ownership, ownershipLabels, type Role } from './labels.js';

export type ContainerInfo = Docker.ContainerInspectInfo;
/** A container as `docker ps` lists it. */
export type ContainerSummary = Docker.ContainerInfo;
export type ContainerSpec = Omit<Docker.ContainerCreateOptions, 'Labels'>;

/**
 * Containers, addressed by their stored id or exact name. Every call goes through the dial (error
 * mapping, log with the id); every container made carries this store's labels.
 */
export class ContainersClient {
  constructor(private readonly dial: Dial) {}

  /**
   * The container with exactly this name or full id. Docker resolves an unknown name as an id
   * prefix, so a lookup of node 'abc1' whose container is gone would otherwise return someone
   * else's container whose id starts with abc1: the answer must carry the name (or id) asked for.
   */
  async inspect(nameOrId: string): Promise<ContainerInfo | undefined> {
    try {
      const info = await this.dial.run('container.inspect', nameOrId, (api) => api.getContainer(nameOrId).inspect());
      return info.Id === nameOrId || info.Name === `/${nameOrId}` ? info : undefined;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /**
   * A node's container: by the id the store recorded when it still carries the node's name,
   * else by the name (a container recreated outside the lab); never an id prefix.
   */
  async find(name: string, storedId?: string): Promise<ContainerInfo | undefined> {
    if (storedId) {
      const byId = await this.inspect(storedId);
      if (byId?.Name === `/${name}`) return byId;
    }
    return this.inspect(name);
  }

  /** The container by that name (or its recorded id) and whose it is; undefined when there is none. */
  async classify(name: string, storedId?: string): Promise<{ info: ContainerInfo; owner: Ownership } | undefined> {
    const info = await this.find(name, storedId);
    return info && { info, owner: ownership(info.Config.Labels, await this.dial.owner()) };
  }

  /** Containers, stopped ones too, optionally only those with every one of these labels. */
  list(label?: string[]): Promise<ContainerSummary[]> {
    return this.dial.run('container.list', undefined, (api) => api.listContainers({ all: true, ...(label ? { filters: { label } } : {}) }));
  }

  /** Every container of this store (optionally of one topology), in one query. */
  async listOwned(topology?: string): Promise<ContainerSummary[]> {
    return this.list(await ownedFilter(this.dial, topology));
  }

  /** Make a container labelled as this store's `role` (plus `labels`); its id. */
  async create(role: Role, spec: ContainerSpec, labels: Record<string, string | undefined> = {}): Promise<string> {
    const Labels = ownershipLabels(await this.dial.owner(), role, labels);
    const made = await this.dial.run('container.create', spec.name, (api) => api.createContainer({ ...spec, Labels }));
    return made.id;
  }

  async start(id: string): Promise<void> {
    try {
      await this.dial.run('container.start', id, (api) => api.getContainer(id).start());
    } catch (err) {
      if (statusOf(err) !== 304) throw err; // already running
    }
  }

  async stop(id: string, timeoutS = 5): Promise<void> {
    this.dial.act(id);
    try {
      await this.dial.run('container.stop', id, (api) => api.getContainer(id).stop({ t: timeoutS }));
    } catch (err) {
      if (statusOf(err) !== 304 && statusOf(err) !== 404) throw err; // already stopped / gone
    }
  }

  /** Freeze every process of the container (docker pause); one already paused is fine. */
  async pause(id: string): Promise<void> {
    this.dial.act(id);
    try {
      await this.dial.run('container.pause', id, (api) => api.getContainer(id).pause());
    } catch (err) {
      if (statusOf(err) !== 304 && !/already paused/i.test(String((err as Error).message))) throw err;
    }
  }

  /** Thaw a paused container; one not paused is fine. */
  async unpause(id: string): Promise<void> {
    this.dial.act(id);
    try {
      await this.dial.run('container.unpause', id, (api) => api.getContainer(id).unpause());
    } catch (err) {
      if (statusOf(err) !== 304 && !/not paused/i.test(String((err as Error).message))) throw err;
    }
  }

  /** Remove by id (force, with its anonymous volumes); one already gone is fine. */
  async remove(id: string): Promise<void> {
    this.dial.act(id);
    try {
      await this.dial.run('container.remove', id, (api) => api.getContainer(id).remove({ force: true, v: true }));
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
  }

  /** Its main process's exit code, once it exits. */
  async wait(id: string): Promise<number> {
    const r = (await this.dial.run('container.wait', id, (api) => api.getContainer(id).wait())) as { StatusCode: number };
    return r.StatusCode;
  }

  async putFiles(id: string, files: FileEntry[]): Promise<void> {
    if (files.length === 0) return;
    const tar = await tarFiles(files);
    await this.dial.run('container.put_archive', id, (api) => api.getContainer(id).putArchive(tar, { path: '/' }));
  }

  /**
   * The regular files under `dir` in a container, running or not (docker cp), by absolute path;
   * at most `maxBytes` in all. An absent folder gives none.
   */
  async readFiles(id: string, dir: string, maxBytes = 1024 * 1024): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.dial.run('container.get_archive', id, (api) => api.getContainer(id).getArchive({ path: dir }));
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

  /** What the container printed, as text; the last `tail` lines when given. */
  async logs(id: string, opts: { stderr: boolean; tail?: number }): Promise<string> {
    const buf = await this.dial.run(
      'container.logs',
      id,
      (api) =>
        api.getContainer(id).logs({
          stdout: true,
          stderr: opts.stderr,
          follow: false,
          ...(opts.tail !== undefined ? { tail: opts.tail } : {}),
        }) as unknown as Promise<Buffer>,
    );
    return demuxText(buf);
  }
}

/** The label filter of this store's objects (optionally one topology's). */
export async function ownedFilter(dial: Dial, topology?: string): Promise<string[]> {
  const { store } = await dial.owner();
  return [`${LABELS.managed}=true`, `${LABELS.store}=${store}`, ...(topology ? [`${LABELS.topology}=${topology}`] : [])];
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
