import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../../src/core/bgp/index.js';
import { bgpConfig } from '../../src/core/daemons.js';
import type { Lab } from '../../src/core/lab.js';
import { maskText } from '../../src/core/secrets.js';
import { call, callError, fileIn, sweep, testLab, waitFor } from '../helpers/docker.js';

/**
 * A running lab changed in place:
 *   r1 FRR 65001 -- core -- r2 GoBGP 65002
 *                      \-- r3 ExaBGP 65003 (created with no peers at all)
 * then peers and prefixes added and removed live, networks connected and disconnected.
 */
const RUN = `live-${process.pid}`;
const NET = { core: 'ltest-core', lan: 'ltest-lan' };
const IP = { r1: '10.249.0.11', r2: '10.249.0.12', r3: '10.249.0.13' };

type Status = {
  state: string;
  daemon: string;
  neighbors: Array<{ address: string; state: string; prefixes_sent?: number }>;
  routes?: Array<{ prefix: string; next_hop?: string; direction?: string }>;
  note?: string;
};
type Change = { applied: string; note: string; daemon: { neighbors: Array<{ address: string }>; advertise: string[] } };

let lab: Lab;
const docker = new Docker();
const status = (name: string) => call<Status>(lab, 'daemon_status', { name });
const established = async (name: string, address: string) => {
  const s = await status(name);
  return s.neighbors.find((n) => n.address === address && n.state === 'Established') ? s : undefined;
};
const startedAt = async (name: string) => (await docker.getContainer(name).inspect()).State.StartedAt;

/** The daemon's config files in its container equal what the store renders now. */
async function filesMatchStore(name: string): Promise<void> {
  const state = await lab.store.read();
  const rec = state.daemons[name];
  if (!rec) throw new Error(`no record for ${name}`);
  for (const f of drivers[rec.kind].render(bgpConfig(rec, state))) {
    expect(await fileIn(name, f.path), `${name}:${f.path}`).toBe(f.content);
    // Read through the tool, the same file shows no session password.
    const r = await call<{ stdout: string }>(lab, 'daemon_exec', { name, command: ['cat', f.path] });
    expect(r.stdout, `${name}:${f.path}`).toBe(maskText(f.content));
  }
}

describe('changing a running lab in place', () => {
  const started: Record<string, string> = {};

  beforeAll(async () => {
    lab = testLab(RUN);
    await call(lab, 'network_create', { name: NET.core, subnet: '10.249.0.0/24' });
    await call(lab, 'network_create', { name: NET.lan, subnet: '10.249.1.0/24' });
    await Promise.all([
      call(lab, 'daemon_create', {
        name: 'ltest-r1',
        kind: 'frr',
        asn: 65001,
        interfaces: [{ network: NET.core, ip: IP.r1 }],
        neighbors: [{ address: IP.r2, asn: 65002 }],
      }),
      call(lab, 'daemon_create', {
        name: 'ltest-r2',
        kind: 'gobgp',
        asn: 65002,
        interfaces: [{ network: NET.core, ip: IP.r2 }],
        neighbors: [{ address: IP.r1, asn: 65001 }],
      }),
      call(lab, 'daemon_create', { name: 'ltest-r3', kind: 'exabgp', asn: 65003, interfaces: [{ network: NET.core, ip: IP.r3 }] }),
    ]);
    await waitFor('r1 <-> r2 Established', () => established('ltest-r2', IP.r1), 60);
    for (const n of ['ltest-r1', 'ltest-r2', 'ltest-r3']) started[n] = await startedAt(n);
  });

  afterAll(async () => {
    await sweep(RUN);
  });

  it('runs a daemon created with no peers (ExaBGP no longer crash-loops) and says it answered', async () => {
    await new Promise((r) => setTimeout(r, 3000));
    const s = await status('ltest-r3');
    expect(s).toMatchObject({ state: 'running', daemon: 'running', neighbors: [] });
    const info = await docker.getContainer('ltest-r3').inspect();
    expect(info.RestartCount).toBe(0);
    // only FRR gets SYS_ADMIN (its bgpd does not start without it); the others run without
    const caps = async (n: string) => (await docker.getContainer(n).inspect()).HostConfig.CapAdd?.sort();
    expect(await caps('ltest-r1')).toEqual(['NET_ADMIN', 'NET_RAW', 'SYS_ADMIN']);
    expect(await caps('ltest-r2')).toEqual(['NET_ADMIN', 'NET_RAW']);
    expect(await caps('ltest-r3')).toEqual(['NET_ADMIN', 'NET_RAW']);
    // a prefix advertised while there is no peer yet goes to the peers added later
    expect((await call<Change>(lab, 'daemon_route_advertise', { name: 'ltest-r3', prefix: '192.0.2.0/24' })).daemon.advertise).toEqual([
      '192.0.2.0/24',
    ]);
    expect(info.State.Restarting).toBe(false);
  });

  it('adds a peer live on ExaBGP (reloaded, not restarted) and on FRR (live): the session comes up', async () => {
    const exa = await call<Change>(lab, 'daemon_peer_add', {
      name: 'ltest-r3',
      address: IP.r1,
      asn: 65001,
      password: 'l1ve',
      description: 'to r1',
    });
    expect(exa.applied).toBe('reload');
    expect(exa.note).toMatch(/not restarted/);
    const frr = await call<Change>(lab, 'daemon_peer_add', { name: 'ltest-r1', address: IP.r3, asn: 65003, password: 'l1ve' });
    expect(frr.applied).toBe('live');
    expect(frr.daemon.neighbors.map((n) => n.address)).toEqual([IP.r2, IP.r3]);
    await waitFor('r3 -> r1 Established', () => established('ltest-r3', IP.r1), 60);
    await waitFor(
      'r1 learns what r3 advertised before it had peers',
      async () => (await status('ltest-r1')).routes?.find((r) => r.prefix === '192.0.2.0/24'),
      30,
    );
    // the session that was there all along stayed up
    expect(await established('ltest-r1', IP.r2)).toBeDefined();
  });

  it("advertises a prefix on FRR into GoBGP's RIB and withdraws it again, without restarting anything", async () => {
    const t0 = Date.now();
    const adv = await call<Change>(lab, 'daemon_route_advertise', { name: 'ltest-r1', prefix: '10.249.99.0/24' });
    expect(adv.applied).toBe('live');
    expect(adv.daemon.advertise).toEqual(['10.249.99.0/24']);
    const route = await waitFor(
      '10.249.99.0/24 in GoBGP',
      async () => (await status('ltest-r2')).routes?.find((r) => r.prefix === '10.249.99.0/24'),
      30,
      200,
    );
    process.stderr.write(`[measure] daemon_route_advertise on FRR -> prefix in GoBGP's RIB: ${((Date.now() - t0) / 1000).toFixed(2)} s\n`);
    expect(route.next_hop).toBe(IP.r1);
    // GoBGP reports what it sends, ExaBGP what it advertises
    const r2 = await status('ltest-r2');
    expect(r2.neighbors[0]?.prefixes_sent).toEqual(expect.any(Number));
    await call(lab, 'daemon_route_advertise', { name: 'ltest-r3', prefix: '198.51.100.0/24' });
    const out = await waitFor(
      'ExaBGP advertises 198.51.100.0/24',
      async () => (await status('ltest-r3')).routes?.find((r) => r.direction === 'out' && r.prefix === '198.51.100.0/24'),
      20,
      300,
    );
    expect(out).toMatchObject({ direction: 'out' });
    const t1 = Date.now();
    await call(lab, 'daemon_route_withdraw', { name: 'ltest-r1', prefix: '10.249.99.0/24' });
    await waitFor(
      '10.249.99.0/24 gone from GoBGP',
      async () => ((await status('ltest-r2')).routes?.some((r) => r.prefix === '10.249.99.0/24') ? undefined : true),
      30,
      200,
    );
    process.stderr.write(
      `[measure] daemon_route_withdraw on FRR -> prefix gone from GoBGP's RIB: ${((Date.now() - t1) / 1000).toFixed(2)} s\n`,
    );
    for (const n of ['ltest-r1', 'ltest-r2', 'ltest-r3']) expect(await startedAt(n), `${n} was restarted`).toBe(started[n]);
  });

  it('leaves the files in each container equal to what the store renders', async () => {
    await call(lab, 'daemon_route_advertise', { name: 'ltest-r2', prefix: '10.249.98.0/24' });
    for (const n of ['ltest-r1', 'ltest-r2', 'ltest-r3']) await filesMatchStore(n);
  });

  it('refuses bad changes clearly and changes nothing', async () => {
    const before = await lab.store.read();
    const dup = await callError(lab, 'daemon_peer_add', { name: 'ltest-r1', address: IP.r2, asn: 65002 });
    expect(dup.code).toBe('CONFLICT');
    expect(dup.message).toMatch(/already has a peer 10\.249\.0\.12/);
    const never = await callError(lab, 'daemon_route_withdraw', { name: 'ltest-r1', prefix: '203.0.113.0/24' });
    expect(never.code).toBe('NOT_FOUND');
    expect(never.message).toMatch(/203\.0\.113\.0\/24/);
    const far = await callError(lab, 'daemon_peer_add', { name: 'ltest-r1', address: '10.9.9.9', asn: 65009 });
    expect(far.code).toBe('INVALID_INPUT');
    expect(far.message).toMatch(/^address: 10\.9\.9\.9 is on none of the networks/);
    const nhs = await callError(lab, 'daemon_peer_add', { name: 'ltest-r2', address: IP.r3, asn: 65003, next_hop_self: true });
    expect(nhs.code).toBe('UNSUPPORTED');
    expect(nhs.message).toMatch(/next_hop_self.*gobgp/);
    const unknown = await callError(lab, 'daemon_route_advertise', { name: 'ltest-nobody', prefix: '203.0.113.0/24' });
    expect(unknown.code).toBe('NOT_FOUND');
    expect(unknown.message).toMatch(/ltest-nobody/);
    const bad = await callError(lab, 'daemon_route_advertise', { name: 'ltest-r1', prefix: '203.0.113.1/24' });
    expect(bad.code).toBe('INVALID_INPUT');
    expect(bad.message).toMatch(/prefix/);
    expect(await lab.store.read()).toEqual(before);
    // a multihop peer elsewhere is allowed
    const mh = await call<Change>(lab, 'daemon_peer_add', { name: 'ltest-r1', address: '10.9.9.9', asn: 65009, multihop: 3 });
    expect(mh.applied).toBe('live');
    await call(lab, 'daemon_peer_remove', { name: 'ltest-r1', address: '10.9.9.9' });
    await filesMatchStore('ltest-r1');
  });

  it('keeps live changes across daemon_stop / daemon_start and a recreate', async () => {
    await call(lab, 'daemon_route_advertise', { name: 'ltest-r1', prefix: '10.249.97.0/24' });
    await call(lab, 'daemon_stop', { name: 'ltest-r1' });
    await call(lab, 'daemon_start', { name: 'ltest-r1' });
    await waitFor('r1 -> r3 Established after restart', () => established('ltest-r1', IP.r3), 60);
    await waitFor(
      '10.249.97.0/24 in GoBGP after restart',
      async () => (await status('ltest-r2')).routes?.find((r) => r.prefix === '10.249.97.0/24'),
      60,
    );
    await docker.getContainer('ltest-r3').remove({ force: true });
    await call(lab, 'daemon_start', { name: 'ltest-r3' });
    await waitFor('recreated r3 -> r1 Established', () => established('ltest-r3', IP.r1), 60);
    await waitFor(
      'r3 advertises 198.51.100.0/24 again',
      async () => (await status('ltest-r3')).routes?.find((r) => r.direction === 'out'),
      30,
    ).catch(async (err) => {
      throw new Error(`${(err as Error).message}; daemon_status: ${JSON.stringify(await status('ltest-r3'))}`);
    });
    await filesMatchStore('ltest-r3');
  });

  it('connects a daemon to a new network so a peer there can be added right after; a stranding disconnect is refused', async () => {
    const c1 = await call<{ ip: string }>(lab, 'network_connect', { network: NET.lan, container: 'ltest-r1' });
    const c2 = await call<{ ip: string }>(lab, 'network_connect', { network: NET.lan, container: 'ltest-r3' });
    await call(lab, 'daemon_peer_add', { name: 'ltest-r1', address: c2.ip, asn: 65003 });
    const add = await call<Change>(lab, 'daemon_peer_add', { name: 'ltest-r3', address: c1.ip, asn: 65001 });
    expect(add.applied).toBe('reload');
    await waitFor('r3 -> r1 over lan Established', () => established('ltest-r3', c1.ip), 60);
    await filesMatchStore('ltest-r3');
    const refused = await callError(lab, 'network_disconnect', { network: NET.lan, container: 'ltest-r3' });
    expect(refused.code).toBe('CONFLICT');
    expect(refused.message).toContain(`peer ${c1.ip} on no shared network`);
    expect((await call<{ interfaces: unknown[] }>(lab, 'daemon_get', { name: 'ltest-r3' })).interfaces).toHaveLength(2);
    const forced = await call<{ warnings?: string[]; bgp?: { applied: string } }>(lab, 'network_disconnect', {
      network: NET.lan,
      container: 'ltest-r3',
      force: true,
    });
    expect(forced.warnings?.[0]).toContain(c1.ip);
    await filesMatchStore('ltest-r3');
    // the core session is untouched
    expect(await established('ltest-r3', IP.r1)).toBeDefined();
  });

  it('reports a daemon that keeps exiting as such, never as running', async () => {
    const info = await docker.getContainer('ltest-r3').inspect();
    const exec = await docker.getContainer(info.Id).exec({ Cmd: ['sh', '-c', 'echo "neighbor { broken" > /etc/exabgp/exabgp.conf'] });
    await exec.start({});
    await docker.getContainer(info.Id).restart({ t: 1 });
    const s = await waitFor(
      'r3 seen failing',
      async () => {
        const st = await status('ltest-r3');
        return st.daemon === 'restarting' || (st.state === 'restarting' && st.daemon !== 'running') ? st : undefined;
      },
      30,
      200,
    );
    expect(s.neighbors).toEqual([]);
    expect(s.note).toMatch(/keeps exiting/);
    // recreate from the store: the good configuration comes back
    await docker.getContainer(info.Id).remove({ force: true });
    await call(lab, 'daemon_start', { name: 'ltest-r3' });
    await waitFor('r3 healthy again', () => established('ltest-r3', IP.r1), 60);
  });
});
