import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownershipLabels } from '../../src/core/docker/labels.js';
import type { Lab } from '../../src/core/lab.js';
import { bridgeName } from '../../src/core/networks.js';
import { runTool } from '../../tools/index.js';
import { call, callError, root, sweep, testEnv, testLab, waitFor } from '../helpers/docker.js';
import { labRule } from '../helpers/firewall.js';

/**
 * The store and Docker drift apart (a container removed or stopped by hand, a forwarding rule
 * flushed, a create killed half way) and sync_run finds it and, with apply, repairs it.
 *   h1 (s1) -- r1 FRR -- (s2) h2
 */
const RUN = `sync-${process.pid}`;
const sh = promisify(execFile);
const docker = new Docker();
let lab: Lab;

type Drift = { kind: string; name: string; repaired?: boolean; error?: string };
type SyncResult = { in_sync: boolean; drift: Drift[] };
/** Rules of other stores' bridges that vanished can linger on a shared machine; they are not this lab's drift. */
const ours = (r: SyncResult) => r.drift.filter((d) => d.kind !== 'stale_rule').map((d) => `${d.kind} ${d.name}`);
const sync = (apply = false) => call<SyncResult>(lab, 'sync_run', { apply });
const ping = async () =>
  (
    await call<{ exit_code: number }>(lab, 'host_exec', {
      name: 'sy-h1',
      command: ['ping', '-c', '2', '-W', '2', '10.248.1.10'],
      timeout_s: 20,
    })
  ).exit_code === 0;

describe('sync between the store and Docker', () => {
  beforeAll(async () => {
    lab = testLab(RUN);
    await call(lab, 'network_create', { name: 'sy-s1', subnet: '10.248.0.0/24' });
    await call(lab, 'network_create', { name: 'sy-s2', subnet: '10.248.1.0/24' });
    await call(lab, 'daemon_create', {
      name: 'sy-r1',
      kind: 'frr',
      asn: 65001,
      interfaces: [
        { network: 'sy-s1', ip: '10.248.0.2' },
        { network: 'sy-s2', ip: '10.248.1.2' },
      ],
    });
    await call(lab, 'host_create', { name: 'sy-h1', interfaces: [{ network: 'sy-s1', ip: '10.248.0.10' }], gateway: 'sy-r1' });
    await call(lab, 'host_create', { name: 'sy-h2', interfaces: [{ network: 'sy-s2', ip: '10.248.1.10' }], gateway: 'sy-r1' });
    await waitFor('h1 -> h2 through r1', async () => ((await ping()) ? true : undefined), 30);
  });

  afterAll(async () => {
    await sweep(RUN);
  });

  it('finds nothing to do in a lab that matches its records', async () => {
    expect(ours(await sync())).toEqual([]);
  });

  it('reports a daemon removed by hand, and apply recreates it with its configuration', async () => {
    await docker.getContainer('sy-r1').remove({ force: true });
    expect(ours(await sync())).toEqual(['missing_container sy-r1']);
    const fixed = await sync(true);
    expect(fixed.drift.find((d) => d.name === 'sy-r1')).toMatchObject({ kind: 'missing_container', repaired: true });
    expect((await docker.getContainer('sy-r1').inspect()).NetworkSettings.Networks['sy-s2']?.IPAddress).toBe('10.248.1.2');
    await waitFor('h1 -> h2 through the recreated r1', async () => ((await ping()) ? true : undefined), 30);
    expect(ours(await sync())).toEqual([]);
  });

  it('reports a container stopped by hand and starts it again', async () => {
    await docker.getContainer('sy-h2').stop({ t: 1 });
    expect(ours(await sync())).toEqual(['stopped_container sy-h2']);
    const messages: string[] = [];
    const applied = await runTool(lab, 'sync_run', { apply: true }, { progress: (m) => messages.push(m) });
    expect(applied.ok).toBe(true);
    expect(messages).toContain('start it: sy-h2');
    await waitFor('h1 -> h2 after h2 started', async () => ((await ping()) ? true : undefined), 30);
  });

  it('restores a forwarding rule deleted by hand (only that rule), with sync_run and at server start', async () => {
    await sh('iptables', ['-w', '5', '-D', ...labRule('sy-s1')]);
    expect(await ping()).toBe(false);
    expect(ours(await sync())).toEqual([`missing_rule ${bridgeName('sy-s1')}`]);
    await sync(true);
    expect(await ping()).toBe(true);
    // A server start does the same, cheaply, before any call.
    await sh('iptables', ['-w', '5', '-D', ...labRule('sy-s1')]);
    const server = spawn('node', [join(root, 'dist', 'src', 'cli', 'main.js'), 'mcp'], {
      env: { ...process.env, ...testEnv(RUN), NSLAB_DATA_DIR: lab.config.dataDir },
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    try {
      await waitFor(
        'the rule back after a server start',
        async () =>
          (await sh('iptables', ['-w', '5', '-C', ...labRule('sy-s1')])
            .then(() => true)
            .catch(() => false))
            ? true
            : undefined,
        30,
        300,
      );
    } finally {
      server.kill();
    }
    expect(await ping()).toBe(true);
  });

  it('reports a labelled container that no record claims and that carries no record to rebuild, and removes it', async () => {
    const images = await docker.listImages({ filters: { label: ['netstream-lab.image=host'] } });
    await docker.createContainer({
      name: 'sy-orphan',
      Image: images[0]?.RepoTags?.[0] as string,
      Labels: ownershipLabels(lab.engine.labels, 'host'),
      HostConfig: { NetworkMode: 'none' },
    });
    // and one without the labels, which sync must never touch
    const foreign = await docker.createContainer({
      name: `sy-foreign-${process.pid}`,
      Image: images[0]?.RepoTags?.[0] as string,
      Labels: { 'netstream-lab.test': RUN },
      HostConfig: { NetworkMode: 'none' },
    });
    expect(ours(await sync())).toEqual(['orphan_container sy-orphan']);
    const applied = await sync(true);
    expect(applied.drift.find((d) => d.name === 'sy-orphan')?.repaired).toBe(true);
    await expect(docker.getContainer('sy-orphan').inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect((await foreign.inspect()).Name).toBe(`/sy-foreign-${process.pid}`);
    expect(ours(await sync())).toEqual([]);
  });

  it('refuses to disconnect a router from the only network it shares with a host it is the gateway of', async () => {
    const e = await callError(lab, 'network_disconnect', { network: 'sy-s2', container: 'sy-r1' });
    expect(e.code).toBe('CONFLICT');
    expect(e.message).toContain('host sy-h2 (its gateway)');
    expect((await call<{ interfaces: unknown[] }>(lab, 'daemon_get', { name: 'sy-r1' })).interfaces).toHaveLength(2);
  });
});
