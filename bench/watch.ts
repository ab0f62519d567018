/**
 * Benchmark (not a test): what watching a lab costs. `nslab serve` with an N-node lab (bench/spec.ts)
 * is measured for 60 s with nobody listening (the baseline: a slow heartbeat read of the sessions),
 * then for 60 s with one Server-Sent Events reader on GET /events (sessions read every
 * NSLAB_WATCH_INTERVAL_S): the server's CPU (utime + stime from /proc) and resident memory. Then a
 * router is killed with `docker kill`, and the time until the reader hears node_died is reported.
 *
 *   npx tsx bench/watch.ts          # 30 nodes
 *   npx tsx bench/watch.ts 60
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { spec } from './spec.js';

const sh = promisify(execFile);
const root = join(import.meta.dirname, '..');
const n = Number(process.argv[2] ?? 30);
const TOKEN = 'bench-watch-token-0123456789abcdef';
/** USER_HZ: the unit of utime and stime in /proc/<pid>/stat on Linux */
const TICK = 100;

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const parts = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(parts[11]) + Number(parts[12])) / TICK;
}
const rssMb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

async function main(): Promise<void> {
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    NSLAB_DATA_DIR: mkdtempSync(join(tmpdir(), 'nslab-bench-watch-')),
    NSLAB_HTTP_TOKEN: TOKEN,
    NSLAB_EXTRA_LABELS: 'netstream-lab.bench=watch',
  };
  const child = spawn(process.execPath, [join(root, 'dist', 'src', 'cli', 'main.js'), 'serve', '--port', '0'], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve((JSON.parse(out.split('\n')[0] as string) as { listening: string }).listening);
    });
    child.once('exit', (code) => reject(new Error(`nslab serve exited with ${code}`)));
  });
  const pid = child.pid as number;
  const api = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
    return r.json() as Promise<Record<string, unknown>>;
  };
  const name = 'bench-watch';
  try {
    await api('POST', '/topologies', { spec: spec(name, n, 191), replace: true });
    const up = (await api('POST', '/topology/standup', { name, wait_established_s: 180 })) as { established?: { all: boolean } };
    process.stderr.write(`${n} nodes up, all sessions Established: ${up.established?.all}\n`);
    const measure = async (label: string) => {
      const c0 = cpuSeconds(pid);
      await new Promise((r) => setTimeout(r, 60_000));
      const cpu = ((cpuSeconds(pid) - c0) / 60) * 100;
      process.stderr.write(`${label}: ${cpu.toFixed(2)}% of a core, RSS ${rssMb(pid).toFixed(0)} MB\n`);
      return { cpu, rss: rssMb(pid) };
    };
    await new Promise((r) => setTimeout(r, 10_000));
    const idle = await measure('nobody listening');
    // One SSE reader: the stream reads the sessions every NSLAB_WATCH_INTERVAL_S from now on.
    const ctrl = new AbortController();
    const res = await fetch(`${url}/events`, { headers: { Authorization: `Bearer ${TOKEN}` }, signal: ctrl.signal });
    const reader = res.body?.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    let buf = '';
    const seen: Array<{ type: string; node?: string; at: number }> = [];
    void (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        buf += Buffer.from(value as Uint8Array).toString();
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const frame = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = /^data: (.*)$/m.exec(frame)?.[1];
          if (data) {
            const e = JSON.parse(data) as { type: string; node?: string };
            seen.push({ ...e, at: Date.now() });
          }
        }
      }
    })();
    await new Promise((r) => setTimeout(r, 10_000));
    const watched = await measure('one SSE reader');
    const victim = `${name}-r1`;
    const t0 = Date.now();
    await sh('docker', ['kill', victim]);
    while (!seen.some((e) => e.at >= t0 && e.type === 'node_died' && e.node === victim) && Date.now() - t0 < 30_000)
      await new Promise((r) => setTimeout(r, 20));
    const died = seen.find((e) => e.at >= t0 && e.type === 'node_died' && e.node === victim);
    while (!seen.some((e) => e.at >= t0 && e.type === 'session_down') && Date.now() - t0 < 30_000)
      await new Promise((r) => setTimeout(r, 20));
    const down = seen.find((e) => e.at >= t0 && e.type === 'session_down');
    ctrl.abort();
    const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
    process.stdout.write(
      [
        line([
          'nodes',
          'server CPU, nobody listening',
          'server CPU, one SSE reader',
          'ratio',
          'RSS',
          'docker kill -> node_died',
          'docker kill -> session_down',
        ]),
        line(['---', '---', '---', '---', '---', '---', '---']),
        line([
          String(n),
          `${idle.cpu.toFixed(2)}% of a core`,
          `${watched.cpu.toFixed(2)}% of a core`,
          `${(watched.cpu / Math.max(idle.cpu, 0.01)).toFixed(1)}x`,
          `${watched.rss.toFixed(0)} MB`,
          died ? `${died.at - t0} ms` : 'not heard',
          down ? `${down.at - t0} ms` : 'not heard',
        ]),
      ]
        .join('\n')
        .concat('\n'),
    );
  } finally {
    await api('POST', '/topology/teardown', { name }).catch((e: Error) => process.stderr.write(`teardown: ${e.message}\n`));
    child.kill('SIGTERM');
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
