import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lab } from '../../src/core/lab.js';
import { call, callError, sweep, testLab, waitFor } from '../helpers/docker.js';

/**
 * The three-daemon lab on a real engine:
 *   lan1 (h1) -- r1 FRR 65001 -- core -- r2 GoBGP 65002 -- lan2 (h2)
 *                               \-- r3 ExaBGP 65003 (advertises 198.51.100.0/24)
 * h3 sits on core with r1 as its gateway.
 */
const RUN = `bgp-${process.pid}`;
const NET = { core: 'itest-core', lan1: 'itest-lan1', lan2: 'itest-lan2' };

type Status = {
  state: string;
  neighbors: Array<{ address: string; state: string; prefixes_received?: number }>;
  routes?: Array<{ prefix: string; next_hop?: string; as_path?: number[] }>;
};

let lab: Lab;
const docker = new Docker();
const status = (name: string) => call<Status>(lab, 'daemon_status', { name });
const allEstablished = async (name: string, count: number) => {
  const s = await status(name);
  return s.neighbors.length === count && s.neighbors.every((n) => n.state === 'Established') ? s : undefined;
};
const ping = (from: string, to: string) =>
  call<{ exit_code: number; stdout: string }>(lab, 'host_exec', { name: from, command: ['ping', '-c', '2', '-W', '2', to], timeout_s: 20 });

describe('a BGP lab on a real Docker engine', () => {
  let establishedAfterS = 0;

  beforeAll(async () => {
    lab = testLab(RUN);
    await call(lab, 'network_create', { name: NET.core, subnet: '10.251.0.0/24' });
    await call(lab, 'network_create', { name: NET.lan1, subnet: '10.251.1.0/24' });
    await call(lab, 'network_create', { name: NET.lan2, subnet: '10.251.2.0/24' });
    const t0 = Date.now();
    await Promise.all([
      call(lab, 'daemon_create', {
        name: 'itest-r1',
        kind: 'frr',
        asn: 65001,
        interfaces: [{ network: NET.core, ip: '10.251.0.11' }, { network: NET.lan1 }],
        neighbors: [
          { address: '10.251.0.12', asn: 65002, description: 'to gobgp' },
          { address: '10.251.0.13', asn: 65003, password: 's3cret' },
        ],
        advertise: ['10.251.1.0/24'],
      }),
      call(lab, 'daemon_create', {
        name: 'itest-r2',
        kind: 'gobgp',
        asn: 65002,
        interfaces: [{ network: NET.core, ip: '10.251.0.12' }, { network: NET.lan2 }],
        neighbors: [{ address: '10.251.0.11', asn: 65001 }],
        advertise: ['10.251.2.0/24'],
      }),
      call(lab, 'daemon_create', {
        name: 'itest-r3',
        kind: 'exabgp',
        asn: 65003,
        interfaces: [{ network: NET.core, ip: '10.251.0.13' }],
        neighbors: [{ address: '10.251.0.11', asn: 65001, password: 's3cret' }],
        advertise: ['198.51.100.0/24'],
      }),
    ]);
    await waitFor(
      'all sessions Established',
      async () => {
        const ok = await Promise.all([allEstablished('itest-r1', 2), allEstablished('itest-r2', 1), allEstablished('itest-r3', 1)]);
        return ok.every(Boolean) ? true : undefined;
      },
      90,
    ).catch(async (err) => {
      const now = await Promise.all(['itest-r1', 'itest-r2', 'itest-r3'].map((n) => status(n).catch((e) => String(e))));
      throw new Error(`${(err as Error).message}; daemon_status: ${JSON.stringify(now)}`);
    });
    establishedAfterS = (Date.now() - t0) / 1000;
    process.stderr.write(`[measure] first daemon_create -> all sessions Established: ${establishedAfterS.toFixed(1)} s\n`);
  });

  afterAll(async () => {
    await sweep(RUN);
  });

  it('brings every session of all three daemon kinds to Established', async () => {
    const r1 = await status('itest-r1');
    expect(r1.neighbors.map((n) => [n.address, n.state]).sort()).toEqual([
      ['10.251.0.12', 'Established'],
      ['10.251.0.13', 'Established'],
    ]);
    expect((await status('itest-r2')).neighbors).toMatchObject([{ address: '10.251.0.11', state: 'Established' }]);
    expect((await status('itest-r3')).neighbors).toMatchObject([{ address: '10.251.0.11', state: 'Established' }]);
  });

  it("shows in GoBGP's RIB the prefix ExaBGP advertises, learned through FRR", async () => {
    const route = await waitFor(
      '198.51.100.0/24 in GoBGP',
      async () => (await status('itest-r2')).routes?.find((r) => r.prefix === '198.51.100.0/24'),
      30,
    );
    // FRR keeps ExaBGP's address as a third-party next hop on the shared network (RFC 4271 5.1.3).
    expect(route.next_hop).toBe('10.251.0.13');
    expect(route.as_path).toEqual([65001, 65003]);
  });

  it('routes a ping from one lab network to another through the daemon attached to both', async () => {
    await call(lab, 'host_create', { name: 'itest-h1', interfaces: [{ network: NET.lan1 }], gateway: 'itest-r1' });
    await call(lab, 'host_create', { name: 'itest-h3', interfaces: [{ network: NET.core, ip: '10.251.0.50' }], gateway: 'itest-r1' });
    const r = await waitFor(
      'h1 -> h3 ping',
      async () => {
        const p = await ping('itest-h1', '10.251.0.50');
        return p.exit_code === 0 ? p : undefined;
      },
      30,
    );
    expect(r.stdout).toMatch(/2 received/);
  });

  it('forwards along BGP-learned routes: a host behind FRR pings a host behind GoBGP', async () => {
    const h2 = await call<{ interfaces: Array<{ ip: string }> }>(lab, 'host_create', {
      name: 'itest-h2',
      interfaces: [{ network: NET.lan2 }],
      gateway: 'itest-r2',
    });
    const target = h2.interfaces[0]?.ip as string;
    const r = await waitFor(
      'h1 -> h2 ping',
      async () => {
        const p = await ping('itest-h1', target);
        return p.exit_code === 0 ? p : undefined;
      },
      45,
      2000,
    );
    expect(r.stdout).toMatch(/2 received/);
  });

  it('keeps the configuration across daemon_stop / daemon_start', async () => {
    const before = await call(lab, 'daemon_get', { name: 'itest-r2' });
    const stopped = await call<{ state: string }>(lab, 'daemon_stop', { name: 'itest-r2' });
    expect(stopped.state).toBe('stopped');
    expect((await docker.getContainer('itest-r2').inspect()).State.Running).toBe(false);
    // Nothing is read from a stopped daemon, so no session state is made up.
    const down = await call<Status & { daemon: string }>(lab, 'daemon_status', { name: 'itest-r2' });
    expect(down).toMatchObject({ state: 'stopped', daemon: 'stopped', neighbors: [] });
    await call(lab, 'daemon_start', { name: 'itest-r2' });
    expect(await call(lab, 'daemon_get', { name: 'itest-r2' })).toEqual(before);
    await waitFor('r2 Established again', () => allEstablished('itest-r2', 1), 60);
  });

  it('recreates a daemon from the store when its container was removed behind its back', async () => {
    await docker.getContainer('itest-r3').remove({ force: true });
    expect((await call<{ state: string }>(lab, 'daemon_get', { name: 'itest-r3' })).state).toBe('missing');
    await call(lab, 'daemon_start', { name: 'itest-r3' });
    const info = await docker.getContainer('itest-r3').inspect();
    expect(info.NetworkSettings.Networks[NET.core]?.IPAMConfig?.IPv4Address).toBe('10.251.0.13');
    await waitFor('r3 Established again', () => allEstablished('itest-r3', 1), 60);
  });

  it('brings the daemon back when its container is restarted', async () => {
    await docker.getContainer('itest-r1').restart({ t: 2 });
    await waitFor('r1 Established after restart', () => allEstablished('itest-r1', 2), 60);
  });

  it('refuses to delete a network in use, naming who uses it', async () => {
    const e = await callError(lab, 'network_delete', { name: NET.core });
    expect(e.code).toBe('CONFLICT');
    expect(e.message).toMatch(/still used by .*itest-r1.*itest-r2/);
  });

  it('refuses an overlapping subnet, naming the network it overlaps', async () => {
    const e = await callError(lab, 'network_create', { name: 'itest-overlap', subnet: '10.251.0.0/16' });
    expect(e.code).toBe('CONFLICT');
    expect(e.message).toBe(
      "subnet 10.251.0.0/16 overlaps Docker networks 'itest-core' (10.251.0.0/24), 'itest-lan1' (10.251.1.0/24), 'itest-lan2' (10.251.2.0/24)",
    );
    expect(await docker.listNetworks({ filters: { name: ['itest-overlap'] } })).toHaveLength(0);
  });

  it('changes nothing when a create fails: taken address, unknown network', async () => {
    const before = await lab.store.read();
    const taken = await callError(lab, 'daemon_create', {
      name: 'itest-r9',
      kind: 'frr',
      asn: 65009,
      interfaces: [{ network: NET.core, ip: '10.251.0.12' }],
    });
    expect(taken.message).toBe('interfaces.0.ip: 10.251.0.12 is already taken by itest-r2');
    const unknown = await callError(lab, 'daemon_create', {
      name: 'itest-r9',
      kind: 'frr',
      asn: 65009,
      interfaces: [{ network: NET.core }, { network: 'itest-nowhere' }],
    });
    expect(unknown.message).toMatch(/interfaces\.1\.network: network 'itest-nowhere' does not exist/);
    expect(await lab.store.read()).toEqual(before);
    await expect(docker.getContainer('itest-r9').inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('never touches a container it did not create', async () => {
    const images = await docker.listImages({ filters: { label: ['netstream-lab.image=host'] } });
    const foreign = await docker.createContainer({
      name: 'itest-foreign',
      Image: images[0]?.RepoTags?.[0] as string,
      Labels: { 'netstream-lab.test': RUN },
      HostConfig: { NetworkMode: 'none' },
    });
    await foreign.start();
    const del = await callError(lab, 'daemon_delete', { name: 'itest-foreign' });
    expect(del.code).toBe('NOT_FOUND');
    const create = await callError(lab, 'daemon_create', {
      name: 'itest-foreign',
      kind: 'frr',
      asn: 65010,
      interfaces: [{ network: NET.core }],
    });
    expect(create.code).toBe('CONFLICT');
    expect((await foreign.inspect()).State.Running).toBe(true);
  });

  it('daemon_delete removes the container, frees its address and forgets it', async () => {
    await call(lab, 'daemon_delete', { name: 'itest-r3' });
    await expect(docker.getContainer('itest-r3').inspect()).rejects.toMatchObject({ statusCode: 404 });
    const net = await call<{ containers: Array<{ name: string }> }>(lab, 'network_get', { name: NET.core });
    expect(net.containers.map((c) => c.name)).not.toContain('itest-r3');
    expect((await callError(lab, 'daemon_status', { name: 'itest-r3' })).code).toBe('NOT_FOUND');
  });
});
