import { rename, rm } from 'node:fs/promises';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { Lab } from '../../src/core/lab.js';
import { createLab } from '../../src/core/lab.js';
import { call, callError, root, sweep, testLab } from '../helpers/docker.js';

/** What is not this store's is never changed: foreign containers, other stores' objects, and rollbacks. */
const RUN = `own-${process.pid}`;
const docker = new Docker();
let lab: Lab;
let other: Lab;
let hostImage: string;

/** A container netstream-lab did not make (only the test label, so the test sweep can remove it). */
async function foreign(name: string, network?: { id: string; ip: string }) {
  const c = await docker.createContainer({
    name,
    Image: hostImage,
    Labels: { 'netstream-lab.test': RUN },
    HostConfig: { NetworkMode: network ? network.id : 'none' },
    ...(network ? { NetworkingConfig: { EndpointsConfig: { [network.id]: { IPAMConfig: { IPv4Address: network.ip } } } } } : {}),
  });
  await c.start();
  return c;
}

describe('ownership and rollback on a real engine', () => {
  beforeAll(async () => {
    lab = testLab(RUN);
    other = testLab(RUN);
    const images = await docker.listImages({ filters: { label: ['netstream-lab.image=host'] } });
    hostImage = images[0]?.RepoTags?.[0] as string;
    await call(lab, 'network_create', { name: 'otest-a', subnet: '10.255.0.0/24' });
    await call(lab, 'network_create', { name: 'otest-b', subnet: '10.255.1.0/24' });
    await call(other, 'network_create', { name: 'otest-other', subnet: '10.255.2.0/24' });
  });

  afterAll(async () => {
    await sweep(RUN);
  });

  it('leaves a foreign container alone when it took the name of a lab host', async () => {
    await call(lab, 'host_create', { name: 'otest-h1', interfaces: [{ network: 'otest-a' }] });
    await docker.getContainer('otest-h1').remove({ force: true });
    const impostor = await foreign('otest-h1');
    expect((await call<{ state: string }>(lab, 'host_get', { name: 'otest-h1' }).catch(() => ({ state: 'conflict' }))).state).not.toBe(
      'running',
    );
    expect((await call<{ hosts: Array<{ state: string }> }>(lab, 'host_list', {})).hosts[0]?.state).toBe('missing');
    const start = await callError(lab, 'host_start', { name: 'otest-h1' });
    expect(start.code).toBe('CONFLICT');
    expect(start.message).toContain('was not created by netstream-lab');
    expect((await callError(lab, 'host_exec', { name: 'otest-h1', command: ['true'] })).code).toBe('CONFLICT');
    const del = await call<{ deleted: string; warnings?: string[] }>(lab, 'host_delete', { name: 'otest-h1' });
    expect(del.warnings).toEqual(["a container named 'otest-h1' that netstream-lab did not create was left alone"]);
    expect((await impostor.inspect()).State.Running).toBe(true);
    expect((await call<{ hosts: unknown[] }>(lab, 'host_list', {})).hosts).toEqual([]);
    await impostor.remove({ force: true });
  });

  it("never changes another store's container, even one with the name of its own record", async () => {
    await call(other, 'host_create', { name: 'otest-shared', interfaces: [{ network: 'otest-other' }] });
    await docker.getContainer('otest-shared').remove({ force: true });
    await call(lab, 'host_create', { name: 'otest-shared', interfaces: [{ network: 'otest-a' }] });
    const start = await callError(other, 'host_start', { name: 'otest-shared' });
    expect(start.message).toMatch(/belongs to another netstream-lab store/);
    const del = await call<{ warnings?: string[] }>(other, 'host_delete', { name: 'otest-shared' });
    expect(del.warnings?.[0]).toContain('left alone');
    const info = await docker.getContainer('otest-shared').inspect();
    expect(info.State.Running).toBe(true);
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual(['otest-a']);
    // The other store cannot delete this store's network either.
    expect((await callError(other, 'network_delete', { name: 'otest-a' })).code).toBe('NOT_FOUND');
  });

  it('tells stores apart by the id in their state.json, not by path: a new store at the same path adopts nothing', async () => {
    await call(lab, 'host_create', { name: 'otest-idh', interfaces: [{ network: 'otest-a' }] });
    const id = (await lab.store.read()).id as string;
    expect((await docker.getContainer('otest-idh').inspect()).Config.Labels['netstream-lab.store']).toBe(id);
    expect(id).not.toContain('/');
    // The same data folder, a new store (as when two server containers mount the same /data path).
    await rename(lab.config.dataDir, `${lab.config.dataDir}-moved`);
    try {
      const fresh = createLab(
        loadConfig({ ...process.env, NSLAB_DATA_DIR: lab.config.dataDir, NSLAB_EXTRA_LABELS: `netstream-lab.test=${RUN}` }, {}, root),
      );
      await fresh.engine.ready();
      const e = await callError(fresh, 'host_create', { name: 'otest-idh', interfaces: [{ network: 'otest-a' }] });
      expect(e.code).toBe('CONFLICT');
      expect(e.message).not.toContain(lab.config.dataDir);
      expect(
        (await call<{ drift: unknown[] }>(fresh, 'sync_run', { apply: true })).drift.filter((d) =>
          (d as { kind: string }).kind.startsWith('orphan'),
        ),
      ).toEqual([]);
      expect((await docker.getContainer('otest-idh').inspect()).State.Running).toBe(true);
    } finally {
      await rm(lab.config.dataDir, { recursive: true, force: true });
      await rename(`${lab.config.dataDir}-moved`, lab.config.dataDir);
    }
    await call(lab, 'host_delete', { name: 'otest-idh' });
  });

  it('does not take a container labelled as managed but without a store id for its own', async () => {
    const images = await docker.listImages({ filters: { label: ['netstream-lab.image=host'] } });
    const c = await docker.createContainer({
      name: 'otest-noid',
      Image: images[0]?.RepoTags?.[0] as string,
      Labels: { 'netstream-lab.managed': 'true', 'netstream-lab.role': 'host', 'netstream-lab.test': RUN },
      HostConfig: { NetworkMode: 'none' },
    });
    const e = await callError(lab, 'host_create', { name: 'otest-noid', interfaces: [{ network: 'otest-a' }] });
    expect(e.code).toBe('CONFLICT');
    expect((await call<{ drift: Array<{ name: string }> }>(lab, 'sync_run', {})).drift.map((d) => d.name)).not.toContain('otest-noid');
    await c.remove({ force: true });
  });

  it('removes the half-made container and its record when Docker refuses part way', async () => {
    // A container netstream-lab does not know holds 10.255.1.77 on otest-b: the store thinks the
    // address is free, Docker refuses it when the second interface is connected.
    const net = await docker.getNetwork('otest-b').inspect();
    const squatter = await foreign('otest-squatter', { id: net.Id, ip: '10.255.1.77' });
    const before = await lab.store.read();
    const e = await callError(lab, 'daemon_create', {
      name: 'otest-r1',
      kind: 'frr',
      asn: 65001,
      interfaces: [{ network: 'otest-a' }, { network: 'otest-b', ip: '10.255.1.77' }],
    });
    expect(e.message).toMatch(/could not create container 'otest-r1'/);
    await expect(docker.getContainer('otest-r1').inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect(await lab.store.read()).toEqual(before);
    expect((await squatter.inspect()).State.Running).toBe(true);
  });

  it('refuses to attach a lab container to a foreign network that took a lab network name', async () => {
    await call(lab, 'network_create', { name: 'otest-gone', subnet: '10.255.3.0/24' });
    await docker.getNetwork('otest-gone').remove();
    const imposter = await docker.createNetwork({ Name: 'otest-gone', Internal: true, Labels: { 'netstream-lab.test': RUN } });
    const e = await callError(lab, 'host_create', { name: 'otest-h2', interfaces: [{ network: 'otest-gone' }] });
    expect(e.message).toBe("network 'otest-gone' exists but was not created by netstream-lab");
    await expect(docker.getContainer('otest-h2').inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect((await imposter.inspect()).Containers).toEqual({});
    // Deleting the lab network forgets it (and its forwarding rule) but leaves the imposter.
    await call(lab, 'network_delete', { name: 'otest-gone' });
    expect((await imposter.inspect()).Name).toBe('otest-gone');
  });
});
