import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { createLab } from '../src/core/lab.js';
import { root, sweep } from './helpers/docker.js';

/**
 * Before the Docker tests: the same setup as `./nslab` (scripts/setup.sh: a fresh dist/ for the MCP
 * end-to-end test, a running engine, the lab images), then a check that the engine answers (an
 * unreachable engine fails the run, it never skips) and a sweep of what killed runs left behind.
 */
export async function setup(): Promise<() => Promise<void>> {
  const prepared = spawnSync('bash', [join(root, 'scripts', 'setup.sh')], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (prepared.status !== 0) throw new Error(`scripts/setup.sh failed (exit ${prepared.status}); see its output above`);
  process.env.NSLAB_TEST_OWNER = String(process.pid);
  const lab = createLab(loadConfig(process.env, {}, root));
  await lab.engine.ready();
  const swept = await sweep();
  if (swept) process.stderr.write(`removed ${swept} containers/networks left by earlier test runs\n`);
  return async () => {
    await sweep();
  };
}
