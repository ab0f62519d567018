import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lab } from '../../src/core/lab.js';
import { call, callError, sweep, testLab, waitFor } from '../helpers/docker.js';

/**
 * An internet exchange on a real engine: a BIRD route server (AS 65000) and three clients on one
 * exchange network, each peering with the route server only.
 *
 *   lan1 (h1) -- frr 65001 --+
 *                gobgp 65002 +-- ix 10.178.0.0/24 -- rs (bird 65000, route_server)
 *   lan2 (h2) --/            |
 *                obgpd 65003 +
 *
 * The route server is transparent: each client learns the others' prefixes with the originator's
 * AS alone in the path and the originator's exchange address as next hop, so traffic goes from
 * client to client, never through the route server.
 */
const RUN = `route-server-${process.pid}`;
const T = 'rsx';
const IP = { rs: '10.178.0.10', frr: '10.178.0.11', gobgp: '10.178.0.12', obgpd: '10.178.0.13' };
const PFX = { frr: '10.178.1.0/24', gobgp: '10.178.2.0/24', obgpd: '10.178.3.0/24' };
const ASN = { rs: 65000, frr: 65001, gobgp: 65002, obgpd: 65003 };
const spec = (routeServer: boolean) => `
name: ${T}
networks:
  ix:   { subnet: 10.178.0.0/24 }
  lan1: { subnet: 10.178.1.0/24 }
  lan2: { subnet: 10.178.2.0/24 }
nodes:
  rs:    { kind: bird,     asn: ${ASN.rs}, route_server: ${routeServer}, interfaces: { ix: ${IP.rs} } }
  frr:   { kind: frr,      asn: ${ASN.frr}, interfaces: { ix: ${IP.frr}, lan1: auto }, advertise: [${PFX.frr}] }
  gobgp: { kind: gobgp,    asn: ${ASN.gobgp}, interfaces: { ix: ${IP.gobgp}, lan2: auto }, advertise: [${PFX.gobgp}] }
  obgpd: { kind: openbgpd, asn: ${ASN.obgpd}, interfaces: { ix: ${IP.obgpd} }, advertise: [${PFX.obgpd}] }
  h1: { kind: host, interfaces: { lan1: auto }, gateway: frr }
  h2: { kind: host, interfaces: { lan2: auto }, gateway: gobgp }
bgp:
  sessions:
    - [rs, frr]
    - [rs, gobgp]
    - [rs, obgpd]
`;

type Neighbor = { address: string; asn: number; state: string; uptime_s?: number };
type Route = { prefix: string; next_hop?: string; as_path?: number[]; best?: boolean };
type Status = { kind: string; daemon: string; neighbors: Neighbor[]; routes?: Route[] };
type Exec = { exit_code: number; stdout: string; stderr: string };
type Client = 'frr' | 'gobgp' | 'obgpd';

let lab: Lab;
const docker = new Docker();
const name = (node: string) => `${T}-${node}`;
const status = (node: string) => call<Status>(lab, 'daemon_status', { name: name(node) });
const best = async (node: string, prefix: string) => (await status(node)).routes?.find((r) => r.prefix === prefix && r.best);
const hostIp = async (node: string) =>
  (await call<{ interfaces: Array<{ ip: string }> }>(lab, 'host_get', { name: name(node) })).interfaces[0]?.ip as string;
const started = async (node: string) => {
  const i = await docker.getContainer(name(node)).inspect();
  return { id: i.Id, startedAt: i.State.StartedAt, restarts: i.RestartCount };
};
const CLIENTS: Client[] = ['frr', 'gobgp', 'obgpd'];

describe('a BIRD route server with FRR, GoBGP and OpenBGPD clients on one exchange network', () => {
  beforeAll(async () => {
    lab = testLab(RUN);
    await call(lab, 'topology_create', { yaml: spec(true) });
    const up = await call<{ established?: { all: boolean; not_established: string[] } }>(lab, 'topology_standup', {
      name: T,
      wait_established_s: 90,
    });
    expect(up.established).toMatchObject({ all: true, not_established: [] });
  });

  afterAll(async () => {
    await sweep(RUN);
  });

  it('shows the flag on the route server and brings every session to Established', async () => {
    const rs = await call<{ route_server?: boolean; neighbors: Array<{ address: string; route_server?: boolean }> }>(lab, 'daemon_get', {
      name: name('rs'),
    });
    expect(rs.route_server).toBe(true);
    // the clients know their peer is a route server
    const frr = await call<{ route_server?: boolean; neighbors: Array<{ address: string; route_server?: boolean }> }>(lab, 'daemon_get', {
      name: name('frr'),
    });
    expect(frr.route_server).toBeUndefined();
    expect(frr.neighbors).toMatchObject([{ address: IP.rs, route_server: true }]);
    const conf = await call<Exec>(lab, 'daemon_exec', { name: name('rs'), command: ['cat', '/etc/bird/bird.conf'] });
    expect(conf.stdout.match(/^ {2}rs client;$/gm)).toHaveLength(3);

    const s = await status('rs');
    expect(s).toMatchObject({ kind: 'bird', daemon: 'running' });
    expect(s.neighbors.map((n) => [n.address, n.asn, n.state])).toEqual([
      [IP.frr, ASN.frr, 'Established'],
      [IP.gobgp, ASN.gobgp, 'Established'],
      [IP.obgpd, ASN.obgpd, 'Established'],
    ]);
    for (const c of CLIENTS) {
      const cs = await status(c);
      expect(
        cs.neighbors.map((n) => [n.address, n.asn, n.state]),
        c,
      ).toEqual([[IP.rs, ASN.rs, 'Established']]);
    }
  });

  it("gives each client the other clients' prefixes with the originator's AS alone in the path and its exchange address as next hop", async () => {
    for (const client of CLIENTS) {
      for (const origin of CLIENTS.filter((o) => o !== client)) {
        const prefix = PFX[origin];
        const r = await waitFor(`${prefix} in ${client}`, () => best(client, prefix), 30);
        expect({ client, prefix, as_path: r.as_path, next_hop: r.next_hop }).toEqual({
          client,
          prefix,
          as_path: [ASN[origin]],
          next_hop: IP[origin],
        });
      }
    }
    // the route server holds them too, as learned from each client
    for (const origin of CLIENTS) {
      expect(await best('rs', PFX[origin])).toMatchObject({ as_path: [ASN[origin]], next_hop: IP[origin] });
    }
  });

  it('carries traffic from a host behind FRR to a host behind GoBGP client to client, not through the route server', async () => {
    const target = await hostIp('h2');
    await waitFor(
      'h1 -> h2 ping, both echoes answered',
      async () => {
        const p = await call<Exec>(lab, 'host_exec', { name: name('h1'), command: ['ping', '-c', '2', '-W', '2', target], timeout_s: 20 });
        // Both echoes answered: ping exits 0 on one of two, which is what a path still converging
        // gives (CI once saw icmp_seq=1 lost while the return route reached the kernel).
        return p.exit_code === 0 && / 2 received/.test(p.stdout) ? p : undefined;
      },
      45,
      2000,
    );
    const tr = await call<Exec>(lab, 'host_exec', {
      name: name('h1'),
      command: ['traceroute', '-n', '-I', '-q', '1', '-w', '2', '-m', '6', target],
      timeout_s: 30,
    });
    expect(tr.exit_code, tr.stderr).toBe(0);
    const hops = tr.stdout
      .split('\n')
      .slice(1)
      .map((l) => /^\s*\d+\s+(\d+\.\d+\.\d+\.\d+)/.exec(l)?.[1])
      .filter((h): h is string => h !== undefined);
    // h1 -> frr (its lan1 address) -> gobgp (its exchange address) -> h2
    expect(hops).toHaveLength(3);
    expect(hops[1]).toBe(IP.gobgp);
    expect(hops.at(-1)).toBe(target);
    expect(hops).not.toContain(IP.rs);
  });

  it('turns route server mode off and on again on the running BIRD without restarting its container', async () => {
    const before = await started('rs');
    await call(lab, 'topology_create', { yaml: spec(false), replace: true });
    const plan = await call<{ items: Array<{ kind: string; name: string; action: string; reason?: string }> }>(lab, 'topology_plan', {
      name: T,
    });
    const item = plan.items.find((i) => i.kind === 'node' && i.name === name('rs'));
    expect(item).toMatchObject({ action: 'update' });
    expect(item?.reason).toMatch(/route_server turns off \(birdc configure/);
    await call(lab, 'topology_standup', { name: T, wait_established_s: 60 });
    // now the route server's AS is in the path (and FRR, a client no longer, accepts it)
    const off = await waitFor(
      `${PFX.gobgp} through AS ${ASN.rs} in frr`,
      async () => {
        const r = await best('frr', PFX.gobgp);
        return r?.as_path?.[0] === ASN.rs ? r : undefined;
      },
      45,
    );
    expect(off.as_path).toEqual([ASN.rs, ASN.gobgp]);
    expect((await call<{ route_server?: boolean }>(lab, 'daemon_get', { name: name('rs') })).route_server).toBeUndefined();

    await call(lab, 'topology_create', { yaml: spec(true), replace: true });
    await call(lab, 'topology_standup', { name: T, wait_established_s: 60 });
    const on = await waitFor(
      `${PFX.gobgp} straight from AS ${ASN.gobgp} in frr`,
      async () => {
        const r = await best('frr', PFX.gobgp);
        return r?.as_path?.length === 1 ? r : undefined;
      },
      45,
    );
    expect(on).toMatchObject({ as_path: [ASN.gobgp], next_hop: IP.gobgp });
    expect(await started('rs')).toEqual(before);
  });

  it('refuses route_server for ExaBGP, naming the field', async () => {
    const v = await call<{ valid: boolean; errors: Array<{ path: string; message: string }> }>(lab, 'topology_validate', {
      yaml: `
name: rsx-bad
networks: { ix: { subnet: 10.178.9.0/24 } }
nodes:
  r5: { kind: exabgp, asn: 65005, route_server: true, interfaces: { ix: auto } }
`,
    });
    expect(v.valid).toBe(false);
    expect(v.errors).toEqual([{ path: 'nodes.r5.route_server', message: expect.stringMatching(/^exabgp cannot be a route server/) }]);
    const direct = await callError(lab, 'daemon_create', {
      name: 'rsx-exa',
      kind: 'exabgp',
      asn: 65005,
      route_server: true,
      interfaces: [{ network: name('ix') }],
    });
    expect(direct.code).toBe('UNSUPPORTED');
    expect(direct.message).toMatch(/^route_server: exabgp cannot be a route server/);
  });
});
