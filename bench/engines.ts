/**
 * Benchmark (not a test): the 30-node topology of bench/standup.ts on one engine, then spread over
 * two engines joined by Docker Swarm (the second one started on this machine by
 * scripts/second-engine.sh), reported as ratios: standup, time until every session is
 * Established, teardown. On one machine the two engines share the same cores, so the ratio is the
 * cost of the overlay networks and the swarm, not a speed-up.
 *
 *   npm run bench:engines            # 30 nodes
 *   npm run bench:engines -- 10      # another size
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { createLab, type Lab } from '../src/core/lab.js';
import { runTool } from '../tools/index.js';
import { spec } from './spec.js';

const root = join(import.meta.dirname, '..');
const second = (cmd: 'up' | 'down') =>
  execFileSync('bash', [join(root, 'scripts', 'second-engine.sh'), cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
const secs = (t0: number) => (Date.now() - t0) / 1000;

// biome-ignore lint/suspicious/noExplicitAny: a benchmark reads a few known fields of tool results
async function call(lab: Lab, tool: string, args: unknown): Promise<Record<string, any>> {
  const r = await runTool(lab, tool, args);
  if (!r.ok) throw new Error(`${tool}: ${r.error.toText()}`);
  return r.result;
}

async function run(lab: Lab, name: string, n: number, placement: 'pack' | 'spread') {
  await call(lab, 'topology_create', { spec: { ...spec(name, n, 202), placement }, replace: true });
  const t0 = Date.now();
  await call(lab, 'topology_standup', { name, concurrency: 8 });
  const up = secs(t0);
  const t1 = Date.now();
  const st = await call(lab, 'topology_standup', { name, wait_established_s: 180 });
  const established = secs(t1);
  const status = await call(lab, 'topology_status', { name });
  const engines: Record<string, number> = {};
  for (const node of status.nodes as Array<{ engine?: string }>) engines[node.engine ?? 'a'] = (engines[node.engine ?? 'a'] ?? 0) + 1;
  const t2 = Date.now();
  await call(lab, 'topology_teardown', { name });
  const down = secs(t2);
  await call(lab, 'topology_delete', { name });
  return { placement, up, established, all: st.established?.all as boolean, down, engines };
}

async function main() {
  const n = Number(process.argv[2] ?? 30);
  const host = second('up');
  const dataDir = mkdtempSync(join(tmpdir(), 'nslab-bench-engines-'));
  const lab = createLab(
    loadConfig({ ...process.env, NSLAB_DATA_DIR: dataDir, NSLAB_ENGINES: `a=unix:///var/run/docker.sock,b=${host}` }, {}, root),
  );
  try {
    await call(lab, 'engine_join', { advertise: { a: '169.254.77.1', b: '169.254.77.2' } });
    // Images on b first (streamed once), so that the spread run measures the lab, not the copy.
    for (const kind of ['frr', 'gobgp', 'exabgp', 'host'] as const) await lab.images.ensure(kind, undefined, lab.placement.of('b'));
    const one = await run(lab, `be1-${n}`, n, 'pack');
    process.stderr.write(`${JSON.stringify(one)}\n`);
    const two = await run(lab, `be2-${n}`, n, 'spread');
    process.stderr.write(`${JSON.stringify(two)}\n`);
    const f = (x: number) => `${x.toFixed(1)} s`;
    const r = (a: number, b: number) => `${(b / a).toFixed(2)}x`;
    process.stdout.write(
      '| nodes | placement | nodes per engine | standup | all Established after standup | teardown |\n|---:|---|---|---:|---:|---:|\n',
    );
    for (const x of [one, two])
      process.stdout.write(
        `| ${n} | ${x.placement} | ${Object.entries(x.engines)
          .map(([e, c]) => `${e}: ${c}`)
          .join(', ')} | ${f(x.up)} | ${f(x.established)}${x.all ? '' : ' (not all)'} | ${f(x.down)} |\n`,
      );
    process.stdout.write(
      `| | spread / one engine | | ${r(one.up, two.up)} | ${r(one.established, two.established)} | ${r(one.down, two.down)} |\n`,
    );
  } finally {
    await call(lab, 'engine_leave', {}).catch((err: unknown) => process.stderr.write(`engine_leave: ${String(err)}\n`));
    second('down');
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
