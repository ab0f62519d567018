import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lab } from '../../src/core/lab.js';
import { call, callError, sweep, testLab } from '../helpers/docker.js';

/**
 * Identity, not names: Docker resolves a name it does not know as an id prefix. A node named like
 * the start of another container's id is its own node, and an operation on a node whose container
 * is gone never lands on the container whose id starts with that name.
 */
const RUN = `trust-id-${process.pid}`;
const docker = new Docker();
let lab: Lab;
let victim: Docker.ContainerInspectInfo;
/** a node name made of the first characters of the victim's id */
let prefix: string;

describe('containers and networks are found by identity, not by an id prefix', () => {
  beforeAll(async () => {
    lab = testLab(RUN);
    await call(lab, 'network_create', { name: 'trust-id-net', subnet: '10.242.5.0/24' });
    // The victim is a node of this very store: the worst place for a stray operation to land.
    for (let i = 0; i < 8; i++) {
      await call(lab, 'host_create', { name: 'trust-id-x', interfaces: [{ network: 'trust-id-net', ip: '10.242.5.10' }] });
      victim = await docker.getContainer('trust-id-x').inspect();
      // A name must start with a letter or digit and have 2+ characters; any hex prefix does.
      if (!(await docker.listContainers({ all: true })).some((c) => c.Id !== victim.Id && c.Id.startsWith(victim.Id.slice(0, 6)))) break;
      await call(lab, 'host_delete', { name: 'trust-id-x' });
    }
    prefix = victim.Id.slice(0, 6);
  });

  afterAll(async () => {
    await sweep(RUN);
  });

  it('creates a node named like the start of an existing container id, without a conflict', async () => {
    // Docker itself resolves that name to the victim.
    expect((await docker.getContainer(prefix).inspect()).Id).toBe(victim.Id);
    const made = await call<{ name: string; state: string }>(lab, 'host_create', {
      name: prefix,
      interfaces: [{ network: 'trust-id-net', ip: '10.242.5.20' }],
    });
    expect(made).toMatchObject({ name: prefix, state: 'running' });
    const mine = await docker.getContainer(prefix).inspect();
    expect(mine.Name).toBe(`/${prefix}`);
    expect(mine.Id).not.toBe(victim.Id);
    expect((await call<{ state: string }>(lab, 'host_get', { name: 'trust-id-x' })).state).toBe('running');
  });

  it('never lands on the victim once the node’s own container is gone', async () => {
    await docker.getContainer(prefix).remove({ force: true });
    // Now the name resolves to the victim again, in Docker.
    expect((await docker.getContainer(prefix).inspect()).Id).toBe(victim.Id);

    expect((await call<{ state: string }>(lab, 'host_get', { name: prefix })).state).toBe('missing');
    const exec = await callError(lab, 'host_exec', { name: prefix, command: ['hostname'] });
    expect(exec.code).toBe('CONFLICT');
    expect(exec.message).toContain('missing');
    const sync = await call<{ drift: Array<{ kind: string; name: string }> }>(lab, 'sync_run', {});
    expect(sync.drift.filter((d) => d.kind !== 'stale_rule').map((d) => `${d.kind} ${d.name}`)).toEqual([`missing_container ${prefix}`]);
    await call(lab, 'host_stop', { name: prefix });
    const del = await call<{ deleted: string; warnings?: string[] }>(lab, 'host_delete', { name: prefix });
    expect(del.deleted).toBe(prefix);
    expect(del.warnings).toBeUndefined();

    const after = await docker.getContainer('trust-id-x').inspect();
    expect(after.Id).toBe(victim.Id);
    expect(after.State.Running).toBe(true);
    expect(after.State.StartedAt).toBe(victim.State.StartedAt);
    expect((await call<{ containers: Array<{ name: string }> }>(lab, 'network_get', { name: 'trust-id-net' })).containers).toEqual([
      { name: 'trust-id-x', ip: '10.242.5.10' },
    ]);
  });

  it('does not take a network whose id starts with a lab network’s name for that network', async () => {
    const net = await docker.getNetwork('trust-id-net').inspect();
    const netPrefix = net.Id.slice(0, 6);
    // A record by that name, with no Docker network of its own: the prefix must not find trust-id-net.
    await call(lab, 'network_create', { name: netPrefix, subnet: '10.242.6.0/24' });
    await docker.getNetwork(netPrefix).remove();
    expect((await docker.getNetwork(netPrefix).inspect()).Id).toBe(net.Id);
    expect((await call<{ state: string }>(lab, 'network_get', { name: netPrefix })).state).toBe('missing');
    const e = await callError(lab, 'host_create', { name: 'trust-id-y', interfaces: [{ network: netPrefix }] });
    expect(e.message).toContain('gone');
    expect(Object.keys((await docker.getNetwork('trust-id-net').inspect()).Containers ?? {})).toHaveLength(1);
    await call(lab, 'network_delete', { name: netPrefix });
    expect((await docker.getNetwork('trust-id-net').inspect()).Id).toBe(net.Id);
  });
});
