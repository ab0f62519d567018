/**
 * The routes of the machine the (local) engine runs on. A lab network over one of them would take
 * that traffic away from the host (a 64.0.0.0/2 lab network would cut it off), so such a subnet is
 * refused. Docker's own bridges are left out: overlaps with Docker networks are checked apart.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { overlaps, parseCidr } from '../ipam.js';

const run = promisify(execFile);

export interface HostRoute {
  dst: string;
  dev: string;
}

/** Bridges Docker makes (docker0, br-<id>) and the lab's own (nsl<hash>). */
const DOCKER_DEV = /^(docker\d*|br-[0-9a-f]{12}|nsl[0-9a-f]{12})$/;

export function parseRoutes(json: string): HostRoute[] {
  const data = JSON.parse(json || '[]') as Array<{ dst?: string; dev?: string }>;
  return data
    .filter((r) => r.dst && r.dst !== 'default' && !DOCKER_DEV.test(r.dev ?? ''))
    .map((r) => ({ dst: r.dst as string, dev: r.dev ?? '?' }));
}

/** The host's route a subnet would overlap, or undefined (also when the routes cannot be read). */
export async function hostRouteClash(subnet: string): Promise<HostRoute | undefined> {
  let routes: HostRoute[];
  try {
    routes = parseRoutes((await run('ip', ['-4', '-j', 'route', 'show'])).stdout);
  } catch {
    return undefined;
  }
  const s = parseCidr(subnet);
  if (typeof s === 'string') return undefined;
  return routes.find((r) => {
    const d = parseCidr(r.dst.includes('/') ? r.dst : `${r.dst}/32`);
    return typeof d !== 'string' && overlaps(d, s);
  });
}
