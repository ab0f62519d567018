import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import Docker from 'dockerode';
import { root } from './docker.js';

/** The second engine of scripts/second-engine.sh, in its own network namespace. */
export const SECOND_ENGINE = 'unix:///var/run/nslab-e2.sock';
export const ADDRESSES = { a: '169.254.77.1', b: '169.254.77.2' };

export function secondEngineUp(): string {
  return execFileSync('bash', [join(root, 'scripts', 'second-engine.sh'), 'up'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
}

export function secondEngineDown(): void {
  spawnSync('bash', [join(root, 'scripts', 'second-engine.sh'), 'down'], { stdio: 'inherit' });
}

export const engineApi = (host?: string): Docker => (host ? new Docker({ socketPath: new URL(host).pathname }) : new Docker());

export async function swarmState(api: Docker): Promise<string> {
  const info = (await api.info()) as { Swarm?: { LocalNodeState?: string } };
  return info.Swarm?.LocalNodeState ?? 'inactive';
}

/** Out of any swarm, whatever a failed test left (never needed when tests pass). */
export async function forceLeave(api: Docker): Promise<void> {
  await api.swarmLeave({ force: true }).catch(() => undefined);
}
