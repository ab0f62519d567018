import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { Lab } from '../../src/core/lab.js';
import { createLab } from '../../src/core/lab.js';
import { call, callError, root, sweep, testEnv, testLab } from '../helpers/docker.js';

const sh = promisify(execFile);

type Exec = { exit_code: number; stdout: string; stderr: string; timed_out: boolean; truncated: boolean };

const RUN = `exec-${process.pid}`;
let lab: Lab;
const docker = new Docker();
const exec = (command: string[], extra: Record<string, unknown> = {}) =>
  call<Exec>(lab, 'host_exec', { name: 'xtest-h1', command, ...extra });

describe('hosts, exec and network wiring on a real engine', () => {
  beforeAll(async () => {
    lab = testLab(RUN);
    await call(lab, 'network_create', { name: 'xtest-a', subnet: '10.254.0.0/24' });
    await call(lab, 'network_create', { name: 'xtest-b', subnet: '10.254.1.0/24' });
    await call(lab, 'host_create', { name: 'xtest-h1', interfaces: [{ network: 'xtest-a' }], loopback: '192.0.2.1/32' });
  });

  afterAll(async () => {
    await sweep(RUN);
  });

  it('runs argv without a shell, with stdout, stderr and the exit code apart', async () => {
    const r = await exec(['sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(r).toEqual({ exit_code: 3, stdout: 'out\n', stderr: 'err\n', timed_out: false, truncated: false });
    // A shell metacharacter in an argument is just text.
    const lit = await exec(['echo', '$(id -u); rm -rf /']);
    expect(lit.stdout).toBe('$(id -u); rm -rf /\n');
  });

  it('kills a command that runs past its timeout and says so', async () => {
    const t0 = Date.now();
    const r = await exec(['sleep', '31'], { timeout_s: 2 });
    expect(r.timed_out).toBe(true);
    expect(r.exit_code).not.toBe(0);
    expect(Date.now() - t0).toBeLessThan(15_000);
    // The process is gone from the container, not just abandoned.
    expect((await exec(['pgrep', '-f', '^sleep 31$'])).exit_code).toBe(1);
  });

  it('leaves nothing of a timed-out command behind, even what started a session of its own', async () => {
    const r = await exec(['sh', '-c', 'setsid -f sleep 9999; sleep 60'], { timeout_s: 1 });
    expect(r.timed_out).toBe(true);
    expect((await exec(['pgrep', '-f', '^sleep (9999|60)$'])).exit_code).toBe(1);
    // a command that finishes may leave a daemon it started on purpose
    expect((await exec(['sh', '-c', 'setsid -f sleep 9998'])).exit_code).toBe(0);
    expect((await exec(['pgrep', '-f', '^sleep 9998$'])).exit_code).toBe(0);
    await exec(['pkill', '-f', '^sleep 9998$']);
  });

  it('keeps memory bounded with 50 execs at once, each printing megabytes', async () => {
    const before = process.memoryUsage().rss;
    const rs = await Promise.all(Array.from({ length: 50 }, () => exec(['head', '-c', '4000000', '/dev/zero'])));
    expect(rs.every((r) => r.truncated && r.stdout.length === 1024 * 1024)).toBe(true);
    // each result keeps its 1 MiB cap; the rest was never held
    expect(process.memoryUsage().rss - before).toBeLessThan(400 * 1024 * 1024);
  });

  it('caps output and marks it truncated', async () => {
    const r = await exec(['head', '-c', '100000', '/dev/zero'], { max_output_bytes: 1000 });
    expect(r.stdout.length).toBe(1000);
    expect(r.truncated).toBe(true);
    expect(r.exit_code).toBe(0);
  });

  it('puts the loopback address on lo', async () => {
    expect((await exec(['ip', '-4', '-br', 'addr', 'show', 'lo'])).stdout).toContain('192.0.2.1/32');
  });

  it('connects and disconnects a container, keeping addresses in the store', async () => {
    const c = await call<{ ip: string }>(lab, 'network_connect', { network: 'xtest-b', container: 'xtest-h1', ip: '10.254.1.20' });
    expect(c.ip).toBe('10.254.1.20');
    expect((await exec(['ip', '-4', '-br', 'addr'])).stdout).toContain('10.254.1.20/24');
    expect(
      (await call<{ interfaces: Array<{ network: string }> }>(lab, 'host_get', { name: 'xtest-h1' })).interfaces.map((i) => i.network),
    ).toEqual(['xtest-a', 'xtest-b']);
    const again = await callError(lab, 'network_connect', { network: 'xtest-b', container: 'xtest-h1' });
    expect(again.code).toBe('CONFLICT');
    await call(lab, 'network_disconnect', { network: 'xtest-b', container: 'xtest-h1' });
    expect((await exec(['ip', '-4', '-br', 'addr'])).stdout).not.toContain('10.254.1.20');
    const last = await callError(lab, 'network_disconnect', { network: 'xtest-a', container: 'xtest-h1' });
    expect(last.message).toContain("'xtest-a' is the only network of 'xtest-h1'");
  });

  it('keeps a stopped host and brings it back with its addresses', async () => {
    await call(lab, 'host_stop', { name: 'xtest-h1' });
    expect((await docker.getContainer('xtest-h1').inspect()).State.Running).toBe(false);
    expect((await callError(lab, 'host_exec', { name: 'xtest-h1', command: ['true'] })).message).toContain('is not running');
    await call(lab, 'host_start', { name: 'xtest-h1' });
    expect((await exec(['ip', '-4', '-br', 'addr', 'show', 'lo'])).stdout).toContain('192.0.2.1/32');
  });

  it('deletes a network once nothing uses it, with its Docker network', async () => {
    await call(lab, 'network_delete', { name: 'xtest-b' });
    expect(await docker.listNetworks({ filters: { name: ['xtest-b'] } })).toEqual([]);
    expect((await callError(lab, 'network_get', { name: 'xtest-b' })).code).toBe('NOT_FOUND');
  });

  it('contains each lab container: capabilities per kind, no new privileges, bounded processes and memory', async () => {
    const host = await docker.getContainer('xtest-h1').inspect();
    expect(host.HostConfig.CapAdd?.sort()).toEqual(['NET_ADMIN', 'NET_RAW']);
    expect(host.HostConfig.Privileged).toBe(false);
    expect(host.HostConfig.SecurityOpt).toContain('no-new-privileges');
    expect(host.HostConfig.PidsLimit).toBe(256);
    expect(host.HostConfig.Memory).toBe(512 * 1024 * 1024);
    // More processes than the limit (a bounded loop, never an unbounded fork bomb): the extra ones fail.
    const r = await exec(['sh', '-c', 'for i in $(seq 1 300); do sleep 60 & done'], { timeout_s: 30 });
    expect(r.stderr).toMatch(/Cannot fork/);
    // Counted and stopped from outside: with the limit reached, no exec can start inside (runc
    // itself needs a process there), so asking the container would measure luck, not the limit.
    const top = await docker.getContainer('xtest-h1').top({ ps_args: '-o pid,comm' });
    const sleeps = (top.Processes as string[][]).filter((p) => p[1] === 'sleep').map((p) => Number(p[0]));
    const running = sleeps.length;
    expect(running).toBeGreaterThan(100);
    expect(running).toBeLessThan(256);
    for (const pid of sleeps) process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 500));
    // and the container still works afterwards
    expect((await exec(['true'])).exit_code).toBe(0);
  });

  it('keeps lab networks inside the machine unless the operator allows otherwise', async () => {
    const open = await callError(lab, 'network_create', { name: 'xtest-open', subnet: '10.254.7.0/24', internal: false });
    expect(open.code).toBe('INVALID_INPUT');
    expect(open.message).toMatch(/^internal: .*refused unless the operator sets NSLAB_ALLOW_EXTERNAL/);
    const mac = await callError(lab, 'network_create', { name: 'xtest-mac', subnet: '10.254.8.0/24', driver: 'macvlan', parent: 'eth0' });
    expect(mac.message).toMatch(/^driver: a macvlan network reaches outside the machine/);
    expect(await docker.listNetworks({ filters: { name: ['xtest-open', 'xtest-mac'] } })).toEqual([]);
    // an operator may allow it
    const allowed = createLab(loadConfig({ ...process.env, ...testEnv(RUN), NSLAB_ALLOW_EXTERNAL: 'yes' }, {}, root));
    expect(await call(allowed, 'network_create', { name: 'xtest-open', subnet: '10.254.7.0/24', internal: false })).toMatchObject({
      internal: false,
    });
    await call(allowed, 'network_delete', { name: 'xtest-open' });
  });

  it("refuses a subnet over one of the host's own routes", async () => {
    // A blackhole route stands in for a host network (no traffic is sent); it is removed after.
    await sh('ip', ['route', 'add', 'blackhole', '198.18.77.0/24']);
    try {
      const e = await callError(lab, 'network_create', { name: 'xtest-hostnet', subnet: '198.18.77.0/24' });
      expect(e.code).toBe('CONFLICT');
      expect(e.message).toMatch(/^subnet: 198\.18\.77\.0\/24 overlaps this machine's own route to 198\.18\.77\.0\/24/);
      await call(lab, 'topology_create', {
        spec: { name: 'hostnet', networks: { n: { subnet: '198.18.77.0/25' } }, nodes: { h: { kind: 'host', interfaces: { n: 'auto' } } } },
      });
      const up = await callError(lab, 'topology_standup', { name: 'hostnet' });
      expect(up.message).toMatch(/^networks\.n\.subnet: 198\.18\.77\.0\/25 overlaps this machine's own route/);
      expect(await docker.listContainers({ all: true, filters: { name: ['hostnet-h'] } })).toEqual([]);
      await call(lab, 'topology_delete', { name: 'hostnet' });
    } finally {
      await sh('ip', ['route', 'del', 'blackhole', '198.18.77.0/24']);
    }
    expect(await docker.listNetworks({ filters: { name: ['xtest-hostnet'] } })).toEqual([]);
  });
});
