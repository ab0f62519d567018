/**
 * The routes of the machine an engine runs on. A lab bridge over one of them would take that
 * traffic away from that machine (a 64.0.0.0/2 lab network would cut it off), so such a subnet is
 * refused. Docker's own bridges are left out: overlaps with Docker networks are checked apart.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { LabError } from '../errors.js';
import { overlaps, parseCidr } from '../ipam.js';
import { withTimeout } from '../timeout.js';
import type { DockerEngine } from './engine.js';

const run = promisify(execFile);

export interface HostRoute {
  dst: string;
  dev: string;
}

/** Bridges Docker makes (docker0, br-<id>) and the lab's own (nsl<hash>). */
const DOCKER_DEV = /^(docker\d*|br-[0-9a-f]{12}|nsl[0-9a-f]{12})$/;

const ROUTES_ARGV = ['-4', '-j', 'route', 'show'];

export function parseRoutes(json: string): HostRoute[] {
  const data = JSON.parse(json || '[]') as Array<{ dst?: string; dev?: string }>;
  return data
    .filter((r) => r.dst && r.dst !== 'default' && !DOCKER_DEV.test(r.dev ?? ''))
    .map((r) => ({ dst: r.dst as string, dev: r.dev ?? '?' }));
}

/**
 * `ip route` on another engine's machine: a short-lived container in that machine's network
 * namespace, from a lab image already there (they all have iproute2), labelled as this store's
 * and removed at once. Undefined when the engine has no lab image yet (copying 170 MB only for
 * this is not worth it) or the helper fails.
 */
async function remoteRoutes(engine: DockerEngine): Promise<string | undefined> {
  await engine.ready();
  const images = await engine.images.listLab();
  const tags = images.flatMap((i) => i.RepoTags ?? []).filter((t) => !t.endsWith(':<none>'));
  const image = tags.find((t) => t.startsWith('netstream-lab/host:')) ?? tags[0];
  if (!image) return undefined;
  const id = await engine.containers.create('helper', {
    name: `nslab-helper-routes-${randomBytes(4).toString('hex')}`,
    Image: image,
    Entrypoint: ['ip'],
    Cmd: ROUTES_ARGV,
    // The host's namespace to read its routes; nothing else of the host, no capabilities.
    HostConfig: { NetworkMode: 'host', CapDrop: ['ALL'], Memory: 64 * 2 ** 20, PidsLimit: 16 },
  });
  // Its start, exit and removal are the lab's own doing, not drift for the event watch.
  engine.act(id);
  try {
    await engine.containers.start(id);
    const status = await withTimeout(engine.containers.wait(id), 30_000, 'the route-reading helper');
    if (status !== 0) return undefined;
    return await engine.containers.logs(id, { stderr: false });
  } catch {
    return undefined;
  } finally {
    await engine.containers.remove(id).catch(() => undefined);
  }
}

/**
 * The routes of the engine's machine, read once (a process here, or a helper container on a remote
 * engine), or 'unread' when they could not be read (a remote engine without a lab image, an `ip`
 * that fails). Check many subnets against one reading with routeClash.
 */
export async function readHostRoutes(engine: DockerEngine): Promise<HostRoute[] | 'unread'> {
  try {
    const json = engine.isLocal ? (await run('ip', ROUTES_ARGV)).stdout : await remoteRoutes(engine);
    if (json === undefined) return 'unread';
    return parseRoutes(json);
  } catch (err) {
    // An engine that does not answer (or whose SSH host is not trusted) is refused as such.
    if (err instanceof LabError) throw err;
    return 'unread';
  }
}

/** The route of `routes` a subnet would overlap, undefined when none does. */
export function routeClash(routes: HostRoute[], subnet: string): HostRoute | undefined {
  const s = parseCidr(subnet);
  if (typeof s === 'string') return undefined;
  return routes.find((r) => {
    const d = parseCidr(r.dst.includes('/') ? r.dst : `${r.dst}/32`);
    return typeof d !== 'string' && overlaps(d, s);
  });
}

/**
 * The route of the engine's machine a subnet would overlap, undefined when none does, or 'unread'
 * when the routes could not be read (a remote engine without a lab image, an `ip` that fails).
 */
export async function hostRouteClash(engine: DockerEngine, subnet: string): Promise<HostRoute | 'unread' | undefined> {
  const routes = await readHostRoutes(engine);
  return routes === 'unread' ? 'unread' : routeClash(routes, subnet);
}
