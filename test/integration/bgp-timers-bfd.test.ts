import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lab } from '../../src/core/lab.js';
import { call, callError, sweep, testLab, waitFor } from '../helpers/docker.js';

/**
 * Per-session BFD and BGP timers on a real engine:
 *   r1 FRR 65101 == BFD, hold 3 / keepalive 1 == r2 FRR 65102
 *   r1 -- hold 6 / keepalive 2 -- r3 GoBGP 65103
 * then an FRR daemon made by hand, peered live with BFD and a long hold time, frozen: BFD takes
 * the session down in about a second where the hold time alone would take a minute.
 */
const RUN = `bfd-${process.pid}`;
const TOPO = 'bfdtimers';
const NAME = { r1: `${TOPO}-r1`, r2: `${TOPO}-r2`, r3: `${TOPO}-r3`, core: `${TOPO}-core`, r4: 'bfdt-r4' };
const IP = { r1: '10.163.40.11', r2: '10.163.40.12', r3: '10.163.40.13', r4: '10.163.40.14' };

const file = (sessions: string) => `
name: ${TOPO}
networks:
  core: { subnet: 10.163.40.0/24 }
nodes:
  r1: { kind: frr, asn: 65101, interfaces: { core: ${IP.r1} } }
  r2: { kind: frr, asn: 65102, interfaces: { core: ${IP.r2} } }
  r3: { kind: gobgp, asn: 65103, interfaces: { core: ${IP.r3} } }
bgp:
  sessions:
${sessions}`;

const GOOD = file(`    - { a: r1, b: r2, bfd: true, hold_s: 3, keepalive_s: 1 }
    - { a: r1, b: r3, hold_s: 6, keepalive_s: 2 }
`);

type Status = { neighbors: Array<{ address: string; state: string; bfd?: string }> };
type BfdPeer = { peer: string; status: string; 'receive-interval': number; 'transmit-interval': number; 'detect-multiplier': number };
type FrrNeighbor = { bgpState: string; bgpTimerHoldTimeMsecs: number; bgpTimerKeepAliveIntervalMsecs: number };

let lab: Lab;
const docker = new Docker();

/** The JSON a daemon's own CLI prints, run inside its container. */
async function cli<T>(name: string, command: string[]): Promise<T> {
  const r = await call<{ exit_code: number; stdout: string; stderr: string }>(lab, 'daemon_exec', { name, command, timeout_s: 20 });
  if (r.exit_code !== 0) throw new Error(`${command.join(' ')} in ${name}: exit ${r.exit_code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
const bfdPeers = (name: string) => cli<BfdPeer[]>(name, ['vtysh', '-c', 'show bfd peers json']);
const frrNeighbors = (name: string) => cli<Record<string, FrrNeighbor>>(name, ['vtysh', '-c', 'show bgp neighbors json']);
const neighborOf = async (name: string, address: string) =>
  (await call<Status>(lab, 'daemon_status', { name })).neighbors.find((n) => n.address === address);

describe('per-session BFD and BGP timers', () => {
  beforeAll(() => {
    lab = testLab(RUN);
  });

  afterAll(async () => {
    await docker
      .getContainer(NAME.r4)
      .unpause()
      .catch(() => undefined);
    await sweep(RUN);
  });

  it('refuses BFD on a session with a GoBGP end, naming the field, and creates nothing', async () => {
    const bad = file(`    - { a: r1, b: r2, bfd: true }
    - { a: r1, b: r3, bfd: true, hold_s: 3 }
`);
    const err = await callError(lab, 'topology_create', { yaml: bad });
    expect(err.code).toBe('INVALID_INPUT');
    expect(err.message).toContain('bgp.sessions.1.bfd: r3 is gobgp: GoBGP 3.10 has no BFD; only frr does');
    expect(err.issues?.map((i) => i.path)).toEqual(['bgp.sessions.1.bfd']);
    expect((await call<{ topologies: unknown[] }>(lab, 'topology_list', {})).topologies).toEqual([]);
    // and a daemon made by hand is refused the same way
    const made = await callError(lab, 'daemon_create', {
      name: 'bfdt-gobgp',
      kind: 'gobgp',
      asn: 65109,
      interfaces: [{ network: 'nowhere' }],
      neighbors: [{ address: IP.r1, asn: 65101, bfd: true }],
    });
    expect(made.code).toBe('UNSUPPORTED');
    expect(made.message).toContain('neighbors.0.bfd: not supported by gobgp: GoBGP 3.10 has no BFD; only frr does');
    expect(await docker.listContainers({ all: true, filters: { label: [`netstream-lab.test=${RUN}`] } })).toEqual([]);
    expect(await docker.listNetworks({ filters: { label: [`netstream-lab.test=${RUN}`] } })).toEqual([]);
  });

  it('stands up the sessions with BFD up and the hold times the file asked for, read from the daemons', async () => {
    await call(lab, 'topology_create', { yaml: GOOD });
    const up = await call<{ established?: { all: boolean } }>(lab, 'topology_standup', { name: TOPO, wait_established_s: 90 });
    expect(up.established?.all).toBe(true);

    // BFD: both FRR ends see the other up, at the lab profile's 300 ms x 3
    for (const [self, peer] of [
      [NAME.r1, IP.r2],
      [NAME.r2, IP.r1],
    ] as const) {
      const p = await waitFor(
        `BFD up from ${self} to ${peer}`,
        async () => (await bfdPeers(self)).find((x) => x.peer === peer && x.status === 'up'),
        30,
      );
      expect(p).toMatchObject({ 'receive-interval': 300, 'transmit-interval': 300, 'detect-multiplier': 3 });
    }
    // no BFD towards the GoBGP peer
    expect((await bfdPeers(NAME.r1)).map((p) => p.peer)).toEqual([IP.r2]);

    // negotiated timers, as FRR reports them
    const r1 = await frrNeighbors(NAME.r1);
    expect(r1[IP.r2]).toMatchObject({ bgpState: 'Established', bgpTimerHoldTimeMsecs: 3000, bgpTimerKeepAliveIntervalMsecs: 1000 });
    expect(r1[IP.r3]).toMatchObject({ bgpState: 'Established', bgpTimerHoldTimeMsecs: 6000, bgpTimerKeepAliveIntervalMsecs: 2000 });
    // and as GoBGP reports them
    const r3 = await cli<{ timers: { config: Record<string, number>; state: Record<string, unknown> } }>(NAME.r3, [
      'gobgp',
      'neighbor',
      IP.r1,
      '-j',
    ]);
    expect(r3.timers.config).toMatchObject({ hold_time: 6, keepalive_interval: 2 });
    expect(r3.timers.state).toMatchObject({ negotiated_hold_time: 6, keepalive_interval: 2 });

    // daemon_status says which peers run BFD and how it is
    expect(await neighborOf(NAME.r1, IP.r2)).toMatchObject({ state: 'Established', bfd: 'up' });
    expect((await neighborOf(NAME.r1, IP.r3))?.bfd).toBeUndefined();
    // the records keep what the file said; a second standup changes nothing
    const rec = await call<{ neighbors: Array<Record<string, unknown>> }>(lab, 'daemon_get', { name: NAME.r2 });
    expect(rec.neighbors).toEqual([expect.objectContaining({ address: IP.r1, bfd: true, hold_s: 3, keepalive_s: 1 })]);
    const again = await call<{ plan: { summary: Record<string, number> } }>(lab, 'topology_standup', { name: TOPO });
    expect(again.plan.summary).toMatchObject({ create: 0, update: 0, recreate: 0, delete: 0 });
  });

  it('adds a BFD peer live with a long hold time: a frozen peer is noticed in seconds, not after the hold time', async () => {
    await call(lab, 'daemon_create', { name: NAME.r4, kind: 'frr', asn: 65104, interfaces: [{ network: NAME.core, ip: IP.r4 }] });
    const peer = { bfd: true, hold_s: 60, keepalive_s: 20 };
    const onR4 = await call<{ applied: string }>(lab, 'daemon_peer_add', { name: NAME.r4, address: IP.r2, asn: 65102, ...peer });
    const onR2 = await call<{ applied: string }>(lab, 'daemon_peer_add', { name: NAME.r2, address: IP.r4, asn: 65104, ...peer });
    expect([onR4.applied, onR2.applied]).toEqual(['live', 'live']);
    await waitFor(
      'r2-r4 Established with BFD up',
      async () => {
        const n = await neighborOf(NAME.r2, IP.r4);
        return n?.state === 'Established' && n.bfd === 'up' ? n : undefined;
      },
      60,
    );
    expect((await frrNeighbors(NAME.r2))[IP.r4]).toMatchObject({ bgpTimerHoldTimeMsecs: 60_000, bgpTimerKeepAliveIntervalMsecs: 20_000 });
    // a keepalive that does not fit the hold time is refused, naming the field
    const bad = await callError(lab, 'daemon_peer_add', { name: NAME.r2, address: IP.r3, asn: 65103, hold_s: 6, keepalive_s: 3 });
    expect(bad.message).toBe('keepalive_s: 3 is more than a third of hold_s (6): give at most 2');

    const t0 = Date.now();
    await docker.getContainer(NAME.r4).pause();
    await waitFor(
      'r2 to drop the frozen r4',
      async () => {
        const n = await neighborOf(NAME.r2, IP.r4);
        return n && n.state !== 'Established' ? n : undefined;
      },
      20,
      200,
    );
    const took = (Date.now() - t0) / 1000;
    process.stderr.write(`[measure] BFD: frozen peer dropped after ${took.toFixed(1)} s (hold time 60 s)\n`);
    expect(took).toBeLessThan(10);
    expect((await bfdPeers(NAME.r2)).find((p) => p.peer === IP.r4)?.status).toBe('down');
    // the session with r1, on its own BFD, stays up
    expect(await neighborOf(NAME.r2, IP.r1)).toMatchObject({ state: 'Established', bfd: 'up' });
    await docker.getContainer(NAME.r4).unpause();
  });
});
