/**
 * List tools over a store of N records each (daemons, hosts, networks, topologies, tunnels; no
 * containers behind them, so Docker answers one empty label query), in process: median and p90
 * of each tool in milliseconds. Used by bench/standup.ts; `npx tsx bench/lists.ts [N]` alone.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { createLab } from '../src/core/lab.js';
import { emptyState, type StoreState } from '../src/core/store/schema.js';
import { planTopology } from '../src/core/topology/plan.js';
import { reserve } from '../src/core/topology/records.js';
import { resolveTopology } from '../src/core/topology/resolve.js';
import { parseTopology } from '../src/core/topology/spec.js';
import { workOf } from '../src/core/topology/standup-steps.js';
import { runTool } from '../tools/index.js';
import { ringSpec } from './spec.js';

export const LIST_TOOLS = ['daemon_list', 'host_list', 'network_list', 'topology_list', 'tunnel_list'] as const;

/** A store with `n` daemons, hosts, networks, topologies and tunnels, as a standup would record them. */
export function seededState(n: number, id: string): StoreState {
  const s = emptyState();
  s.id = id;
  const name = 'scalelist';
  const spec = parseTopology({ spec: ringSpec(name, 2 * n, 201) });
  const desired = resolveTopology(spec, s);
  const facts = { containers: new Map(), networks: new Set<string>(), containerIds: new Map() };
  reserve(s, desired, workOf(desired, planTopology(desired, s, facts), facts));
  const at = new Date().toISOString();
  for (let i = 0; i < n; i++) {
    s.topologies[`scalelist${i}`] = {
      name: `scalelist${i}`,
      spec: ringSpec(`scalelist${i}`, 4, 201),
      created_at: at,
      updated_at: at,
      deployed: false,
    };
    const [a, b] = [`${name}-r${i}`, `${name}-r${(i + 1) % n}`];
    s.tunnels[`t${i}`] = {
      name: `t${i}`,
      mode: 'vxlan',
      underlay: `${name}-core`,
      a: { container: a, tunnel_ip: `172.31.${i >> 6}.${(i & 63) * 4 + 1}/30`, underlay_ip: '10.201.0.1' },
      b: { container: b, tunnel_ip: `172.31.${i >> 6}.${(i & 63) * 4 + 2}/30`, underlay_ip: '10.201.0.2' },
      key: 1000 + i,
      ttl: 64,
      mtu: 1450,
      created_at: at,
    };
  }
  return s;
}

/** Median and p90 (ms) of each list tool over `rounds` calls, against a store seeded with `n` of each. */
export async function benchLists(n = 500, rounds = 30): Promise<Record<string, { median: number; p90: number; count: number }>> {
  const dir = mkdtempSync(join(tmpdir(), 'nslab-bench-lists-'));
  try {
    const id = `bench-lists-${process.pid}`;
    writeFileSync(join(dir, 'store-id'), `${id}\n`);
    writeFileSync(join(dir, 'state.json'), JSON.stringify(seededState(n, id)), { mode: 0o600 });
    const lab = createLab(loadConfig({ ...process.env, NSLAB_DATA_DIR: dir }, {}, join(import.meta.dirname, '..')));
    await lab.engine.ready();
    const out: Record<string, { median: number; p90: number; count: number }> = {};
    for (const tool of LIST_TOOLS) {
      const times: number[] = [];
      let count = 0;
      for (let i = 0; i < rounds; i++) {
        const t = performance.now();
        const r = await runTool(lab, tool, {});
        times.push(performance.now() - t);
        if (!r.ok) throw new Error(`${tool}: ${r.error.toText()}`);
        const first = Object.values(r.result as Record<string, unknown>).find(Array.isArray) as unknown[] | undefined;
        count = first?.length ?? 0;
      }
      times.sort((a, b) => a - b);
      out[tool] = { median: times[Math.floor(rounds / 2)] as number, p90: times[Math.floor(rounds * 0.9)] as number, count };
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await benchLists(Number(process.argv[2] ?? 500));
  for (const [k, v] of Object.entries(r))
    process.stdout.write(`${k}: ${v.count} objects, median ${v.median.toFixed(1)} ms, p90 ${v.p90.toFixed(1)} ms\n`);
}
