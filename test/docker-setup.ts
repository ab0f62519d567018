import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { loadConfig } from '../src/config.js';
import { createLab } from '../src/core/lab.js';
import { root, sweep } from './helpers/docker.js';

/**
 * Before the Docker tests: the engine must answer (an unreachable engine fails the run, it never
 * skips), earlier killed runs' leftovers are removed by the test label, the lab images exist, and
 * dist/ is fresh for the MCP end-to-end test (which spawns the built server like an MCP host does).
 */
export async function setup(): Promise<() => Promise<void>> {
  process.env.NSLAB_TEST_OWNER = String(process.pid);
  const lab = createLab(loadConfig(process.env, {}, root));
  await lab.engine.ready();
  const swept = await sweep();
  if (swept) process.stderr.write(`removed ${swept} containers/networks left by earlier test runs\n`);
  await lab.images.buildAll(undefined, (m) => process.stderr.write(`… ${m}\n`));
  await promisify(execFile)('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root });
  return async () => {
    await sweep();
  };
}
