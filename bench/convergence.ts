/**
 * Benchmark (not a test): how long examples/failover.yaml takes to reroute when its short link is
 * cut (topology_scenario cut-short: link_down of r1's interface on r1r2, then verify that h1
 * reaches h2 the long way round), and to heal when the link comes back, with three settings of the
 * r1-r2 session measured in the same run:
 *   default  the lab timers (keepalive 3 s, hold 9 s): the baseline
 *   short    keepalive 1 s, hold 3 s on every session
 *   bfd      the default timers plus BFD on the FRR-FRR sessions (300 ms x 3)
 * Each variant is stood up, cut `runs` times, and torn down; the median is reported with its ratio
 * to the default.
 *
 *   npm run bench:convergence          # 3 runs per variant
 *   npm run bench:convergence -- 5
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { loadConfig } from '../src/config.js';
import { createLab, type Lab } from '../src/core/lab.js';
import { runTool } from '../tools/index.js';

const root = join(import.meta.dirname, '..');
const runs = Number(process.argv[2] ?? 3);

// biome-ignore lint/suspicious/noExplicitAny: a benchmark reads a few known fields of tool results
async function call(lab: Lab, tool: string, args: unknown): Promise<Record<string, any>> {
  const r = await runTool(lab, tool, args);
  if (!r.ok) throw new Error(`${tool}: ${r.error.toText()}`);
  return r.result;
}

type Session = string[] | Record<string, unknown>;
const variants: Array<{ name: string; session: (s: Session, frrBoth: boolean) => Session }> = [
  { name: 'default', session: (s) => s },
  { name: 'short', session: (s) => ({ ...asObject(s), hold_s: 3, keepalive_s: 1 }) },
  { name: 'bfd', session: (s, frrBoth) => (frrBoth ? { ...asObject(s), bfd: true } : s) },
];

function asObject(s: Session): Record<string, unknown> {
  return Array.isArray(s) ? { a: s[0], b: s[1] } : s;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

async function main(): Promise<void> {
  const lab = createLab(
    loadConfig(
      {
        ...process.env,
        NSLAB_DATA_DIR: mkdtempSync(join(tmpdir(), 'nslab-bench-conv-')),
        NSLAB_EXTRA_LABELS: 'netstream-lab.bench=convergence',
      },
      {},
      root,
    ),
  );
  // biome-ignore lint/suspicious/noExplicitAny: the example file as plain data
  const base = parse(readFileSync(join(root, 'examples', 'failover.yaml'), 'utf8')) as any;
  const kind = (n: string) => base.nodes[n].kind as string;
  const rows: Array<{ name: string; cut: number[]; heal: number[] }> = [];
  for (const v of variants) {
    const spec = structuredClone(base);
    spec.name = `conv-${v.name}`;
    spec.bgp.sessions = base.bgp.sessions.map((s: Session) => {
      const o = asObject(s);
      return v.session(s, kind(String(o.a)) === 'frr' && kind(String(o.b)) === 'frr');
    });
    await call(lab, 'topology_create', { yaml: stringify(spec), replace: true });
    const up = await call(lab, 'topology_standup', { name: spec.name, wait_established_s: 120 });
    if (!up.established?.all) throw new Error(`${spec.name}: not every session came up: ${up.established?.not_established}`);
    const healthy = await call(lab, 'topology_verify', { name: spec.name, wait_s: 90 });
    if (!healthy.passed) throw new Error(`${spec.name} does not verify: ${healthy.failures.join('; ')}`);
    const row = { name: v.name, cut: [] as number[], heal: [] as number[] };
    for (let i = 0; i < runs; i++) {
      const s = await call(lab, 'topology_scenario', { name: spec.name, scenario: 'cut-short' });
      if (!s.passed) throw new Error(`${spec.name} run ${i}: ${JSON.stringify(s.steps.map((x: { detail?: string }) => x.detail))}`);
      row.cut.push(s.steps[1].converged_ms);
      row.heal.push(s.steps[3].converged_ms);
      process.stderr.write(
        `${v.name} run ${i + 1}: rerouted after ${s.steps[1].converged_ms} ms, healed after ${s.steps[3].converged_ms} ms\n`,
      );
    }
    rows.push(row);
    await call(lab, 'topology_teardown', { name: spec.name });
    await call(lab, 'topology_delete', { name: spec.name });
  }
  const def = rows[0] as (typeof rows)[number];
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const out = [
    line(['session settings', 'reroute after the cut (median)', 'ratio to default', 'heal after the clear (median)', 'runs (reroute ms)']),
    line(['---', '---', '---', '---', '---']),
    ...rows.map((r) =>
      line([
        r.name,
        `${(median(r.cut) / 1000).toFixed(1)} s`,
        `${(median(r.cut) / median(def.cut)).toFixed(2)}x`,
        `${(median(r.heal) / 1000).toFixed(1)} s`,
        r.cut.join(', '),
      ]),
    ),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
