/**
 * Benchmark (not a test): topology standup and teardown of N nodes against two baselines measured
 * in the same run on the same engine and reported as ratios:
 * - the CLI baseline: the same Docker work with the docker CLI in parallel (create the networks
 *   with their forwarding rules, create the containers from the same images, copy in the same
 *   config files, connect them to their other networks, start them);
 * - the lean baseline, the limit: the Engine API directly, in parallel (networks, then per node
 *   create, connect, start; then remove the containers and networks), no files, no rules.
 * Also the time from standup's return until every BGP session is Established, topology_status of
 * the whole lab, memory and idle CPU per node by kind, the server's RSS, and the list tools over
 * 500 records each (in process, median).
 *
 *   npm run bench                      # 10, 30 and 100 nodes, and the 200-container ring
 *   npm run bench -- 10 30             # chosen sizes (segments of 10 nodes)
 *   npm run bench -- ring:100          # a ring of 50 routers (FRR/GoBGP), each with a host on its own LAN
 *   NSLAB_BENCH_PREFIX=scale npm run bench -- ring:200   # topology names start with "scale" (on a shared engine)
 *
 * The 1-minute load average is reported before each size and after each standup (a shared
 * machine makes absolute times meaningless; the ratios are measured side by side).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import pLimit from 'p-limit';
import { loadConfig } from '../src/config.js';
import { drivers } from '../src/core/bgp/index.js';
import { bgpConfig } from '../src/core/daemon-config.js';
import type { CallEntry } from '../src/core/docker/dial.js';
import { createLab, type Lab } from '../src/core/lab.js';
import { bridgeName } from '../src/core/networks.js';
import { emptyState } from '../src/core/store/schema.js';
import { resolveTopology } from '../src/core/topology/resolve.js';
import { parseTopology } from '../src/core/topology/spec.js';
import { nodeRecord } from '../src/core/topology/standup.js';
import { runTool } from '../tools/index.js';
import { benchLists } from './lists.js';
import { ringSpec, spec } from './spec.js';

const sh = promisify(execFile);
const docker = (...args: string[]) => sh('docker', args, { maxBuffer: 16 * 1024 * 1024 });
const root = join(import.meta.dirname, '..');
const CONCURRENCY = 8;
/** Put before every topology name the benchmark makes (baselines too), e.g. "scale". */
const PREFIX = process.env.NSLAB_BENCH_PREFIX ?? '';
const load = () => Number((loadavg()[0] ?? 0).toFixed(1));

type Layout = { label: string; n: number; spec: (name: string, octet: number) => Record<string, unknown> };

function layoutOf(arg: string): Layout | undefined {
  const ring = /^ring:(\d+)$/.exec(arg);
  if (ring) return { label: `ring:${ring[1]}`, n: Number(ring[1]), spec: (name, octet) => ringSpec(name, Number(ring[1]), octet) };
  const n = Number(arg);
  return n > 0 ? { label: String(n), n, spec: (name, octet) => spec(name, n, octet) } : undefined;
}

const secs = (t0: number) => (Date.now() - t0) / 1000;

// biome-ignore lint/suspicious/noExplicitAny: a benchmark reads a few known fields of tool results
async function call(lab: Lab, tool: string, args: unknown): Promise<Record<string, any>> {
  const r = await runTool(lab, tool, args);
  if (!r.ok) throw new Error(`${tool}: ${r.error.toText()}`);
  return r.result;
}

/** The same Docker work as a standup, with the docker CLI, in parallel. */
async function baselineUp(lab: Lab, layout: Layout): Promise<{ up: number; down: () => Promise<number> }> {
  const s = parseTopology({ spec: layout.spec(`${PREFIX}bl${layout.n}`, 201) });
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
  const byName = new Map(d.nodes.map((x) => [x.name, x]));
  const dir = mkdtempSync(join(tmpdir(), 'nslab-bench-'));
  const limit = pLimit(CONCURRENCY);
  const t0 = Date.now();
  // A baseline that fails part way removes what it made before the error goes on.
  const cleanup = async () => {
    await Promise.all(d.nodes.map((node) => limit(() => docker('rm', '-f', node.name).catch(() => undefined))));
    for (const net of d.networks) {
      await docker('network', 'rm', net.name).catch(() => undefined);
      const br = bridgeName(net.name);
      await sh('iptables', ['-w', '5', '-D', 'DOCKER-USER', '-i', br, '-o', br, '-j', 'ACCEPT']).catch(() => undefined);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
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
                ? [
                    {
                      path: '/etc/nslab/gateway',
                      content: `${byName.get(node.gateway)?.interfaces.find((i) => i.network === node.interfaces[0]?.network)?.ip}\n`,
                    },
                  ]
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
  } catch (err) {
    await cleanup();
    throw err;
  }
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

/** Memory (cgroup usage less page cache, MiB) and CPU (% of one core) of the topology's containers, per node and by kind. */
async function perNode(nodes: Array<{ name: string; kind: string }>): Promise<{
  perNode: number;
  byKind: Record<string, { mib: number; cpu: number; count: number }>;
}> {
  const kindOf = new Map(nodes.map((x) => [x.name, x.kind]));
  const out = await docker('stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}} {{.CPUPerc}}', ...nodes.map((x) => x.name));
  const byKind: Record<string, { mib: number[]; cpu: number[] }> = {};
  let total = 0;
  for (const line of out.stdout.trim().split('\n')) {
    const [name, usage, , , cpu] = line.split(' ');
    const m = /^([\d.]+)(KiB|MiB|GiB)/.exec(usage ?? '');
    if (!m) continue;
    const mib = Number(m[1]) * ({ KiB: 1 / 1024, MiB: 1, GiB: 1024 } as Record<string, number>)[m[2] as string]!;
    total += mib;
    const kind = kindOf.get(name ?? '') ?? '?';
    byKind[kind] ??= { mib: [], cpu: [] };
    const k = byKind[kind];
    k.mib.push(mib);
    k.cpu.push(Number.parseFloat(cpu ?? '0') || 0);
  }
  const avg = (v: number[]) => v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
  return {
    perNode: total / nodes.length,
    byKind: Object.fromEntries(Object.entries(byKind).map(([k, v]) => [k, { mib: avg(v.mib), cpu: avg(v.cpu), count: v.mib.length }])),
  };
}

/**
 * The lean baseline: the same containers and networks through the Engine API directly, in
 * parallel (networks all at once, nodes CONCURRENCY at a time: create, connect, start), with no
 * files copied and no forwarding rules; then removed the same way.
 *
 * Every container keeps running, as the lab's do: FRR starts its daemons with no BGP
 * configuration, and GoBGP runs gobgpd with no configuration file (waiting to be configured
 * through its API). The GoBGP image's own entrypoint refuses to start without
 * /etc/gobgp/gobgpd.toml, so through it (until the fifth pass) half the lean routers exited at
 * once, and were then cheaper to start around and to remove than running ones.
 */
async function leanUp(lab: Lab, layout: Layout): Promise<{ up: number; down: () => Promise<number> }> {
  const d = resolveTopology(parseTopology({ spec: layout.spec(`${PREFIX}lean${layout.n}`, 201) }), emptyState());
  const images: Record<string, string> = {};
  for (const k of ['frr', 'gobgp', 'exabgp', 'host'] as const) images[k] = await lab.images.ensure(k);
  const { containers, networks } = lab.engine;
  const limit = pLimit(CONCURRENCY);
  const netIds = new Map<string, string>();
  const ids: string[] = [];
  const t0 = Date.now();
  try {
    await Promise.all(
      d.networks.map(async (net) => {
        const id = await networks.create(
          {
            Name: net.name,
            Driver: 'bridge',
            Internal: true,
            CheckDuplicate: true,
            IPAM: { Driver: 'default', Config: [{ Subnet: net.subnet, Gateway: net.gateway }] },
          },
          { 'netstream-lab.bench': '1' },
        );
        netIds.set(net.name, id);
      }),
    );
    await Promise.all(
      d.nodes.map((node) =>
        limit(async () => {
          const [first, ...rest] = node.interfaces;
          if (!first) return;
          const id = await containers.create(
            node.role === 'daemon' ? 'daemon' : 'host',
            {
              name: node.name,
              Hostname: node.name,
              Image: images[node.role === 'daemon' ? node.kind : 'host'],
              ...(node.role === 'daemon' && node.kind === 'gobgp'
                ? { Entrypoint: ['gobgpd', '--api-hosts=127.0.0.1:50051', '--pprof-disable'] }
                : {}),
              HostConfig: {
                NetworkMode: first.network,
                CapAdd: ['NET_ADMIN', 'NET_RAW', 'SYS_ADMIN'],
                Sysctls: { 'net.ipv4.ip_forward': '1', 'net.ipv4.conf.all.rp_filter': '0', 'net.ipv4.conf.default.rp_filter': '0' },
              },
              NetworkingConfig: { EndpointsConfig: { [first.network]: { IPAMConfig: { IPv4Address: first.ip } } } },
            },
            { 'netstream-lab.bench': '1' },
          );
          ids.push(id);
          for (const i of rest) await networks.connect(netIds.get(i.network) as string, id, i.ip);
          await containers.start(id);
        }),
      ),
    );
  } catch (err) {
    await Promise.all(ids.map((id) => limit(() => containers.remove(id).catch(() => undefined))));
    await Promise.all([...netIds.values()].map((id) => networks.remove(id).catch(() => undefined)));
    throw err;
  }
  const up = secs(t0);
  // not timed: that the lean run's containers run as the lab's do (see above)
  const running = (await docker('ps', '-q', '--filter', 'label=netstream-lab.bench=1', '--filter', 'status=running')).stdout
    .trim()
    .split('\n')
    .filter(Boolean).length;
  process.stdout.write(`  lean run: ${running} of ${ids.length} containers running after its standup\n`);
  return {
    up,
    down: async () => {
      const t1 = Date.now();
      await Promise.all(ids.map((id) => limit(() => containers.remove(id))));
      await Promise.all([...netIds.values()].map((id) => networks.remove(id)));
      return secs(t1);
    },
  };
}

/**
 * How the containers started: restarts Docker made (RestartCount) by kind, and each FRR
 * container's own start time and attempt as its entrypoint logged them ("FRR started in N s
 * (attempt k of m)").
 */
async function starts(nodes: Array<{ name: string; kind: string }>): Promise<{
  restarts: Record<string, number>;
  frr: { n: number; median: number; max: number; retried: number };
}> {
  const kindOf = new Map(nodes.map((x) => [x.name, x.kind]));
  const out = await docker('inspect', '-f', '{{.Name}} {{.RestartCount}}', ...nodes.map((x) => x.name));
  const restarts: Record<string, number> = {};
  for (const line of out.stdout.trim().split('\n')) {
    const [name, count] = line.replace(/^\//, '').split(' ');
    const kind = kindOf.get(name ?? '') ?? '?';
    restarts[kind] = (restarts[kind] ?? 0) + Number(count ?? 0);
  }
  const times: number[] = [];
  let retried = 0;
  const limit = pLimit(CONCURRENCY);
  await Promise.all(
    nodes
      .filter((x) => x.kind === 'frr')
      .map((x) =>
        limit(async () => {
          const logs = await sh('docker', ['logs', x.name], { maxBuffer: 16 * 1024 * 1024 });
          for (const m of `${logs.stdout}${logs.stderr}`.matchAll(/FRR started in (\d+) s \(attempt (\d+)/g)) {
            times.push(Number(m[1]));
            if (Number(m[2]) > 1) retried++;
          }
        }),
      ),
  );
  times.sort((a, b) => a - b);
  return {
    restarts,
    frr: { n: times.length, median: times[Math.floor(times.length / 2)] ?? 0, max: times.at(-1) ?? 0, retried },
  };
}

/**
 * CPU each container used over `seconds` at rest, by kind, in ms of CPU per second (1000 = one
 * core), from the engine's cgroup counters (cgroup v1 cpuacct or v2 cpu.stat, on this machine);
 * undefined where they cannot be read (a remote engine). Sampled once before and once after, so
 * short processes (an entrypoint's `sleep`) count too, which `docker stats` misses.
 */
async function idleCpu(nodes: Array<{ name: string; kind: string }>, seconds = 10): Promise<Record<string, number> | undefined> {
  const ids = (await docker('inspect', '-f', '{{.Id}}', ...nodes.map((x) => x.name))).stdout.trim().split('\n');
  const usage = (id: string): number | undefined => {
    try {
      return Number(readFileSync(`/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`, 'utf8')) / 1e6;
    } catch {
      try {
        const m = /usage_usec (\d+)/.exec(readFileSync(`/sys/fs/cgroup/system.slice/docker-${id}.scope/cpu.stat`, 'utf8'));
        return m ? Number(m[1]) / 1e3 : undefined;
      } catch {
        return undefined;
      }
    }
  };
  const before = ids.map(usage);
  if (before.some((u) => u === undefined)) return undefined;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const after = ids.map(usage);
  const sum: Record<string, { ms: number; n: number }> = {};
  nodes.forEach((x, i) => {
    sum[x.kind] ??= { ms: 0, n: 0 };
    const k = sum[x.kind] as { ms: number; n: number };
    k.ms += ((after[i] as number) - (before[i] as number)) / seconds;
    k.n++;
  });
  return Object.fromEntries(Object.entries(sum).map(([k, v]) => [k, v.ms / v.n]));
}

/** Median of `rounds` calls of topology_status on the whole lab, in seconds. */
async function statusTime(lab: Lab, name: string, rounds = 3): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t = Date.now();
    await call(lab, 'topology_status', { name });
    times.push(secs(t));
  }
  return times.sort((a, b) => a - b)[Math.floor(rounds / 2)] as number;
}

/** Engine API calls by operation (count, total ms) while `on`: where standup and teardown spend their time. */
class Calls {
  on = false;
  by = new Map<string, { n: number; ms: number }>();
  readonly log = (e: CallEntry) => {
    if (!this.on) return;
    const x = this.by.get(e.op) ?? { n: 0, ms: 0 };
    x.n++;
    x.ms += e.ms;
    this.by.set(e.op, x);
  };
  async during<T>(f: () => Promise<T>): Promise<[T, Map<string, { n: number; ms: number }>]> {
    this.by = new Map();
    this.on = true;
    try {
      return [await f(), this.by];
    } finally {
      this.on = false;
    }
  }
}
const calls = new Calls();
type Ops = Map<string, { n: number; ms: number }>;

async function benchSize(lab: Lab, layout: Layout) {
  // Both baselines first, then netstream-lab, on the same engine in the same run.
  const loadBefore = load();
  const bl = await baselineUp(lab, layout);
  const blDown = await bl.down();
  const [lean, leanUpOps] = await calls.during(() => leanUp(lab, layout));
  const [leanDown, leanDownOps] = await calls.during(() => lean.down());
  const name = `${PREFIX}bench${layout.label.replace(':', '')}`;
  await call(lab, 'topology_create', { spec: layout.spec(name, 200), replace: true });
  let up: number;
  let loadAfterUp: number;
  let established: number;
  let st: Awaited<ReturnType<typeof call>>;
  let status: Awaited<ReturnType<typeof call>>;
  let statusS: number;
  let waited: number;
  let statusCold: number;
  let idle: Record<string, number> | undefined;
  let mem: Awaited<ReturnType<typeof perNode>>;
  let started: Awaited<ReturnType<typeof starts>>;
  let rss: number;
  let upOps: Ops;
  try {
    const t0 = Date.now();
    [, upOps] = await calls.during(() => call(lab, 'topology_standup', { name, concurrency: CONCURRENCY }));
    up = secs(t0);
    loadAfterUp = load();
    const t1 = Date.now();
    st = await call(lab, 'topology_standup', { name, wait_established_s: 120 });
    established = secs(t1);
    waited = (st.established?.waited_s as number | undefined) ?? established;
    status = await call(lab, 'topology_status', { name });
    statusS = await statusTime(lab, name);
    // the first status of a server that has no reader open yet (each daemon's reader is started)
    for (const { engine } of lab.placement.all()) {
      engine.execs.readers.closeAll();
      engine.execs.relays.closeAll();
    }
    statusCold = await statusTime(lab, name, 1);
    idle = await idleCpu(status.nodes);
    mem = await perNode(status.nodes);
    started = await starts(status.nodes);
    rss = process.memoryUsage().rss / 1048576;
  } catch (err) {
    // A failed standup rolls itself back; anything after it leaves the lab up, so take it down.
    await runTool(lab, 'topology_teardown', { name }).catch(() => undefined);
    await runTool(lab, 'topology_delete', { name }).catch(() => undefined);
    throw err;
  }
  const t2 = Date.now();
  const [, downOps] = await calls.during(() => call(lab, 'topology_teardown', { name }));
  const down = secs(t2);
  await call(lab, 'topology_delete', { name });
  return {
    size: layout.label,
    containers: status.nodes.length,
    sessions: status.sessions.length,
    allEstablished: st.established?.all,
    // sessions still down when the wait ended, and Established as the status read right after saw them
    notEstablished: (st.established?.not_established ?? []).length as number,
    establishedAtStatus: (status.sessions as Array<{ a_state?: string; b_state?: string }>).filter(
      (x) => x.a_state === 'Established' && x.b_state === 'Established',
    ).length,
    up,
    blUp: bl.up,
    leanUp: lean.up,
    down,
    blDown,
    leanDown,
    established,
    waited,
    statusS,
    statusCold,
    idle,
    mem,
    rss,
    loadBefore,
    loadAfterUp,
    started,
    ops: { upOps, leanUpOps, downOps, leanDownOps },
  };
}

/** `count x mean ms` of one operation, or a dash. */
function opCell(ops: Ops, op: string): string {
  const x = ops.get(op);
  return x ? `${x.n} x ${Math.round(x.ms / x.n)} ms` : '-';
}

async function main() {
  const args = process.argv.slice(2);
  const layouts = (args.length ? args : ['10', '30', '100', 'ring:200']).map((a) => {
    const l = layoutOf(a);
    if (!l) throw new Error(`a size is a number of nodes (10) or ring:<containers> (ring:200), not '${a}'`);
    return l;
  });
  const lab = createLab(loadConfig({ ...process.env, NSLAB_DATA_DIR: mkdtempSync(join(tmpdir(), 'nslab-bench-store-')) }, {}, root), {
    callLog: calls.log,
  });
  await lab.engine.ready();
  const rows = [];
  for (const layout of layouts) {
    process.stderr.write(`benchmarking ${layout.label}...\n`);
    const r = await benchSize(lab, layout);
    process.stderr.write(`${JSON.stringify(r)}\n`);
    rows.push(r);
  }
  const lists = await benchLists(500);
  const f = (x: number) => x.toFixed(1);
  const x = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  process.stdout.write(
    '| size | containers | sessions | standup | CLI baseline | lean | ratio CLI / lean | teardown | CLI baseline | lean | ratio CLI / lean | all Established after standup | topology_status (warm / first) | server RSS |\n',
  );
  process.stdout.write('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n');
  for (const r of rows) {
    process.stdout.write(
      `| ${r.size} | ${r.containers} | ${r.sessions} | ${f(r.up)} s | ${f(r.blUp)} s | ${f(r.leanUp)} s | ${x(r.up, r.blUp)} / ${x(r.up, r.leanUp)} | ${f(r.down)} s | ${f(r.blDown)} s | ${f(r.leanDown)} s | ${x(r.down, r.blDown)} / ${x(r.down, r.leanDown)} | ${f(r.waited)} s (call ${f(r.established)} s)${r.allEstablished ? '' : ` (not all: ${r.notEstablished} down when the wait ended, ${r.establishedAtStatus}/${r.sessions} at the status read after)`} | ${r.statusS.toFixed(2)} s / ${r.statusCold.toFixed(2)} s | ${Math.round(r.rss)} MiB |\n`,
    );
  }
  process.stdout.write(
    '\n| size | Engine API call (standup / teardown) | netstream-lab: calls x mean latency | lean baseline |\n|---|---|---:|---:|\n',
  );
  for (const r of rows) {
    const { upOps, leanUpOps, downOps, leanDownOps } = r.ops;
    for (const op of [
      'network.create',
      'container.create',
      'container.put_archive',
      'network.connect',
      'container.start',
      'container.inspect',
    ])
      process.stdout.write(`| ${r.size} | ${op} | ${opCell(upOps, op)} | ${opCell(leanUpOps, op)} |\n`);
    for (const op of ['container.remove', 'network.remove'])
      process.stdout.write(`| ${r.size} | ${op} | ${opCell(downOps, op)} | ${opCell(leanDownOps, op)} |\n`);
  }
  process.stdout.write('\n| size | load average (1 min) before / after standup |\n|---|---|\n');
  for (const r of rows) process.stdout.write(`| ${r.size} | ${r.loadBefore} / ${r.loadAfterUp} |\n`);
  process.stdout.write(
    '\n| size | FRR start (entrypoint): median / max | FRR started on a later attempt | Docker restarts by kind |\n|---|---:|---:|---|\n',
  );
  for (const r of rows) {
    const s = r.started;
    process.stdout.write(
      `| ${r.size} | ${s.frr.median} s / ${s.frr.max} s (${s.frr.n} starts) | ${s.frr.retried} | ${Object.entries(s.restarts)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')} |\n`,
    );
  }
  process.stdout.write('\n| size | memory per node | by kind: MiB at rest, idle CPU % of a core |\n|---|---:|---|\n');
  for (const r of rows) {
    const kinds = Object.entries(r.mem.byKind)
      .map(([k, v]) => `${k} ${f(v.mib)} MiB ${v.cpu.toFixed(2)}%`)
      .join(', ');
    process.stdout.write(`| ${r.size} | ${f(r.mem.perNode)} MiB | ${kinds} |\n`);
  }
  process.stdout.write('\n| size | idle CPU per node over 10 s at rest (cgroup counters), ms of CPU per s |\n|---|---|\n');
  for (const r of rows) {
    const v = r.idle
      ? Object.entries(r.idle)
          .map(([k, ms]) => `${k} ${ms.toFixed(1)}`)
          .join(', ')
      : 'cgroup counters not readable here';
    process.stdout.write(`| ${r.size} | ${v} |\n`);
  }
  process.stdout.write('\n| list tool (500 records, in process) | median | p90 |\n|---|---:|---:|\n');
  for (const [k, v] of Object.entries(lists)) process.stdout.write(`| ${k} | ${v.median.toFixed(1)} ms | ${v.p90.toFixed(1)} ms |\n`);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
