import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FRR_CONF_PATH, frrDriver, renderFrrConf } from '../../src/core/bgp/frr.js';
import type { BgpConfig } from '../../src/core/bgp/types.js';
import { LAB } from '../fixtures/bgp/lab.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/bgp/${name}`, import.meta.url), 'utf8');

const r1 = LAB.r1;
const base: BgpConfig = {
  name: 'r1',
  kind: 'frr',
  asn: 65001,
  router_id: '10.0.0.1',
  interfaces: [{ network: 'core', ip: '10.0.0.1', subnet: '10.0.0.0/24' }],
  neighbors: [{ address: '10.0.0.2', asn: 65002 }],
  advertise: [],
};

describe('frr render', () => {
  it('renders exactly the frr.conf that FRR 8.4 ran in the lab', () => {
    const files = frrDriver.render(r1);
    expect(files.map((f) => f.path)).toEqual([FRR_CONF_PATH]);
    expect(files[0]?.content).toBe(fixture('rendered/r1-frr.conf'));
  });

  it('sets lab timers, disables the RFC 8212 and import checks, originates networks', () => {
    const conf = renderFrrConf({ ...base, advertise: ['198.51.100.0/24', '203.0.113.0/25'] });
    const lines = conf.split('\n');
    for (const want of [
      'frr defaults traditional',
      'hostname r1',
      'router bgp 65001',
      ' bgp router-id 10.0.0.1',
      ' no bgp ebgp-requires-policy',
      ' no bgp network import-check',
      ' timers bgp 3 9',
      ' neighbor 10.0.0.2 remote-as 65002',
      ' neighbor 10.0.0.2 timers 3 9',
      ' neighbor 10.0.0.2 timers connect 2',
      '  network 198.51.100.0/24',
      '  network 203.0.113.0/25',
      '  neighbor 10.0.0.2 activate',
    ]) {
      expect(lines).toContain(want);
    }
    expect(conf).not.toMatch(/password|description|ebgp-multihop/);
  });

  it('writes password, description and ebgp-multihop (eBGP only)', () => {
    const conf = renderFrrConf({
      ...base,
      neighbors: [
        { address: '10.0.0.2', asn: 65002, password: 's3cr#t!"', description: '  core   link  ', multihop: 3 },
        { address: '10.0.0.3', asn: 65001, multihop: 2 },
      ],
    });
    expect(conf).toContain(' neighbor 10.0.0.2 password s3cr#t!"\n');
    // FRR joins the words of a description with single spaces: render what it will show.
    expect(conf).toContain(' neighbor 10.0.0.2 description core link\n');
    expect(conf).toContain(' neighbor 10.0.0.2 ebgp-multihop 3\n');
    expect(conf).not.toContain('neighbor 10.0.0.3 ebgp-multihop');
  });

  it('never lets a description or password inject config lines', () => {
    const inject = 'x\n neighbor 10.6.6.6 remote-as 666';
    expect(() => renderFrrConf({ ...base, neighbors: [{ address: '10.0.0.2', asn: 65002, description: inject }] })).toThrow(
      /neighbors\[0\]\.description/,
    );
    expect(() => renderFrrConf({ ...base, neighbors: [{ address: '10.0.0.2', asn: 65002, description: 'a\rb' }] })).toThrow(
      /neighbors\[0\]\.description/,
    );
    expect(() => renderFrrConf({ ...base, neighbors: [{ address: '10.0.0.2', asn: 65002, password: inject }] })).toThrow(
      /neighbors\[0\]\.password/,
    );
    expect(() => renderFrrConf({ ...base, neighbors: [{ address: '10.0.0.2', asn: 65002, password: 'two words' }] })).toThrow(
      /neighbors\[0\]\.password must not contain whitespace/,
    );
    expect(() => renderFrrConf({ ...base, name: 'r1\nrouter bgp 1' })).toThrow(/name/);
  });

  it('keeps a blank description out of the config', () => {
    expect(renderFrrConf({ ...base, neighbors: [{ address: '10.0.0.2', asn: 65002, description: '   ' }] })).not.toContain('description');
  });

  it('writes per-neighbor timers and BFD with the lab profile, and the lab timers where none are set', () => {
    const conf = renderFrrConf({
      ...base,
      neighbors: [
        { address: '10.0.0.2', asn: 65002, bfd: true, hold_s: 3, keepalive_s: 1 },
        { address: '10.0.0.3', asn: 65003, hold_s: 6 },
        { address: '10.0.0.4', asn: 65004, hold_s: 0 },
        { address: '10.0.0.5', asn: 65005, bfd: false },
      ],
    });
    const lines = conf.split('\n');
    for (const want of [
      ' neighbor 10.0.0.2 timers 1 3',
      ' neighbor 10.0.0.2 bfd profile nslab',
      // keepalive follows a shorter hold time: a third of it
      ' neighbor 10.0.0.3 timers 2 6',
      ' neighbor 10.0.0.4 timers 0 0',
      ' neighbor 10.0.0.5 timers 3 9',
    ]) {
      expect(lines).toContain(want);
    }
    expect(conf.match(/bfd profile/g)).toHaveLength(1);
    // the profile: 300 ms both ways, 3 missed packets and the peer is down; defined before router bgp
    expect(conf).toContain(
      '!\nbfd\n profile nslab\n  detect-multiplier 3\n  receive-interval 300\n  transmit-interval 300\n exit\n !\nexit\n!\nrouter bgp 65001\n',
    );
    // no BFD peer, no bfd block
    expect(renderFrrConf({ ...base, neighbors: [{ address: '10.0.0.2', asn: 65002, hold_s: 30 }] })).not.toMatch(/^bfd|bfd profile/m);
  });

  it('refuses timers BGP does not allow, naming the field', () => {
    const bad = (n: object) => () => renderFrrConf({ ...base, neighbors: [{ address: '10.0.0.2', asn: 65002, ...n }] });
    expect(bad({ hold_s: 2 })).toThrow(/neighbors\[0\]\.hold_s must be 0 or between 3 and 65535 seconds, got 2/);
    expect(bad({ hold_s: 65536 })).toThrow(/neighbors\[0\]\.hold_s/);
    expect(bad({ keepalive_s: 0 })).toThrow(/neighbors\[0\]\.keepalive_s must be between 1 and 21845/);
    expect(bad({ hold_s: 6, keepalive_s: 3 })).toThrow(
      /neighbors\[0\]\.keepalive_s: 3 is more than a third of hold_s \(6\): give at most 2/,
    );
    expect(bad({ keepalive_s: 4 })).toThrow(/more than a third of the lab's default hold time \(9 s\).*set hold_s to at least 12/);
    expect(bad({ hold_s: 0, keepalive_s: 1 })).toThrow(/hold_s 0 turns keepalives off/);
  });
});

describe('frr parse', () => {
  it('reads `show bgp neighbors json` (two Established, one not) and never makes up an unreported neighbor', () => {
    const cfg = { ...r1, neighbors: [...r1.neighbors, { address: '10.250.0.77', asn: 65077 }] };
    const got = frrDriver.parseNeighbors(fixture('frr-neighbors.stdout'), cfg);
    expect(got.map((n) => [n.address, n.asn, n.state])).toEqual([
      ['10.250.0.12', 65002, 'Established'],
      ['10.250.0.13', 65003, 'Established'],
      ['10.250.0.99', 65099, 'Active'],
    ]);
    const [toR2, toR3, dead] = got;
    expect(toR2?.prefixes_received).toBe(1);
    expect(toR2?.prefixes_sent).toBeGreaterThanOrEqual(1);
    expect(toR3?.prefixes_received).toBe(1);
    expect(toR2?.uptime_s).toBeGreaterThan(0);
    expect(Number.isInteger(toR2?.uptime_s)).toBe(true);
    expect(dead?.uptime_s).toBeUndefined();
  });

  it('maps qualified states such as "Idle (Admin)"', () => {
    const out = JSON.stringify({
      '10.0.0.2': { remoteAs: 65002, bgpState: 'Idle (Admin)', bgpTimerUpMsec: 5000 },
      '10.0.0.3': { remoteAs: 65003, bgpState: 'OpenSent' },
    });
    const cfg = { ...base, neighbors: [...base.neighbors, { address: '10.0.0.3', asn: 65003 }] };
    expect(frrDriver.parseNeighbors(out, cfg)).toEqual([
      { address: '10.0.0.2', asn: 65002, state: 'Idle' },
      { address: '10.0.0.3', asn: 65003, state: 'OpenSent' },
    ]);
  });

  it('reads the BFD state of peers that run BFD, and leaves it out for the others', () => {
    const out = JSON.stringify({
      '10.0.0.2': { remoteAs: 65002, bgpState: 'Established', peerBfdInfo: { type: 'single hop', status: 'Up' } },
      '10.0.0.3': { remoteAs: 65003, bgpState: 'Active', peerBfdInfo: { status: 'Down' } },
      '10.0.0.4': { remoteAs: 65004, bgpState: 'Active', peerBfdInfo: { status: 'Init' } },
      '10.0.0.5': { remoteAs: 65005, bgpState: 'Active' },
    });
    const cfg = { ...base, neighbors: ['2', '3', '4', '5'].map((x) => ({ address: `10.0.0.${x}`, asn: 65000 + Number(x) })) };
    expect(frrDriver.parseNeighbors(out, cfg).map((n) => [n.address, n.bfd])).toEqual([
      ['10.0.0.2', 'up'],
      ['10.0.0.3', 'down'],
      ['10.0.0.4', 'down'],
      ['10.0.0.5', undefined],
    ]);
  });

  it('reports no neighbor state when FRR has none ({}), rather than a made-up Idle', () => {
    expect(frrDriver.parseNeighbors('{\n}\n', base)).toEqual([]);
  });

  it('reads `show ip bgp json`', () => {
    const routes = frrDriver.parseRoutes(fixture('frr-routes.stdout'));
    expect(routes).toEqual([
      { prefix: '192.0.2.0/24', next_hop: '10.250.0.12', as_path: [65002], best: true },
      { prefix: '198.51.100.0/24', next_hop: '10.250.0.13', as_path: [65003], best: true },
      { prefix: '203.0.113.0/24', next_hop: '0.0.0.0', as_path: [], best: true },
    ]);
  });

  it('returns no routes without a BGP instance, one entry per path otherwise', () => {
    expect(frrDriver.parseRoutes('{\n  "warning":"Default BGP instance not found"\n}\n')).toEqual([]);
    const two = JSON.stringify({
      routes: {
        '10.9.0.0/16': [
          { bestpath: true, path: '65002 65010', nexthops: [{ ip: '10.0.0.2', used: true }] },
          { path: '65003 {65010,65011}', nexthops: [{ ip: '10.0.0.3', used: true }] },
        ],
      },
    });
    expect(frrDriver.parseRoutes(two)).toEqual([
      { prefix: '10.9.0.0/16', next_hop: '10.0.0.2', as_path: [65002, 65010], best: true },
      { prefix: '10.9.0.0/16', next_hop: '10.0.0.3', as_path: [65003, 65010, 65011], best: false },
    ]);
  });

  it('throws a clear error on unparseable output', () => {
    expect(() => frrDriver.parseNeighbors('Exiting: failed to connect to any daemons.', base)).toThrow(/FRR.*not JSON/);
    expect(() => frrDriver.parseNeighbors('', base)).toThrow(/empty output/);
    expect(() => frrDriver.parseNeighbors('[]', base)).toThrow(/expected a JSON object/);
    expect(() => frrDriver.parseRoutes('% Unknown command: show ip bgp jsn')).toThrow(/FRR show ip bgp json/);
  });
});

describe('frr live changes with timers and BFD', () => {
  it('adds a BFD peer live: the lab profile first, then the neighbor with its timers, both through vtysh', () => {
    const n = { address: '10.0.0.3', asn: 65003, bfd: true, hold_s: 3, keepalive_s: 1 };
    const after: BgpConfig = { ...base, neighbors: [...base.neighbors, n] };
    const plan = frrDriver.apply({ op: 'peer_add', neighbor: n }, after);
    expect(plan.mode).toBe('live');
    expect(plan.commands).toHaveLength(2);
    const [profile, peer] = plan.commands.map((argv) => argv.filter((_, i) => argv[i - 1] === '-c'));
    expect(profile).toEqual([
      'configure terminal',
      'bfd',
      'profile nslab',
      'detect-multiplier 3',
      'receive-interval 300',
      'transmit-interval 300',
      'end',
    ]);
    expect(peer).toEqual(expect.arrayContaining(['neighbor 10.0.0.3 timers 1 3', 'neighbor 10.0.0.3 bfd profile nslab']));
    // what the live change enters is what the file says
    const conf = renderFrrConf(after)
      .split('\n')
      .map((l) => l.trim());
    for (const l of [...(profile ?? []).slice(2, 6), ...(peer ?? []).filter((x) => x.startsWith('neighbor'))]) expect(conf).toContain(l);
    // a peer without BFD: one command, no bfd node
    const plain = frrDriver.apply({ op: 'peer_add', neighbor: { address: '10.0.0.4', asn: 65004, hold_s: 30 } }, after);
    expect(plain.commands).toHaveLength(1);
    expect(plain.commands[0]).toContain('neighbor 10.0.0.4 timers 3 30');
    expect(plain.commands[0]).not.toContain('bfd');
  });
});

describe('frr as a route server', () => {
  const neighbors = [
    { address: '10.0.0.2', asn: 65002 },
    { address: '10.0.0.3', asn: 65003 },
  ];

  it('makes every neighbor a route-server-client in the IPv4 unicast address family', () => {
    const conf = renderFrrConf({ ...base, route_server: true, neighbors });
    const af = conf.slice(conf.indexOf(' address-family ipv4 unicast'), conf.indexOf(' exit-address-family'));
    for (const n of neighbors) expect(af).toContain(`  neighbor ${n.address} route-server-client\n`);
    expect(conf.match(/route-server-client/g)).toHaveLength(2);
    expect(renderFrrConf({ ...base, neighbors })).not.toMatch(/route-server-client/);
  });

  it('turns enforce-first-as off for a peer that is a route server (its paths start with the client AS)', () => {
    const conf = renderFrrConf({ ...base, neighbors: [{ address: '10.0.0.9', asn: 65000, route_server: true }] });
    expect(conf).toContain(' no neighbor 10.0.0.9 enforce-first-as\n');
    expect(conf).not.toMatch(/route-server-client/);
    expect(renderFrrConf(base)).not.toMatch(/enforce-first-as/);
  });

  it('switches the flag live through vtysh on every neighbor', () => {
    const on = frrDriver.apply({ op: 'route_server' }, { ...base, route_server: true, neighbors });
    expect(on.mode).toBe('live');
    expect(on.commands).toEqual([
      [
        'vtysh',
        '-c',
        'configure terminal',
        '-c',
        'router bgp 65001',
        '-c',
        'address-family ipv4 unicast',
        '-c',
        'neighbor 10.0.0.2 route-server-client',
        '-c',
        'neighbor 10.0.0.3 route-server-client',
        '-c',
        'end',
      ],
    ]);
    const off = frrDriver.apply({ op: 'route_server' }, { ...base, neighbors });
    expect(off.commands[0]).toContain('no neighbor 10.0.0.2 route-server-client');
    expect(frrDriver.apply({ op: 'route_server' }, { ...base, neighbors: [], route_server: true }).commands).toEqual([]);
  });
});
