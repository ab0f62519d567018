import { spawn } from 'node:child_process';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLab, type Lab } from '../../src/core/lab.js';
import { call, root, sweep, TEST_LABEL, testEnv } from '../helpers/docker.js';

/**
 * kill -9 at chosen steps of creates, deletes and a standup (NSLAB_TEST_CRASH_AT, the core's test
 * hook), each in its own `nslab call` process; then a new server converges with sync_run apply
 * (or a standup again), and removal leaves nothing labelled behind.
 */
const RUN = `trust-cr-${process.pid}`;
const docker = new Docker();
const env = { ...process.env, ...testEnv(RUN) };
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const label = [`${TEST_LABEL}=${RUN}`];
/** A new server on the same store, as after a restart. */
const server = (): Lab => createLab(loadConfig(env, {}, root));

type Drift = { kind: string; name: string; object?: string; repaired?: boolean; error?: string };
type Sync = { drift: Drift[] };
const ours = (r: Sync) =>
  r.drift
    .filter((d) => d.kind !== 'stale_rule')
    .map((d) => `${d.kind} ${d.object ?? ''} ${d.name}`.replace('  ', ' '))
    .sort();

/** Run one tool in a CLI process that kills itself (SIGKILL) at `step`. */
async function crash(step: string, tool: string, args: unknown): Promise<void> {
  const p = spawn('node', [cli, 'call', tool, JSON.stringify(args)], { env: { ...env, NSLAB_TEST_CRASH_AT: step }, stdio: 'ignore' });
  const [code, signal] = (await new Promise((r) => p.once('exit', (c, s) => r([c, s])))) as [number | null, string | null];
  expect({ step, code, signal }).toEqual({ step, code: null, signal: 'SIGKILL' });
}

/** Converge with sync_run apply; every repair must work, and a second run finds nothing. */
async function converge(expected: string[]): Promise<void> {
  const lab = server();
  expect(ours(await call<Sync>(lab, 'sync_run', {}))).toEqual(expected);
  const applied = await call<Sync>(lab, 'sync_run', { apply: true });
  expect(applied.drift.filter((d) => d.repaired === false)).toEqual([]);
  expect(ours(await call<Sync>(lab, 'sync_run', {}))).toEqual([]);
}

const containers = async () => (await docker.listContainers({ all: true, filters: { label } })).map((c) => c.Names[0]?.slice(1)).sort();

describe('kill -9 part way, then a new server converges', () => {
  beforeAll(async () => {
    await call(server(), 'network_create', { name: 'trust-cr-net', subnet: '10.242.30.0/24' });
  });

  afterAll(async () => {
    await sweep(RUN);
  });

  it('network create and delete: a killed one is finished by sync_run apply', async () => {
    const steps = ['network.reserved', 'network.created'];
    for (const [i, step] of steps.entries()) {
      const name = `trust-cr-n${i}`;
      await crash(step, 'network_create', { name, subnet: `10.242.${20 + i}.0/24` });
      await converge([`unfinished_create network ${name}`]);
      const lab = server();
      expect((await call<{ state: string }>(lab, 'network_get', { name })).state).toBe('present');
      await crash('network.removed', 'network_delete', { name });
      await converge([`unfinished_delete network ${name}`]);
      expect((await call<{ networks: Array<{ name: string }> }>(lab, 'network_list', {})).networks.map((n) => n.name)).toEqual([
        'trust-cr-net',
      ]);
    }
    expect((await docker.listNetworks({ filters: { label } })).map((n) => n.Name)).toEqual(['trust-cr-net']);
  });

  it('host and daemon creates killed at each step are completed (one container each, configured), a killed delete is finished', async () => {
    const steps = ['node.reserved', 'node.container_created', 'node.files_written', 'node.started'];
    const made: string[] = [];
    for (const [i, step] of steps.entries()) {
      const name = `trust-cr-h${i}`;
      await crash(step, 'host_create', {
        name,
        interfaces: [{ network: 'trust-cr-net', ip: `10.242.30.${10 + i}` }],
        gateway: '10.242.30.1',
      });
      await converge([`unfinished_create host ${name}`]);
      made.push(name);
      const lab = server();
      expect((await call<{ state: string }>(lab, 'host_get', { name })).state).toBe('running');
      const info = await docker.getContainer(name).inspect();
      expect(info.NetworkSettings.Networks['trust-cr-net']?.IPAddress).toBe(`10.242.30.${10 + i}`);
      // Its files went in: the default route to its gateway came from /etc/nslab/gateway.
      const route = await call<{ stdout: string }>(lab, 'host_exec', { name, command: ['ip', 'route', 'show', 'default'] });
      expect(route.stdout).toContain('10.242.30.1');
    }
    await crash('node.files_written', 'daemon_create', {
      name: 'trust-cr-d',
      kind: 'gobgp',
      asn: 65010,
      interfaces: [{ network: 'trust-cr-net', ip: '10.242.30.50' }],
    });
    await converge(['unfinished_create daemon trust-cr-d']);
    expect((await call<{ daemon: string }>(server(), 'daemon_status', { name: 'trust-cr-d' })).daemon).toBe('running');
    expect(await containers()).toEqual([...made, 'trust-cr-d'].sort());

    await crash('node.container_removed', 'host_delete', { name: 'trust-cr-h0' });
    await converge(['unfinished_delete host trust-cr-h0']);
    expect(await containers()).toEqual([...made.slice(1), 'trust-cr-d'].sort());
    const lab = server();
    for (const h of made.slice(1)) await call(lab, 'host_delete', { name: h });
    await call(lab, 'daemon_delete', { name: 'trust-cr-d' });
    expect(await containers()).toEqual([]);
    expect((await call<{ containers: unknown[] }>(lab, 'network_get', { name: 'trust-cr-net' })).containers).toEqual([]);
  });

  it('a standup killed part way converges by sync_run apply or by standing up again; teardown leaves nothing', async () => {
    const spec = {
      name: 'trust-cr',
      networks: { core: { subnet: '10.242.40.0/24' }, lan: { subnet: '10.242.41.0/24' } },
      nodes: {
        r1: { kind: 'frr', asn: 65001, interfaces: { core: 'auto', lan: 'auto' } },
        r2: { kind: 'gobgp', asn: 65002, interfaces: { core: 'auto' } },
        r3: { kind: 'gobgp', asn: 65003, interfaces: { core: 'auto' } },
        h1: { kind: 'host', interfaces: { lan: 'auto' }, gateway: 'r1' },
      },
      bgp: {
        sessions: [
          ['r1', 'r2'],
          ['r1', 'r3'],
        ],
      },
    };
    await call(server(), 'topology_create', { spec });
    const nodes = ['trust-cr-h1', 'trust-cr-r1', 'trust-cr-r2', 'trust-cr-r3'];
    const tried: string[] = [];
    for (const [step, how] of [
      ['standup.reserved', 'sync'],
      ['standup.node_made:2', 'sync'],
      ['standup.made', 'standup'],
      ['standup.node_made:1', 'standup'],
    ] as const) {
      await crash(step, 'topology_standup', { name: 'trust-cr' });
      tried.push(step);
      const lab = server();
      if (how === 'sync') {
        const applied = await call<Sync>(lab, 'sync_run', { apply: true });
        expect(applied.drift.filter((d) => d.repaired === false)).toEqual([]);
        expect(ours(await call<Sync>(lab, 'sync_run', {}))).toEqual([]);
      } else {
        const up = await call<{ established?: { all: boolean } }>(lab, 'topology_standup', { name: 'trust-cr', wait_established_s: 60 });
        expect(up.established?.all).toBe(true);
      }
      expect(await containers()).toEqual(nodes);
      const status = await call<{ nodes: Array<{ name: string; state: string; daemon?: string }> }>(lab, 'topology_status', {
        name: 'trust-cr',
      });
      expect(status.nodes.map((n) => `${n.name} ${n.state} ${n.daemon ?? ''}`).sort()).toEqual([
        'trust-cr-h1 running ',
        'trust-cr-r1 running running',
        'trust-cr-r2 running running',
        'trust-cr-r3 running running',
      ]);
      await call(lab, 'topology_teardown', { name: 'trust-cr' });
      expect(await containers()).toEqual([]);
      expect((await docker.listNetworks({ filters: { label: [...label, 'netstream-lab.topology=trust-cr'] } })).length).toBe(0);
    }
    console.log(`[crash] standup points tried and recovered: ${tried.join(', ')}`);
  });
});
