import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../../src/core/bgp/index.js';
import type { NeighborStatus } from '../../src/core/bgp/types.js';
import { apiNeighbors, bgpConfig } from '../../src/core/daemons.js';
import type { Lab } from '../../src/core/lab.js';
import { call, root, sweep, testLab, waitFor } from '../helpers/docker.js';

/**
 * Kept readers (src/core/docker/reader.ts, images/common/nslab-reader) and the quiet entrypoints,
 * on a real engine: FRR r1 and GoBGP r2 in session, a host behind r1.
 */
const RUN = `readers-${process.pid}`;
const T = 'rd';
const SPEC = `
name: ${T}
networks:
  core: { subnet: 10.243.0.0/24 }
  lan: { subnet: 10.243.1.0/24 }
nodes:
  r1: { kind: frr, asn: 65101, interfaces: { core: 10.243.0.11, lan: auto }, advertise: [10.243.1.0/24] }
  r2: { kind: gobgp, asn: 65102, interfaces: { core: 10.243.0.12 }, advertise: [192.0.2.0/24] }
  h1: { kind: host, interfaces: { lan: auto }, gateway: r1 }
bgp:
  sessions: [[r1, r2]]
`;

type NodeStatus = { name: string; daemon?: string };
type TopoStatus = { nodes: NodeStatus[]; sessions: Array<{ a_state?: string; b_state?: string }> };

let lab: Lab;
const docker = new Docker();
const c = (n: string) => `${T}-${n}`;
const id = async (n: string) => (await docker.getContainer(c(n)).inspect()).Id;
const pool = () => lab.placement.default.execs.readers;
const status = () => call<TopoStatus>(lab, 'topology_status', { name: T });
const allUp = (s: TopoStatus) =>
  s.sessions.length === 1 && s.sessions.every((x) => x.a_state === 'Established' && x.b_state === 'Established');
/** Processes in a container as `ps` lists them (a one-shot exec, not through the reader). */
const ps = async (n: string) => {
  const r = await lab.placement.default.execs.runListed(await id(n), { command: ['ps', '-eo', 'args'] });
  return r.stdout.split('\n').slice(1).filter(Boolean);
};
const readersIn = async (n: string) => (await ps(n)).filter((l) => l.includes('nslab-reader') && !l.includes('--relay')).length;
const relaysIn = async (n: string) => (await ps(n)).filter((l) => l.includes('nslab-reader --relay 50051')).length;
const relays = () => lab.placement.default.execs.relays;

describe('kept readers and quiet entrypoints on a real engine', () => {
  beforeAll(async () => {
    lab = testLab(RUN);
    await call(lab, 'topology_create', { yaml: SPEC });
    await call(lab, 'topology_standup', { name: T, wait_established_s: 90 });
    await waitFor('the r1-r2 session', async () => (allUp(await status()) ? true : undefined), 60);
    // While gobgpd's API did not answer yet (the first reads of the standup's wait), GoBGP was read
    // the old way, through a reader, and its relay is not tried again for 10 s: start the tests
    // from the steady state, the relay open and no reader anywhere.
    await waitFor('the relay into r2', async () => (allUp(await status()) && relays().size === 1 ? true : undefined), 30);
    pool().closeAll();
    await waitFor('no reader left', async () => ((await readersIn('r1')) + (await readersIn('r2')) === 0 ? true : undefined), 15);
  }, 240_000);

  afterAll(async () => {
    pool().closeAll();
    relays().closeAll();
    await sweep(RUN);
  });

  it('reads each daemon through one kept reader: the same answer as a one-shot exec, and no new exec per read', async () => {
    expect(allUp(await status())).toBe(true);
    expect(await readersIn('r1')).toBe(1);
    // GoBGP is read through its API (a relay, next test), not a reader
    expect(await readersIn('r2')).toBe(0);
    // the host has no daemon to read
    expect(await readersIn('h1')).toBe(0);
    for (let i = 0; i < 5; i++) expect(allUp(await status())).toBe(true);
    // still one: reads reuse it
    expect(await readersIn('r1')).toBe(1);
    expect(pool().size).toBe(1);

    // the reader answers what a one-shot exec of the same command answers (FRR through bgpd's vty socket)
    for (const [n, kind] of [
      ['r1', 'frr'],
      ['r2', 'gobgp'],
    ] as const) {
      const cmd = { command: drivers[kind].neighborsCommand, timeoutS: 10 };
      const cid = await id(n);
      const kept = await lab.placement.default.execs.runListed(cid, { ...cmd, reuse: true });
      const once = await lab.placement.default.execs.runListed(cid, cmd);
      expect(kept.exit_code).toBe(0);
      expect(once.exit_code).toBe(0);
      const pick = (s: string) =>
        drivers[kind]
          .parseNeighbors(s, { asn: 0, router_id: '0.0.0.0', neighbors: [], advertise: [] } as never)
          .map((x) => [x.address, x.asn, x.state]);
      expect(pick(kept.stdout)).toEqual(pick(once.stdout));
      expect(pick(kept.stdout)).toEqual([[n === 'r1' ? '10.243.0.12' : '10.243.0.11', n === 'r1' ? 65102 : 65101, 'Established']]);
    }
    // GoBGP's CLI, asked through a reader, opened one there
    expect(await readersIn('r2')).toBe(1);
  });

  it('reads GoBGP through its gRPC API over one kept relay: what the gobgp CLI says, even with the CLI gone', async () => {
    expect(allUp(await status())).toBe(true);
    for (let i = 0; i < 3; i++) await status();
    // one relay, in the GoBGP container only, however many reads
    expect(await relaysIn('r2')).toBe(1);
    expect(await relaysIn('r1')).toBe(0);
    expect(relays().size).toBe(1);
    const cid = await id('r2');
    const state = await lab.store.read();
    const rec = state.daemons[c('r2')] as NonNullable<(typeof state.daemons)[string]>;
    const viaApi = await apiNeighbors(lab.placement.default.execs, cid, rec, state);
    const cli = await lab.placement.default.execs.runListed(cid, { command: drivers.gobgp.neighborsCommand, timeoutS: 10 });
    expect(cli.exit_code).toBe(0);
    const strip = (xs: NeighborStatus[] | undefined) => xs?.map(({ uptime_s: _u, ...x }) => x);
    const fromCli = drivers.gobgp.parseNeighbors(cli.stdout, bgpConfig(rec, state));
    expect(strip(viaApi)).toEqual(strip(fromCli));
    expect(viaApi?.[0]).toMatchObject({ address: '10.243.0.11', asn: 65101, state: 'Established', prefixes_received: 1, prefixes_sent: 1 });
    expect(viaApi?.[0]?.uptime_s).toBeGreaterThanOrEqual(0);
    // with the gobgp CLI gone, status and daemon_status still read r2 in full: through the API
    await lab.placement.default.execs.runListed(cid, { command: ['mv', '/usr/bin/gobgp', '/usr/bin/gobgp.away'] });
    try {
      expect(allUp(await status())).toBe(true);
      const ds = await call<{ daemon: string; neighbors: NeighborStatus[] }>(lab, 'daemon_status', { name: c('r2') });
      expect(ds.daemon).toBe('running');
      expect(ds.neighbors[0]).toMatchObject({ state: 'Established', prefixes_received: 1, prefixes_sent: 1 });
    } finally {
      await lab.placement.default.execs.runListed(cid, { command: ['mv', '/usr/bin/gobgp.away', '/usr/bin/gobgp'] });
    }
  });

  it('bounds what a command answers and how long it runs, and keeps serving after', async () => {
    const cid = await id('r1');
    const big = await lab.placement.default.execs.runListed(cid, {
      command: ['sh', '-c', 'head -c 300000 /dev/zero | tr "\\0" x; echo oops >&2; exit 4'],
      maxOutputBytes: 1000,
      reuse: true,
    });
    expect(big).toMatchObject({ exit_code: 4, stderr: 'oops\n', truncated: true, timed_out: false });
    expect(big.stdout).toBe('x'.repeat(1000));
    const slow = await lab.placement.default.execs.runListed(cid, { command: ['sleep', '30'], timeoutS: 1, reuse: true });
    expect(slow.timed_out).toBe(true);
    expect((await ps('r1')).some((l) => l === 'sleep 30')).toBe(false);
    // arguments are argv, never a shell line
    const lit = await lab.placement.default.execs.runListed(cid, { command: ['echo', '$(id -u); a\nb'], reuse: true });
    expect(lit.stdout).toBe('$(id -u); a\nb\n');
    expect(await readersIn('r1')).toBe(1);
  });

  it('falls back to one-shot execs when a container has no reader or its reader writes garbage', async () => {
    // the host image has no reader: the same answer, through a one-shot exec
    const h = await lab.placement.default.execs.runListed(await id('h1'), { command: ['echo', 'hi'], reuse: true });
    expect(h).toMatchObject({ exit_code: 0, stdout: 'hi\n' });
    // a container whose reader lies (text a container wrote is input; its relay, the same program,
    // sends HTTP/2 garbage): status still reads r2 right
    pool().closeAll();
    relays().closeAll();
    await lab.placement.default.execs.runListed(await id('r2'), {
      command: [
        'sh',
        '-c',
        'cp /usr/local/bin/nslab-reader /tmp/reader.keep && printf "#!/bin/sh\\necho 0 0 0 99999999999 0\\ncat >/dev/null\\n" > /usr/local/bin/nslab-reader',
      ],
    });
    try {
      const s = await status();
      expect(allUp(s)).toBe(true);
      expect(s.nodes.find((x) => x.name === c('r2'))?.daemon).toBe('running');
      expect(await readersIn('r2')).toBe(0);
      expect(await relaysIn('r2')).toBe(0);
      expect(relays().size).toBe(0);
    } finally {
      await lab.placement.default.execs.runListed(await id('r2'), { command: ['cp', '/tmp/reader.keep', '/usr/local/bin/nslab-reader'] });
      pool().closeAll();
      relays().closeAll();
    }
  });

  it('while FRR is down, the reader answers as vtysh does (without starting it), and status says not answering', async () => {
    await call(lab, 'fault_inject', { kind: 'daemon_kill', node: 'r1', topology: T });
    try {
      const cid = await id('r1');
      const cmd = { command: drivers.frr.neighborsCommand, timeoutS: 10 };
      await waitFor(
        'FRR gone from r1',
        async () => ((await lab.placement.default.execs.runListed(cid, { ...cmd, reuse: true })).exit_code !== 0 ? true : undefined),
        30,
      );
      // bgpd is gone, other FRR daemons may still answer: the reader runs vtysh, which says so
      const kept = await lab.placement.default.execs.runListed(cid, { ...cmd, reuse: true });
      const once = await lab.placement.default.execs.runListed(cid, cmd);
      expect(kept.exit_code).not.toBe(0);
      expect(kept).toMatchObject({ exit_code: once.exit_code, stdout: once.stdout, stderr: once.stderr });
      // no FRR daemon at all (their sockets stay behind, refusing): the reader answers what vtysh does, without it
      await lab.placement.default.execs.runListed(cid, {
        command: ['sh', '-c', 'for d in zebra staticd bfdd watchfrr bgpd; do pkill -KILL -x $d; done; true'],
      });
      const none = await lab.placement.default.execs.runListed(cid, { ...cmd, reuse: true });
      const vtysh = await lab.placement.default.execs.runListed(cid, cmd);
      expect(none).toMatchObject({ exit_code: 1, stdout: '', stderr: 'Exiting: failed to connect to any daemons.\n' });
      expect(none).toMatchObject({ exit_code: vtysh.exit_code, stdout: vtysh.stdout, stderr: vtysh.stderr });
      const s = await status();
      expect(s.nodes.find((x) => x.name === c('r1'))?.daemon).toBe('not_answering');
      expect(allUp(s)).toBe(false);
    } finally {
      await call(lab, 'fault_clear', { id: 'all', topology: T });
    }
    await waitFor('the session after fault_clear', async () => (allUp(await status()) ? true : undefined), 90);
  }, 150_000);

  it('opens a new reader after the container restarts', async () => {
    expect(allUp(await status())).toBe(true);
    await docker.getContainer(c('r1')).restart({ t: 10 });
    await waitFor('the session after r1 restarted', async () => (allUp(await status()) ? true : undefined), 90);
    expect(await readersIn('r1')).toBe(1);
  }, 120_000);

  it('entrypoints wait without starting processes, and still stop cleanly on SIGTERM', async () => {
    // sampled for 6 s: no `sleep` or `pgrep` ever runs in an idle FRR or GoBGP container
    for (let i = 0; i < 6; i++) {
      for (const n of ['r1', 'r2']) {
        const procs = await ps(n);
        expect(
          procs.filter((l) => /^(sleep|pgrep)\b/.test(l)),
          `${n}: ${procs.join(' | ')}`,
        ).toEqual([]);
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    // docker stop: the entrypoint's trap stops the daemon and exits 0 (not killed after the grace period)
    for (const n of ['r1', 'r2']) {
      await docker.getContainer(c(n)).stop({ t: 20 });
      const st = (await docker.getContainer(c(n)).inspect()).State;
      expect(st.ExitCode, n).toBe(0);
      await docker.getContainer(c(n)).start();
    }
    await waitFor('the session after both started again', async () => (allUp(await status()) ? true : undefined), 90);
    // the relay into the GoBGP container that restarted is a new one (a daemon still starting is asked again after 10 s)
    await waitFor('a relay into the new r2', async () => (allUp(await status()) && (await relaysIn('r2')) === 1 ? true : undefined), 30);
    expect(relays().size).toBe(1);
  }, 180_000);

  it('the built CLI reads status through readers and exits when done (a kept reader does not hold it open)', () => {
    const env = { ...process.env, NSLAB_DATA_DIR: lab.config.dataDir, NSLAB_EXTRA_LABELS: `netstream-lab.test=${RUN}` };
    const r = spawnSync(
      process.execPath,
      [join(root, 'dist', 'src', 'cli', 'main.js'), 'call', 'topology_status', JSON.stringify({ name: T })],
      {
        env,
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(r.status, r.stderr).toBe(0);
    // exited by itself within 60 s, well before the readers' idle close (300 s): nothing kept it alive
    expect(allUp(JSON.parse(r.stdout) as TopoStatus)).toBe(true);
  });
});
