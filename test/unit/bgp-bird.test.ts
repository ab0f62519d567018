import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BIRD_CONF_PATH, birdDriver, birdProtocolName, birdString, renderBirdConf } from '../../src/core/bgp/bird.js';
import { neighborRefusals } from '../../src/core/bgp/refusals.js';
import type { BgpConfig } from '../../src/core/bgp/types.js';
import { maskText } from '../../src/core/secrets.js';
import { BIRD_AT_CAPTURE, BIRD_NOW } from '../fixtures/bgp/lab-bird-openbgpd.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/bgp/${name}`, import.meta.url), 'utf8');

const base: BgpConfig = {
  name: 'b1',
  kind: 'bird',
  asn: 65001,
  router_id: '10.0.0.1',
  interfaces: [{ network: 'core', ip: '10.0.0.1', subnet: '10.0.0.0/24' }],
  neighbors: [{ address: '10.0.0.2', asn: 65002 }],
  advertise: [],
};

/** The lines of one `protocol bgp` block. */
function block(conf: string, address: string): string[] {
  const lines = conf.split('\n');
  const start = lines.indexOf(`protocol bgp ${birdProtocolName(address)} {`);
  expect(start, `no protocol for ${address}`).toBeGreaterThanOrEqual(0);
  const end = lines.indexOf('}', start);
  return lines.slice(start, end + 1).map((l) => l.trim());
}

describe('bird render', () => {
  it('renders exactly the bird.conf BIRD 2.0.12 ran in the lab (and re-read live)', () => {
    const files = birdDriver.render(BIRD_NOW);
    expect(files.map((f) => [f.path, f.mode])).toEqual([[BIRD_CONF_PATH, 0o600]]);
    expect(files[0]?.content).toBe(fixture('rendered/nsx-bird.conf'));
  });

  it('writes the router id, one protocol per neighbor with lab timers, and the advertised prefixes', () => {
    const conf = renderBirdConf({
      ...base,
      neighbors: [
        { address: '10.0.0.2', asn: 65002, multihop: 3 },
        { address: '10.0.0.3', asn: 65001, multihop: 3, next_hop_self: true },
      ],
      advertise: ['192.0.2.0/24', '198.51.100.0/24'],
    });
    expect(conf).toMatch(/^router id 10\.0\.0\.1;$/m);
    expect(block(conf, '10.0.0.2')).toEqual([
      'protocol bgp peer_10_0_0_2 {',
      'local as 65001;',
      'neighbor 10.0.0.2 as 65002;',
      'multihop 3;',
      'hold time 9;',
      'keepalive time 3;',
      'connect retry time 2;',
      'connect delay time 1;',
      'error wait time 1, 10;',
      'ipv4 {',
      'import all;',
      'export where source ~ [RTS_STATIC, RTS_BGP];',
      '};',
      '}',
    ]);
    // multihop is for eBGP only; next hop self where asked
    const ibgp = block(conf, '10.0.0.3');
    expect(ibgp).not.toContain('multihop 3;');
    expect(ibgp).toContain('next hop self;');
    expect(conf).toContain('  route 192.0.2.0/24 unreachable;\n  route 198.51.100.0/24 unreachable;\n');
    // learned BGP routes (and only those that have a next hop) go to the kernel
    expect(conf).toContain('export where source = RTS_BGP && dest = RTD_UNICAST;');
    expect(conf).not.toMatch(/protocol bfd|bfd on/);
  });

  it("honours a neighbor's hold time and keepalive (none with hold time 0), and BFD", () => {
    const conf = renderBirdConf({
      ...base,
      neighbors: [
        { address: '10.0.0.2', asn: 65002, hold_s: 30, keepalive_s: 10, bfd: true },
        { address: '10.0.0.3', asn: 65003, hold_s: 0 },
        { address: '10.0.0.4', asn: 65004, hold_s: 6 },
      ],
    });
    expect(block(conf, '10.0.0.2')).toEqual(expect.arrayContaining(['hold time 30;', 'keepalive time 10;', 'bfd on;']));
    const off = block(conf, '10.0.0.3');
    expect(off).toContain('hold time 0;');
    expect(off.some((l) => l.startsWith('keepalive time'))).toBe(false);
    expect(block(conf, '10.0.0.4')).toEqual(expect.arrayContaining(['hold time 6;', 'keepalive time 2;']));
    expect(conf.match(/^protocol bfd \{$/gm)).toHaveLength(1);
    expect(conf).toContain('min rx interval 300 ms;');
    // BIRD has BFD: nothing refused
    expect(neighborRefusals('bird', { address: '10.0.0.2', asn: 65002, bfd: true, next_hop_self: true })).toEqual([]);
  });

  it('keeps descriptions and passwords inside their string: ; } # and backslashes are literal', () => {
    const description = 'x; } protocol bgp evil { neighbor 10.6.6.6 as 1; } # \\';
    const password = 'p\\w;}#{';
    const conf = renderBirdConf({ ...base, neighbors: [{ address: '10.0.0.2', asn: 65002, description, password }] });
    expect(conf.match(/^protocol bgp /gm)).toHaveLength(1);
    expect(conf).not.toMatch(/^\s*neighbor 10\.6\.6\.6/m);
    expect(block(conf, '10.0.0.2')).toEqual(expect.arrayContaining([`description "${description}";`, `password "${password}";`]));
  });

  it('refuses what a BIRD 2.0 string cannot hold: a quote (no escapes) or a control character', () => {
    const one = (n: Partial<BgpConfig['neighbors'][number]>) => () =>
      renderBirdConf({ ...base, neighbors: [{ address: '10.0.0.2', asn: 65002, ...n }] });
    expect(one({ description: 'a"; } protocol bgp evil { neighbor 10.6.6.6 as 1; } #' })).toThrow(
      /neighbors\[0\]\.description cannot contain " \(BIRD 2\.0's config strings have no escapes\)/,
    );
    expect(one({ password: 'pw"x' })).toThrow(/neighbors\[0\]\.password cannot contain "/);
    expect(one({ description: 'two\nlines' })).toThrow(/neighbors\[0\]\.description must not contain control characters/);
    expect(one({ description: 'tab\there' })).toThrow(/control characters/);
    expect(birdString('é✓ \\ ; }', 'd')).toBe('"é✓ \\ ; }"');
  });

  it('hides passwords wherever the file is shown (the same masking as the other kinds)', () => {
    const conf = renderBirdConf({ ...base, neighbors: [{ address: '10.0.0.2', asn: 65002, password: 'p\\w;}#{' }] });
    const masked = maskText(conf);
    expect(masked).not.toContain('p\\w');
    expect(block(masked, '10.0.0.2')).toContain('password "***";');
    expect(maskText(fixture('rendered/nsx-bird.conf'))).not.toContain('a\\b~');
  });

  it('names protocols after the neighbor address (a BIRD symbol)', () => {
    expect(birdProtocolName('10.252.0.12')).toBe('peer_10_252_0_12');
  });

  it('applies every change by rewriting the file and `birdc configure`', () => {
    const after = { ...base, neighbors: [...base.neighbors, { address: '10.0.0.9', asn: 65009 }] };
    expect(birdDriver.apply({ op: 'peer_add', neighbor: { address: '10.0.0.9', asn: 65009 } }, after)).toEqual({
      mode: 'reload',
      commands: [['birdc', 'configure']],
      expect: { present: ['10.0.0.9'] },
    });
    expect(birdDriver.apply({ op: 'peer_remove', address: '10.0.0.2' }, base).expect).toEqual({ absent: ['10.0.0.2'] });
    expect(birdDriver.apply({ op: 'advertise', prefix: '192.0.2.0/24' }, base)).toEqual({
      mode: 'reload',
      commands: [['birdc', 'configure']],
    });
    expect(() => birdDriver.apply({ op: 'withdraw', prefix: '192.0.2.0/33' }, base)).toThrow(/prefix/);
  });

  it("tells BIRD's refusal of a file from its success (as birdc printed them)", () => {
    expect(birdDriver.refused(fixture('bird-configure-refused.stdout'))).toBe(true);
    expect(birdDriver.refused(fixture('bird-configure-ok.stdout'))).toBe(false);
    expect(birdDriver.refused('BIRD 2.0.12 ready.\nReading configuration from /etc/bird/bird.conf\nReconfiguration in progress')).toBe(
      false,
    );
  });
});

describe('bird parse', () => {
  it('reads `birdc show protocols all`: states, AS, counts, uptime from the container clock, in configuration order', () => {
    const out = fixture('bird-protocols.stdout');
    const got = birdDriver.parseNeighbors(out, BIRD_AT_CAPTURE);
    expect(got.map((n) => [n.address, n.asn, n.state])).toEqual([
      ['10.252.0.12', 65002, 'Established'],
      ['10.252.0.13', 65003, 'Established'],
      ['10.252.0.99', 65099, 'Connect'],
    ]);
    // "Routes: 2 imported, 2 exported, 1 preferred"
    expect(got[0]).toMatchObject({ prefixes_received: 2, prefixes_sent: 2 });
    // first line: `date -u +%s` in the container; Since: 2026-12-06 19:58:54 UTC
    const now = Number(out.split('\n')[0]);
    expect(got[0]?.uptime_s).toBe(now - Date.UTC(2026, 11, 6, 19, 58, 54) / 1000);
    expect(got[1]?.uptime_s).toBe(now - Date.UTC(2026, 11, 6, 19, 58, 56) / 1000);
    expect(got[2]).toEqual({ address: '10.252.0.99', asn: 65099, state: 'Connect' });
  });

  it('leaves out a configured neighbor BIRD did not report, and keeps one it reports but the config lacks', () => {
    const cfg = { ...BIRD_AT_CAPTURE, neighbors: [{ address: '10.252.0.77', asn: 65077 }, ...BIRD_AT_CAPTURE.neighbors.slice(1)] };
    const got = birdDriver.parseNeighbors(fixture('bird-protocols.stdout'), cfg);
    expect(got.map((n) => n.address)).toEqual(['10.252.0.13', '10.252.0.99', '10.252.0.12']);
    // its AS comes from BIRD ("Neighbor AS")
    expect(got[2]?.asn).toBe(65002);
  });

  it('reads the BFD session of a neighbor that runs one (FRR at the other end, config rendered by this driver)', () => {
    const cfg: BgpConfig = {
      name: 'nsx-bfd-bird',
      kind: 'bird',
      asn: 65001,
      router_id: '10.246.0.11',
      interfaces: [{ network: 'nsx-bfdnet', subnet: '10.246.0.0/24', ip: '10.246.0.11' }],
      neighbors: [{ address: '10.246.0.13', asn: 65003, bfd: true }],
      advertise: [],
    };
    expect(renderBirdConf(cfg)).toBe(fixture('rendered/nsx-bfd-bird.conf'));
    const out = fixture('bird-protocols-bfd.stdout');
    expect(birdDriver.parseNeighbors(out, cfg)).toMatchObject([{ address: '10.246.0.13', state: 'Established', bfd: 'up' }]);
    expect(birdDriver.parseNeighbors(out.replace(/\bUp\b(?=\s+2026)/, 'Down'), cfg)[0]?.bfd).toBe('down');
    // where no BFD protocol runs, birdc says so and no neighbor gets a bfd field
    const none = `${fixture('bird-protocols.stdout')}BIRD 2.0.12 ready.\nThere is no BFD protocol running\n`;
    expect(birdDriver.parseNeighbors(none, BIRD_AT_CAPTURE).map((n) => n.bfd)).toEqual([undefined, undefined, undefined]);
  });

  it('maps every state name BIRD prints to the six FSM names', () => {
    const header = 'BIRD 2.0.12 ready.\nName       Proto      Table      State  Since         Info\n';
    for (const [info, want] of [
      ['Idle', 'Idle'],
      ['Active        Socket: Connection refused', 'Active'],
      ['Connect', 'Connect'],
      ['OpenSent', 'OpenSent'],
      ['OpenConfirm', 'OpenConfirm'],
      ['Established', 'Established'],
      ['', 'Idle'],
    ] as const) {
      const out = `${header}peer_10_0_0_2 BGP        ---        start  2026-12-06 19:58:53  ${info}\n`;
      expect(birdDriver.parseNeighbors(out, base), info).toMatchObject([{ address: '10.0.0.2', asn: 65002, state: want }]);
    }
  });

  it('reads `birdc show route all`: every path, the best marked, AS path and BGP next hop', () => {
    expect(birdDriver.parseRoutes(fixture('bird-routes.stdout'))).toEqual([
      // the advertised prefix (a static unreachable route): no next hop, empty AS path
      { prefix: '10.252.1.0/24', as_path: [], best: true },
      { prefix: '10.252.3.0/24', next_hop: '10.252.0.13', as_path: [65003], best: true, neighbor: '10.252.0.13' },
      { prefix: '10.252.3.0/24', next_hop: '10.252.0.13', as_path: [65002, 65003], best: false, neighbor: '10.252.0.12' },
      { prefix: '198.51.100.0/24', next_hop: '10.252.0.12', as_path: [65002], best: true, neighbor: '10.252.0.12' },
      { prefix: '198.51.100.0/24', next_hop: '10.252.0.12', as_path: [65003, 65002], best: false, neighbor: '10.252.0.13' },
    ]);
    expect(birdDriver.parseRoutes('BIRD 2.0.12 ready.\n')).toEqual([]);
  });

  it('throws a clear error when birdc cannot reach BIRD', () => {
    const down = fixture('bird-no-daemon.stdout');
    expect(() => birdDriver.parseNeighbors(down, base)).toThrow(/birdc show protocols all: not an answer from BIRD: "Unable to connect/);
    expect(() => birdDriver.parseRoutes(down)).toThrow(/birdc show route all: not an answer from BIRD/);
    expect(() => birdDriver.parseNeighbors('', base)).toThrow(/empty output \(is bird running\?\)/);
  });
});

describe('bird as a route server', () => {
  it('puts `rs client` (transparent AS path, next hop kept) in every BGP protocol, and nothing otherwise', () => {
    const neighbors = [
      { address: '10.0.0.2', asn: 65002 },
      { address: '10.0.0.3', asn: 65003 },
    ];
    const rs = renderBirdConf({ ...base, route_server: true, neighbors });
    for (const n of neighbors) expect(block(rs, n.address)).toContain('rs client;');
    expect(rs.match(/rs client;/g)).toHaveLength(2);
    // `rs client` implies `next hop keep`; nothing may set the next hop to itself
    expect(rs).not.toMatch(/next hop self/);
    expect(renderBirdConf({ ...base, neighbors })).not.toMatch(/rs client/);
    expect(renderBirdConf({ ...base, route_server: false, neighbors })).not.toMatch(/rs client/);
  });

  it('needs nothing as the client of a route server (BIRD does not enforce the first AS by default)', () => {
    const conf = renderBirdConf({ ...base, neighbors: [{ address: '10.0.0.2', asn: 65002, route_server: true }] });
    expect(block(conf, '10.0.0.2').join('\n')).not.toMatch(/rs client|enforce first as/);
  });

  it('turns the flag on or off with birdc configure', () => {
    expect(birdDriver.apply({ op: 'route_server' }, { ...base, route_server: true })).toEqual({
      mode: 'reload',
      commands: [['birdc', 'configure']],
    });
  });
});
