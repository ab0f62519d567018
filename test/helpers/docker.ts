import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { loadConfig } from '../../src/config.js';
import { removeRouted } from '../../src/core/docker/firewall.js';
import { LABELS } from '../../src/core/docker/labels.js';
import { createLab, type Lab } from '../../src/core/lab.js';
import { runTool } from '../../tools/index.js';

/** Everything a test creates carries this label, so a later run can sweep what a killed run left. */
export const TEST_LABEL = 'netstream-lab.test';

export const root = join(import.meta.dirname, '..', '..');

/** The pid of the vitest run that owns test objects (set by the global setup, inherited by workers). */
const OWNER_LABEL = `${TEST_LABEL}.owner`;
export const owner = (): string => process.env.NSLAB_TEST_OWNER ?? String(process.pid);

/** Environment for a lab (in-process or a spawned server) whose objects are marked as test objects. */
export function testEnv(run: string): Record<string, string> {
  return {
    NSLAB_DATA_DIR: mkdtempSync(join(tmpdir(), `nslab-${run}-`)),
    NSLAB_EXTRA_LABELS: `${TEST_LABEL}=${run},${OWNER_LABEL}=${owner()}`,
  };
}

const alive = (pid: string | undefined): boolean => {
  if (!pid || !/^\d+$/.test(pid)) return false;
  try {
    process.kill(Number(pid), 0);
    return true;
  } catch {
    return false;
  }
};

export function testLab(run: string): Lab {
  return createLab(loadConfig({ ...process.env, ...testEnv(run) }, {}, root));
}

/** Call a tool the way a front end does; throw the error text if it fails. */
export async function call<T = Record<string, unknown>>(lab: Lab, tool: string, args: unknown): Promise<T> {
  const out = await runTool(lab, tool, args);
  if (!out.ok) throw new Error(`${tool} failed: ${out.error.toText()}`);
  return out.result as T;
}

export async function callError(lab: Lab, tool: string, args: unknown) {
  const out = await runTool(lab, tool, args);
  if (out.ok) throw new Error(`${tool} unexpectedly succeeded: ${JSON.stringify(out.result)}`);
  return out.error;
}

/**
 * Remove containers and networks carrying the test label, and their forwarding rules: one run's,
 * or (no argument) this vitest run's and those of test runs that are no longer alive, so that a
 * concurrent run on the same engine keeps its lab. Never anything without the test label.
 */
export async function sweep(run?: string): Promise<number> {
  const docker = new Docker();
  const label = [run ? `${TEST_LABEL}=${run}` : TEST_LABEL];
  const mine = (labels: Record<string, string> | undefined) =>
    run !== undefined || labels?.[OWNER_LABEL] === owner() || !alive(labels?.[OWNER_LABEL]);
  const containers = (await docker.listContainers({ all: true, filters: { label } })).filter((c) => mine(c.Labels));
  await Promise.all(
    containers.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
  const networks = (await docker.listNetworks({ filters: { label } })).filter((n) => mine(n.Labels));
  for (const n of networks) {
    await docker
      .getNetwork(n.Id)
      .remove()
      .catch(() => undefined);
    const bridge = n.Labels?.[LABELS.bridge];
    if (bridge) await removeRouted(bridge);
  }
  return containers.length + networks.length;
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutS: number, everyMs = 1000): Promise<T> {
  const deadline = Date.now() + timeoutS * 1000;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutS} s waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
}

/** A file's text inside a container, read with the docker CLI (not through a tool: tools mask secrets). */
export async function fileIn(container: string, path: string): Promise<string> {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve, reject) =>
    execFile('docker', ['exec', container, 'cat', path], { maxBuffer: 16 * 1024 * 1024 }, (err, stdout) =>
      err ? reject(err) : resolve(stdout),
    ),
  );
}
