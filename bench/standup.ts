/**
 * Benchmark (not a test): topology standup and teardown of N nodes against a baseline that does
 * the same Docker work with the docker CLI in parallel (create the networks with their forwarding
 * rules, create the containers from the same images, copy in the same config files, connect them
 * to their other networks, start them), measured in the same run and reported as ratios. Also the
 * time from standup's return until every BGP session is Established, and memory per node.
 *
 *   npm run bench                 # 10, 30 and 100 nodes
 *   npm run bench -- 10 30        # chosen sizes
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import pLimit from 'p-limit';
import { loadConfig } from '../src/config.js';
import { drivers } from '../src/core/bgp/index.js';
import { bgpConfig } from '../src/core/daemon-config.js';
import { createLab, type Lab } from '../src/core/lab.js';
import { bridgeName } from '../src/core/networks.js';
import { emptyState } from '../src/core/store/schema.js';
import { resolveTopology } from '../src/core/topology/resolve.js';
import { parseTopology } from '../src/core/topology/spec.js';
import { nodeRecord } from '../src/core/topology/standup.js';
import { runTool } from '../tools/index.js';
import { KINDS, spec } from './spec.js';

const sh = promisify(execFile);
const docker = (...args: string[]) => sh('docker', args, { maxBuffer: 16 * 1024 * 1024 });
const root = join(import.meta.dirname, '..');
const CONCURRENCY = 8;

const secs = (t0: number) => (Date.now() - t0) / 1000;

// biome-ignore lint/suspicious/noExplicitAny: a benchmark reads a few known fields of tool results
async function call(lab: Lab, tool: string, args: unknown): Promise<Record<string, any>> {
  const r = await runTool(lab, tool, args);
  if (!r.ok) throw new Error(`${tool}: ${r.error.toText()}`);
  return r.result;
}

/** The same Docker work as a standup, with the docker CLI, in parallel. */
async function baselineUp(lab: Lab, n: number): Promise<{ up: number; down: () => Promise<number> }> {
  const s = parseTopology({ spec: spec(`bl${n}`, n, 201) });
  const d = resolveTopology(s, emptyState());
  const state = emptyState();
  for (const net of d.networks)
    state.networks[net.name] = {
      name: net.name,
      subnet: net.subnet,
      gateway: net.gateway,
      driver: 'bridge',
      internal: true,
      created_at: '',
      allocations: {},
    };
  const images: Record<string, string> = {};
  for (const k of ['frr', 'gobgp', 'exabgp', 'host'] as const) images[k] = await lab.images.ensure(k);
  const dir = mkdtempSync(join(tmpdir(), 'nslab-bench-'));
  const limit = pLimit(CONCURRENCY);
  const t0 = Date.now();
  await Promise.all(
    d.networks.map(async (net) => {
      const br = bridgeName(net.name);
      await docker(
        'network',
        'create',
        '--internal',
        '--subnet',
        net.subnet,
        '--gateway',
        net.gateway,
        '-o',
        `com.docker.network.bridge.name=${br}`,
        '--label',
        'netstream-lab.bench=1',
        net.name,
      );
      await sh('iptables', ['-w', '5', '-I', 'DOCKER-USER', '-i', br, '-o', br, '-j', 'ACCEPT']);
    }),
  );
  await Promise.all(
    d.nodes.map((node) =>
      limit(async () => {
        const rec = nodeRecord(node, d.topology);
        const kind = node.role === 'daemon' ? node.kind : 'host';
        const files =
          node.role === 'daemon' && 'kind' in rec
            ? drivers[node.kind].render(bgpConfig(rec, state))
            : node.role === 'host' && node.gateway
              ? [{ path: '/etc/nslab/gateway', content: `${d.nodes.find((x) => x.name === node.gateway)?.interfaces[0]?.ip}\n` }]
              : [];
        const fdir = join(dir, node.name);
        for (const f of files) {
          mkdirSync(join(fdir, dirname(f.path)), { recursive: true });
          writeFileSync(join(fdir, f.path), f.content);
        }
        const [first, ...rest] = node.interfaces;
        if (!first) return;
        await docker(
          'create',
          '--name',
          node.name,
          '--hostname',
          node.name,
          '--network',
          first.network,
          '--ip',
          first.ip,
          '--cap-add',
          'NET_ADMIN',
          '--cap-add',
          'NET_RAW',
          '--cap-add',
          'SYS_ADMIN',
          '--sysctl',
          'net.ipv4.ip_forward=1',
          '--sysctl',
          'net.ipv4.conf.all.rp_filter=0',
          '--sysctl',
          'net.ipv4.conf.default.rp_filter=0',
          '--restart',
          'unless-stopped',
          '--label',
          'netstream-lab.bench=1',
          images[kind] as string,
        );
        for (const i of rest) await docker('network', 'connect', '--ip', i.ip, i.network, node.name);
        if (files.length) await docker('cp', `${fdir}/.`, `${node.name}:/`);
        await docker('start', node.name);
      }),
    ),
  );
  const up = secs(t0);
  return {
    up,
    down: async () => {
      const t1 = Date.now();
      await Promise.all(d.nodes.map((node) => limit(() => docker('rm', '-f', node.name))));
      await Promise.all(
        d.networks.map(async (net) => {
          await docker('network', 'rm', net.name);
          await sh('iptables', [
            '-w',
            '5',
            '-D',
            'DOCKER-USER',
            '-i',
            bridgeName(net.name),
            '-o',
            bridgeName(net.name),
            '-j',
            'ACCEPT',
          ]).catch(() => undefined);
        }),
      );
      rmSync(dir, { recursive: true, force: true });
      return secs(t1);
    },
  };
}

/** Memory of the topology's containers (cgroup usage less page cache), in MiB per node. */
async function memoryPerNode(names: string[]): Promise<{ perNode: number; byKind: Record<string, number> }> {
  const out = await docker('stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}}', ...names);
  const byKind: Record<string, number[]> = {};
  let total = 0;
  for (const line of out.stdout.trim().split('\n')) {
    const [name, usage] = line.split(' ');
    const m = /^([\d.]+)(KiB|MiB|GiB)/.exec(usage ?? '');
    if (!m) continue;
    const mib = Number(m[1]) * ({ KiB: 1 / 1024, MiB: 1, GiB: 1024 } as Record<string, number>)[m[2] as string]!;
    total += mib;
    const kind = /-h\d+$/.test(name ?? '') ? 'host' : (KINDS[Number(/-r(\d+)$/.exec(name ?? '')?.[1] ?? 0) % 3] as string);
    byKind[kind] = [...(byKind[kind] ?? []), mib];
  }
  return {
    perNode: total / names.length,
    byKind: Object.fromEntries(Object.entries(byKind).map(([k, v]) => [k, v.reduce((a, b) => a + b, 0) / v.length])),
  };
}

async function benchSize(lab: Lab, n: number) {
  // Baseline first, then netstream-lab, on the same engine in the same run.
  const bl = await baselineUp(lab, n);
  const blDown = await bl.down();
  const name = `bench${n}`;
  await call(lab, 'topology_create', { spec: spec(name, n, 200), replace: true });
  const t0 = Date.now();
  await call(lab, 'topology_standup', { name, concurrency: CONCURRENCY });
  const up = secs(t0);
  const t1 = Date.now();
  const st = await call(lab, 'topology_standup', { name, wait_established_s: 120 });
  const established = secs(t1);
  const status = await call(lab, 'topology_status', { name });
  const mem = await memoryPerNode(status.nodes.map((x: { name: string }) => x.name));
  const rss = process.memoryUsage().rss / 1048576;
  const t2 = Date.now();
  await call(lab, 'topology_teardown', { name });
  const down = secs(t2);
  await call(lab, 'topology_delete', { name });
  return { n, sessions: status.sessions.length, allEstablished: st.established?.all, up, blUp: bl.up, down, blDown, established, mem, rss };
}

async function main() {
  const sizes = process.argv
    .slice(2)
    .map(Number)
    .filter((x) => x > 0);
  const lab = createLab(loadConfig({ ...process.env, NSLAB_DATA_DIR: mkdtempSync(join(tmpdir(), 'nslab-bench-store-')) }, {}, root));
  await lab.engine.ready();
  const rows = [];
  for (const n of sizes.length ? sizes : [10, 30, 100]) {
    process.stderr.write(`benchmarking ${n} nodes...\n`);
    const r = await benchSize(lab, n);
    process.stderr.write(`${JSON.stringify(r)}\n`);
    rows.push(r);
  }
  const f = (x: number) => x.toFixed(1);
  process.stdout.write(
    '| nodes | sessions | standup | baseline | ratio | teardown | baseline | ratio | all Established after standup | container memory per node | server RSS |\n',
  );
  process.stdout.write('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n');
  for (const r of rows) {
    const kinds = Object.entries(r.mem.byKind)
      .map(([k, v]) => `${k} ${f(v)}`)
      .join(', ');
    process.stdout.write(
      `| ${r.n} | ${r.sessions} | ${f(r.up)} s | ${f(r.blUp)} s | ${(r.up / r.blUp).toFixed(2)}x | ${f(r.down)} s | ${f(r.blDown)} s | ${(r.down / r.blDown).toFixed(2)}x | ${f(r.established)} s${r.allEstablished ? '' : ' (not all)'} | ${f(r.mem.perNode)} MiB (${kinds}) | ${Math.round(r.rss)} MiB |\n`,
    );
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
