import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lab } from '../../src/core/lab.js';
import { call, sweep, testLab, waitFor } from '../helpers/docker.js';

/**
 * Connecting and disconnecting lab containers that carry routes of their own (issue 14):
 *
 *   lan1 (h1, gateway r1) -- r1 FRR 65001 -- core -- r2 GoBGP 65002 -- lan2 (h2, gateway r2)
 *   lan3 (h3)   lan4 (h4)
 *
 * r1 advertises lan1, r2 advertises lan2 and lan4, so each daemon holds a BGP route for a network
 * it is later connected to. Docker 20.10 picks a container's default gateway from the network
 * whose name sorts first: lan3 is named to sort before every other network here, so connecting
 * h1 to it makes Docker re-program h1's default route (the collision of the issue), and leaving it
 * makes Docker switch back.
 */
const RUN = `croutes-${process.pid}`;
const NET = { core: 'ckr-core', lan1: 'ckr-lan1', lan2: 'ckr-lan2', lan3: 'ckr-a-lan3', lan4: 'ckr-b-lan4' };
const R1 = { core: '10.237.0.11', lan1: '10.237.1.2' };
const R2 = { core: '10.237.0.12' };
const H2 = '10.237.2.20';
const H3 = '10.237.3.30';
const H4 = '10.237.4.40';

type Exec = { exit_code: number; stdout: string; stderr: string };
type Status = { neighbors: Array<{ address: string; state: string; uptime_s?: number }> };
type Route = { dst: string; gateway?: string; dev?: string; protocol?: string };

let lab: Lab;
const docker = new Docker();
const hostExec = (name: string, command: string[]) => call<Exec>(lab, 'host_exec', { name, command, timeout_s: 20 });
const daemonExec = (name: string, command: string[]) => call<Exec>(lab, 'daemon_exec', { name, command, timeout_s: 20 });
const routes = async (kind: 'host' | 'daemon', name: string): Promise<Route[]> => {
  const r = await (kind === 'host' ? hostExec : daemonExec)(name, ['ip', '-4', '-j', 'route', 'show', 'table', 'main']);
  expect(r.exit_code).toBe(0);
  return JSON.parse(r.stdout) as Route[];
};
const defaultVia = async (name: string) => (await routes('host', name)).filter((r) => r.dst === 'default').map((r) => r.gateway);
const pings = async (exec: typeof hostExec, from: string, to: string) =>
  (await exec(from, ['ping', '-c', '2', '-W', '2', to])).exit_code === 0 ? true : undefined;
const session = async (name: string) => {
  const s = await call<Status>(lab, 'daemon_status', { name });
  const n = s.neighbors[0];
  return s.neighbors.length === 1 && n?.state === 'Established' ? n : undefined;
};
const dockerNetworks = async (name: string) => Object.keys((await docker.getContainer(name).inspect()).NetworkSettings.Networks).sort();

describe('network_connect / network_disconnect keep the routes the lab gave a container', () => {
  beforeAll(async () => {
    lab = testLab(RUN);
    await call(lab, 'network_create', { name: NET.core, subnet: '10.237.0.0/24' });
    await call(lab, 'network_create', { name: NET.lan1, subnet: '10.237.1.0/24' });
    await call(lab, 'network_create', { name: NET.lan2, subnet: '10.237.2.0/24' });
    await call(lab, 'network_create', { name: NET.lan3, subnet: '10.237.3.0/24' });
    await call(lab, 'network_create', { name: NET.lan4, subnet: '10.237.4.0/24' });
    await Promise.all([
      call(lab, 'daemon_create', {
        name: 'ckr-r1',
        kind: 'frr',
        asn: 65001,
        interfaces: [
          { network: NET.core, ip: R1.core },
          { network: NET.lan1, ip: R1.lan1 },
        ],
        neighbors: [{ address: R2.core, asn: 65002 }],
        advertise: ['10.237.1.0/24'],
      }),
      call(lab, 'daemon_create', {
        name: 'ckr-r2',
        kind: 'gobgp',
        asn: 65002,
        interfaces: [{ network: NET.core, ip: R2.core }, { network: NET.lan2 }],
        neighbors: [{ address: R1.core, asn: 65001 }],
        advertise: ['10.237.2.0/24', '10.237.4.0/24'],
      }),
      call(lab, 'host_create', { name: 'ckr-h3', interfaces: [{ network: NET.lan3, ip: H3 }] }),
      call(lab, 'host_create', { name: 'ckr-h4', interfaces: [{ network: NET.lan4, ip: H4 }] }),
    ]);
    await call(lab, 'host_create', { name: 'ckr-h1', interfaces: [{ network: NET.lan1 }], gateway: 'ckr-r1' });
    await call(lab, 'host_create', { name: 'ckr-h2', interfaces: [{ network: NET.lan2, ip: H2 }], gateway: 'ckr-r2' });
    await waitFor('both sessions Established', async () => ((await session('ckr-r1')) && (await session('ckr-r2')) ? true : undefined), 90);
    // Each daemon has installed the other's prefixes: h1 reaches h2 across both routers.
    await waitFor('h1 -> h2 through r1 and r2', () => pings(hostExec, 'ckr-h1', H2), 60, 2000);
  });

  afterAll(async () => {
    await sweep(RUN);
  });

  it('connects a host that has a gateway to another network, and keeps its default route', async () => {
    expect(await defaultVia('ckr-h1')).toEqual([R1.lan1]);
    const c = await call<{ ip: string; warnings?: string[] }>(lab, 'network_connect', { network: NET.lan3, container: 'ckr-h1' });
    expect(c.warnings).toBeUndefined();
    expect(await defaultVia('ckr-h1')).toEqual([R1.lan1]);
    expect((await hostExec('ckr-h1', ['ip', '-4', '-br', 'addr'])).stdout).toContain(`${c.ip}/24`);
    // the new interface works, and so does the way out through the router
    expect(await pings(hostExec, 'ckr-h1', H3)).toBe(true);
    expect(await pings(hostExec, 'ckr-h1', H2)).toBe(true);
    expect(await dockerNetworks('ckr-h1')).toEqual([NET.lan3, NET.lan1].sort());
  });

  it('disconnects it again, keeping the default route and the way out', async () => {
    const d = await call<{ warnings?: string[] }>(lab, 'network_disconnect', { network: NET.lan3, container: 'ckr-h1' });
    expect(d.warnings).toBeUndefined();
    expect(await defaultVia('ckr-h1')).toEqual([R1.lan1]);
    expect((await hostExec('ckr-h1', ['ip', '-4', '-br', 'addr'])).stdout).not.toContain('10.237.3.');
    expect(await pings(hostExec, 'ckr-h1', H2)).toBe(true);
    // Docker let go of it completely: no half-joined network comes back at the next start.
    expect(await dockerNetworks('ckr-h1')).toEqual([NET.lan1]);
    // and it can join again
    await call(lab, 'network_connect', { network: NET.lan3, container: 'ckr-h1' });
    expect(await defaultVia('ckr-h1')).toEqual([R1.lan1]);
    await call(lab, 'network_disconnect', { network: NET.lan3, container: 'ckr-h1' });
    expect(await defaultVia('ckr-h1')).toEqual([R1.lan1]);
  });

  it('connects a host to two networks at once, each time keeping its default route', async () => {
    const both = await Promise.all([
      call(lab, 'network_connect', { network: NET.lan3, container: 'ckr-h1' }),
      call(lab, 'network_connect', { network: NET.lan4, container: 'ckr-h1' }),
    ]);
    expect(both.every((c) => c.warnings === undefined)).toBe(true);
    expect(await defaultVia('ckr-h1')).toEqual([R1.lan1]);
    expect(await pings(hostExec, 'ckr-h1', H3)).toBe(true);
    expect(await pings(hostExec, 'ckr-h1', H4)).toBe(true);
    await Promise.all([
      call(lab, 'network_disconnect', { network: NET.lan3, container: 'ckr-h1' }),
      call(lab, 'network_disconnect', { network: NET.lan4, container: 'ckr-h1' }),
    ]);
    expect(await defaultVia('ckr-h1')).toEqual([R1.lan1]);
    expect(await pings(hostExec, 'ckr-h1', H2)).toBe(true);
    expect(await dockerNetworks('ckr-h1')).toEqual([NET.lan1]);
  });

  it('connects a stopped host; at its start it takes its gateway again', async () => {
    await call(lab, 'host_stop', { name: 'ckr-h1' });
    await call(lab, 'network_connect', { network: NET.lan3, container: 'ckr-h1' });
    await call(lab, 'host_start', { name: 'ckr-h1' });
    await waitFor('h1 default via r1 after start', async () => ((await defaultVia('ckr-h1'))[0] === R1.lan1 ? true : undefined), 20, 500);
    expect(await pings(hostExec, 'ckr-h1', H3)).toBe(true);
    await call(lab, 'network_disconnect', { network: NET.lan3, container: 'ckr-h1' });
    expect(await defaultVia('ckr-h1')).toEqual([R1.lan1]);
    expect(await pings(hostExec, 'ckr-h1', H2)).toBe(true);
  });

  it('says so when a host leaves the network its default route went through', async () => {
    await call(lab, 'network_connect', { network: NET.lan3, container: 'ckr-h1' });
    const d = await call<{ warnings?: string[] }>(lab, 'network_disconnect', { network: NET.lan1, container: 'ckr-h1' });
    expect(d.warnings).toEqual([
      expect.stringMatching(
        new RegExp(`^the route 'default via ${R1.lan1.replaceAll('.', '\\.')} dev eth\\d+ metric 0' of 'ckr-h1' could not be put back`),
      ),
    ]);
    // back as it was for the tests below
    await call(lab, 'network_connect', { network: NET.lan1, container: 'ckr-h1' });
    await call(lab, 'network_disconnect', { network: NET.lan3, container: 'ckr-h1' });
    expect((await hostExec('ckr-h1', ['ip', 'route', 'replace', 'default', 'via', R1.lan1])).exit_code).toBe(0);
    expect(await pings(hostExec, 'ckr-h1', H2)).toBe(true);
  });

  it('connects an FRR daemon to a network whose prefix it learned over BGP, keeping its session and routes', async () => {
    const before = await waitFor('r1 Established', () => session('ckr-r1'), 30);
    const learned = (await routes('daemon', 'ckr-r1')).filter((r) => r.protocol === 'bgp').map((r) => r.dst);
    expect(learned.sort()).toEqual(['10.237.2.0/24', '10.237.4.0/24']);
    const c = await call<{ ip: string; warnings?: string[] }>(lab, 'network_connect', { network: NET.lan4, container: 'ckr-r1' });
    expect(c.warnings).toBeUndefined();
    // nothing stays frozen, and the watchdog that would have thawed it is gone
    expect((await daemonExec('ckr-r1', ['ps', '-eo', 'stat=,args='])).stdout).not.toMatch(/^T|sleep 15/m);
    expect(await pings(daemonExec, 'ckr-r1', H4)).toBe(true);
    const after = await routes('daemon', 'ckr-r1');
    // lan4 is connected now (zebra prefers that to its BGP route); lan2 is still learned from r2
    expect(after.find((r) => r.dst === '10.237.4.0/24' && r.protocol === 'kernel')?.dev).toBeDefined();
    expect(after.find((r) => r.dst === '10.237.2.0/24' && r.protocol === 'bgp')?.gateway).toBe(R2.core);
    expect(await pings(hostExec, 'ckr-h1', H2)).toBe(true);
    await call(lab, 'network_disconnect', { network: NET.lan4, container: 'ckr-r1' });
    // the BGP route for lan4 is back once the connected one is gone
    await waitFor(
      'r1 routes lan4 over BGP again',
      async () => ((await routes('daemon', 'ckr-r1')).some((r) => r.dst === '10.237.4.0/24' && r.protocol === 'bgp') ? true : undefined),
      20,
    );
    const still = await session('ckr-r1');
    expect(still).toBeDefined();
    // one session all along: its uptime went on, it did not start over
    expect(still?.uptime_s ?? 0).toBeGreaterThanOrEqual(before.uptime_s ?? 0);
    expect(await pings(hostExec, 'ckr-h1', H2)).toBe(true);
  });

  it('connects a GoBGP daemon to a network whose prefix it installed from BGP, keeping that route and its session', async () => {
    const before = await waitFor('r2 Established', () => session('ckr-r2'), 30);
    const lan1 = (r: Route) => r.dst === '10.237.1.0/24' && r.protocol === 'bgp';
    expect((await routes('daemon', 'ckr-r2')).find(lan1)?.gateway).toBe(R1.core);
    const c = await call<{ warnings?: string[] }>(lab, 'network_connect', { network: NET.lan1, container: 'ckr-r2' });
    expect(c.warnings).toBeUndefined();
    const after = await routes('daemon', 'ckr-r2');
    expect(after.find(lan1)?.gateway).toBe(R1.core);
    expect(after.some((r) => r.dst === '10.237.1.0/24' && r.protocol === 'kernel')).toBe(true);
    expect(after.some((r) => r.dst === '10.237.2.0/24' && r.protocol === 'kernel')).toBe(true);
    expect(await pings(daemonExec, 'ckr-r2', R1.lan1)).toBe(true);
    expect(await pings(hostExec, 'ckr-h1', H2)).toBe(true);
    await call(lab, 'network_disconnect', { network: NET.lan1, container: 'ckr-r2' });
    expect((await routes('daemon', 'ckr-r2')).find(lan1)?.gateway).toBe(R1.core);
    const still = await session('ckr-r2');
    expect(still).toBeDefined();
    expect(still?.uptime_s ?? 0).toBeGreaterThanOrEqual(before.uptime_s ?? 0);
    expect(await pings(hostExec, 'ckr-h1', H2)).toBe(true);
    expect(await dockerNetworks('ckr-r2')).toEqual([NET.core, NET.lan2].sort());
  });
});
