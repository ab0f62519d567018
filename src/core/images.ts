import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { pack } from 'tar-stream';
import type { DockerEngine } from './docker/engine.js';
import { LabError } from './errors.js';
import type { Progress } from './progress.js';

const run = promisify(execFile);

export const IMAGE_KINDS = ['frr', 'gobgp', 'exabgp', 'bird', 'openbgpd', 'host'] as const;
export type ImageKind = (typeof IMAGE_KINDS)[number];
export const IMAGE_REPO = 'netstream-lab';

async function hashDirs(dirs: string[], salt: string): Promise<string> {
  const h = createHash('sha256').update(salt);
  for (const dir of dirs) {
    const names = (await readdir(dir)).sort();
    for (const n of names)
      h.update(n)
        .update('\0')
        .update(await readFile(join(dir, n)))
        .update('\0');
  }
  return h.digest('hex').slice(0, 12);
}

/** Files every lab image gets besides its own folder's (images/common). */
const COMMON = 'common';

/** The build context of a lab image: its folder plus images/common, flat, modes kept. */
async function buildContext(dirs: string[]): Promise<Buffer> {
  const p = pack();
  for (const dir of dirs) {
    for (const n of (await readdir(dir)).sort()) {
      const path = join(dir, n);
      p.entry({ name: n, mode: (await stat(path)).mode & 0o777 }, await readFile(path));
    }
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Lab images, tagged by a hash of their inputs (Dockerfile, scripts, base) so an unchanged image is
 * never rebuilt and a changed one always is. The base is made locally (debootstrap + docker import)
 * because no registry can be reached.
 */
export class Images {
  readonly #inflight = new Map<string, Promise<string>>();
  readonly #known = new Map<string, string>();

  constructor(
    private readonly engine: DockerEngine,
    private readonly imagesDir: string,
  ) {}

  #dirs(kind: ImageKind): string[] {
    return [join(this.imagesDir, kind), join(this.imagesDir, COMMON)];
  }

  #exists(ref: string): Promise<boolean> {
    return this.engine.images.exists(ref);
  }

  async baseRef(): Promise<string> {
    return `${IMAGE_REPO}/base:bookworm-${await hashDirs([join(this.imagesDir, 'base')], '')}`;
  }

  async refFor(kind: ImageKind): Promise<string> {
    const base = await this.baseRef();
    return `${IMAGE_REPO}/${kind}:${await hashDirs(this.#dirs(kind), base)}`;
  }

  /**
   * The image for `kind`, built first (with its base) when missing. Concurrent callers share one
   * build. On another engine (`on`) it is made on the default engine and streamed over.
   */
  ensure(kind: ImageKind, progress?: Progress, on?: DockerEngine): Promise<string> {
    const target = on && on !== this.engine ? on : undefined;
    // Once made or found in this process, an image is not looked up again (a standup of 100
    // nodes asks 100 times).
    const key = target ? `${kind}@${target.host ?? ''}` : kind;
    const known = this.#known.get(key);
    if (known) return Promise.resolve(known);
    let p = this.#inflight.get(key);
    if (!p) {
      p = (target ? this.#copy(kind, target, progress) : this.#ensure(kind, progress))
        .then((ref) => {
          this.#known.set(key, ref);
          return ref;
        })
        .finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, p);
    }
    return p;
  }

  /** The image on engine `to`: streamed from the default engine (docker save | docker load) when missing there. */
  async #copy(kind: ImageKind, to: DockerEngine, progress?: Progress): Promise<string> {
    const ref = await this.ensure(kind, progress);
    if (await to.images.exists(ref)) return ref;
    progress?.(`copying image ${ref} to the engine at ${to.host ?? 'the local socket'} (about 3 s per 170 MB)`);
    try {
      const saved = await this.engine.images.save(ref);
      // The engine reports a load that failed inside its answer, read to the end.
      const said = await to.images.load(saved, ref);
      if (/"error"/.test(said)) throw new Error(said.slice(0, 300));
    } catch (err) {
      if (err instanceof LabError) throw err;
      throw new LabError('IMAGE_BUILD_FAILED', `could not copy image ${ref} to the engine at ${to.host}: ${(err as Error).message}`, {
        hint: 'check that the engine answers (engine_list) and has room for the image',
      });
    }
    if (!(await to.images.exists(ref))) throw new LabError('IMAGE_BUILD_FAILED', `image ${ref} did not arrive on the engine at ${to.host}`);
    progress?.(`image ${ref} copied`);
    return ref;
  }

  async #ensure(kind: ImageKind, progress?: Progress): Promise<string> {
    const ref = await this.refFor(kind);
    if (await this.#exists(ref)) return ref;
    const base = await this.ensureBase(progress);
    progress?.(`building image ${ref} (first use of ${kind}; about 20 s)`);
    await this.#build(kind, ref, base, progress);
    return ref;
  }

  #baseBuild: Promise<string> | undefined;
  /** The Debian base every lab image builds on, made with debootstrap when missing. */
  ensureBase(progress?: Progress): Promise<string> {
    this.#baseBuild ??= (async () => {
      const ref = await this.baseRef();
      if (await this.#exists(ref)) return ref;
      progress?.(`making base image ${ref} with debootstrap (about a minute, once per machine)`);
      await ensureDebootstrap(progress);
      try {
        await run('bash', [join(this.imagesDir, 'base', 'bootstrap.sh'), ref], {
          maxBuffer: 64 * 1024 * 1024,
          env: this.engine.host ? { ...process.env, DOCKER_HOST: this.engine.host } : process.env,
        });
      } catch (err) {
        const e = err as { stderr?: string; message: string };
        throw new LabError('IMAGE_BUILD_FAILED', `could not make the base image ${ref}: ${tail(e.stderr ?? e.message)}`, {
          hint: "the base is made by images/base/bootstrap.sh with debootstrap and `docker import`: both must be installed, and Debian's archive reachable",
        });
      }
      return ref;
    })().finally(() => {
      this.#baseBuild = undefined;
    });
    return this.#baseBuild;
  }

  async #build(kind: ImageKind, ref: string, base: string, progress?: Progress): Promise<void> {
    const context = Readable.from([await buildContext(this.#dirs(kind))]);
    const log: string[] = [];
    const failed = await this.engine.images.build(context, { tag: ref, kind, buildargs: { BASE_IMAGE: base } }, (event) => {
      if (!event.stream) return;
      log.push(event.stream);
      if (/^Step \d+\/\d+/.test(event.stream)) progress?.(`${kind}: ${event.stream.trim()}`);
    });
    if (failed) {
      throw new LabError('IMAGE_BUILD_FAILED', `building ${ref} failed: ${failed}`, {
        hint: `last build output:\n${log.slice(-15).join('')}`,
      });
    }
  }

  /**
   * `nslab images build`: build the named kinds (all by default); returns their refs. Each is also
   * tagged `netstream-lab/<kind>:latest`, the name a lab exported to containerlab runs.
   */
  async buildAll(kinds: readonly ImageKind[] = IMAGE_KINDS, progress?: Progress): Promise<Record<string, string>> {
    const out: Record<string, string> = { base: await this.ensureBase(progress) };
    for (const k of kinds) {
      out[k] = await this.ensure(k, progress);
      await this.engine.images.tag(out[k], `${IMAGE_REPO}/${k}`, 'latest');
    }
    return out;
  }
}

async function ensureDebootstrap(progress?: Progress): Promise<void> {
  if (existsSync('/usr/sbin/debootstrap')) return;
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) {
    throw new LabError('IMAGE_BUILD_FAILED', 'debootstrap is needed to make the base image and is not installed', {
      hint: 'install it (apt-get install debootstrap) and try again',
    });
  }
  progress?.('installing debootstrap (apt-get)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update', '-qq'], { env });
  await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'debootstrap'], { env });
}

const tail = (s: string): string => s.trim().split('\n').slice(-5).join('\n');
