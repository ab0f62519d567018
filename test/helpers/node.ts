import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './docker.js';

/**
 * A Node of a supported LTS line (22+): the one running the tests when it is (scripts/test.sh puts
 * the pinned one first on PATH), else the one scripts/runtime.sh fetched into .nslab-runtime/.
 */
export function ltsNode(): string {
  if (Number(process.versions.node.split('.')[0]) >= 22) return process.execPath;
  const dir = join(root, '.nslab-runtime');
  const found = existsSync(dir) ? readdirSync(dir).find((d) => d.startsWith('node-v') && !d.endsWith('.partial')) : undefined;
  if (!found) throw new Error('no Node 22+ here: run the tests with bash scripts/test.sh, which fetches one');
  return join(dir, found, 'bin', 'node');
}
