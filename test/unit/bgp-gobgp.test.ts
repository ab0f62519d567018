import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { GOBGP_ADVERTISE_PATH, GOBGP_CONF_PATH, gobgpDriver, renderGobgpToml, tomlString } from '../../src/core/bgp/gobgp.js';
import { neighborRefusals } from '../../src/core/bgp/refusals.js';
import type { BgpConfig } from '../../src/core/bgp/types.js';
import { LAB } from '../fixtures/bgp/lab.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/bgp/${name}`, import.meta.url), 'utf8');
const capturedAt = Number(fixture('captured-at.stdout').trim());

const r2 = LAB.r2;
const base: BgpConfig = {
  name: 'r2',
  kind: 'gobgp',
  asn: 65002,
  router_id: '10.0.0.2',
  interfaces: [{ network: 'core', ip: '10.0.0.2', subnet: '10.0.0.0/24' }],
  neighbors: [{ address: '10.0.0.1', asn: 65001 }],
  advertise: [],
};

/** Decode a TOML basic string (the subset tomlString writes), for round-trip checks. */
function untoml(quoted: string): string {
  expect(quoted.startsWith('"') && quoted.endsWith('"')).toBe(true);
  const body = quoted.slice(1, -1);
  // TOML forbids raw control characters in basic strings
  expect([...body].filter((ch) => (ch.codePointAt(0) ?? 0) < 0x20 || ch === '\u007f')).toEqual([]);
  return body.replace(/\\(u[0-9A-Fa-f]{4}|.)/g, (_, e: string) => {
    if (e.startsWith('u') && e.length === 5) return String.fromCharCode(Number.parseInt(e.slice(1), 16));
    const map: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', f: '\f', '"': '"', '\\': '\\' };
    const v = map[e];
    if (v === undefined) throw new Error(`bad escape \\${e}`);
    return v;
  });
}

afterEach(() => {
  vi.useRealTimers();
});

describe('gobgp render', () => {
  it('renders exactly the files gobgpd 3.10 ran in the lab', () => {
    const files = gobgpDriver.render(r2);
    expect(files.map((f) => f.path)).toEqual([GOBGP_CONF_PATH, GOBGP_ADVERTISE_PATH]);
    expect(files[0]?.content).toBe(fixture('rendered/r2-gobgpd.toml'));
    expect(files[0]?.mode).toBe(0o600);
    expect(files[1]?.content).toBe(fixture('rendered/r2-advertise'));
    expect(files[1]?.content).toBe('192.0.2.0/24\n');
  });

  it('writes global, neighbors, lab timers and the ipv4-unicast family', () => {
    const toml = renderGobgpToml({
      ...base,
      neighbors: [
        { address: '10.0.0.1', asn: 65001, multihop: 4 },
        { address: '10.0.0.3', asn: 65002, multihop: 4 },
      ],
    });
    for (const want of [
      '[global.config]',
      '  as = 65002',
      '  router-id = "10.0.0.2"',
      '[[neighbors]]',
      '    neighbor-address = "10.0.0.1"',
      '    peer-as = 65001',
      '    connect-retry = 2',
      '    hold-time = 9',
      '    keepalive-interval = 3',
      '  [neighbors.ebgp-multihop.config]',
      '    multihop-ttl = 4',
      '      afi-safi-name = "ipv4-unicast"',
    ]) {
      expect(toml.split('\n')).toContain(want);
    }
    // multihop only for the eBGP neighbor
    expect(toml.match(/multihop-ttl/g)).toHaveLength(1);
    expect(toml.match(/afi-safi-name/g)).toHaveLength(2);
    expect(toml).not.toMatch(/description|auth-password/);
  });

  it("writes each neighbor's own hold time and keepalive, the lab's where it sets none", () => {
    const toml = renderGobgpToml({
      ...base,
      neighbors: [
        { address: '10.0.0.1', asn: 65001, hold_s: 3, keepalive_s: 1 },
        { address: '10.0.0.3', asn: 65003, hold_s: 30 },
        { address: '10.0.0.4', asn: 65004 },
      ],
    });
    const timers = toml
      .split('[[neighbors]]')
      .slice(1)
      .map((block) => [/hold-time = (\d+)/.exec(block)?.[1], /keepalive-interval = (\d+)/.exec(block)?.[1]]);
    expect(timers).toEqual([
      ['3', '1'],
      ['30', '3'],
      ['9', '3'],
    ]);
  });

  it('has no BFD: a neighbor asking for it is refused naming the field, whatever way it comes in', () => {
    expect(gobgpDriver.unsupported?.bfd).toBe('GoBGP 3.10 has no BFD; only frr does');
    expect(neighborRefusals('gobgp', { address: '10.0.0.1', asn: 65001, bfd: true })).toEqual([
      { field: 'bfd', why: 'GoBGP 3.10 has no BFD; only frr does' },
    ]);
    expect(neighborRefusals('gobgp', { address: '10.0.0.1', asn: 65001, bfd: false, hold_s: 3, keepalive_s: 1 })).toEqual([]);
  });

  it('cannot turn the hold timer off: hold_s 0 is refused naming the field', () => {
    expect(neighborRefusals('gobgp', { address: '10.0.0.1', asn: 65001, hold_s: 0 })).toEqual([
      { field: 'hold_s', why: 'GoBGP 3.10 cannot turn the hold timer off (it takes 0 as its default, 90 s); give 3 or more' },
    ]);
  });

  it('an empty advertise list gives an empty advertise file', () => {
    expect(gobgpDriver.render(base)[1]?.content).toBe('');
  });

  it('escapes descriptions and passwords so they cannot inject TOML', () => {
    const description = 'x"\n[[neighbors]]\n  [neighbors.config]\n    neighbor-address = "10.6.6.6"';
    const password = 'p"w\\d# x]';
    const toml = renderGobgpToml({ ...base, neighbors: [{ address: '10.0.0.1', asn: 65001, description, password }] });
    expect(toml.match(/^\[\[neighbors\]\]$/gm)).toHaveLength(1);
    expect(toml).not.toMatch(/^\s*neighbor-address = "10\.6\.6\.6"/m);
    const d = /^ {4}description = (.*)$/m.exec(toml)?.[1] ?? '';
    const p = /^ {4}auth-password = (.*)$/m.exec(toml)?.[1] ?? '';
    expect(untoml(d)).toBe(description);
    expect(untoml(p)).toBe(password);
  });

  it('tomlString round-trips awkward text', () => {
    for (const s of ['', 'plain', 'é✓ 😀', 'a\u0000b\u001fc\u007fd', '\\"\\', '\u2028', 'tab\there']) {
      expect(untoml(tomlString(s))).toBe(s);
    }
  });
});

describe('gobgp parse', () => {
  it('reads `gobgp neighbor -j` (numeric session_state) and never makes up an unreported neighbor', () => {
    vi.useFakeTimers();
    vi.setSystemTime(capturedAt * 1000);
    const cfg = { ...r2, neighbors: [...r2.neighbors, { address: '10.250.0.77', asn: 65077 }] };
    const got = gobgpDriver.parseNeighbors(fixture('gobgp-neighbors.stdout'), cfg);
    expect(got.map((n) => [n.address, n.asn, n.state])).toEqual([
      ['10.250.0.11', 65001, 'Established'],
      ['10.250.0.99', 65099, 'Active'],
    ]);
    const up = got[0];
    // accepted (2) rather than received (3): GoBGP drops its own 192.0.2.0/24 coming back (AS loop)
    expect(up?.prefixes_received).toBe(2);
    // timers.state.uptime.seconds is when the session came up (Unix time)
    const raw = JSON.parse(fixture('gobgp-neighbors.stdout')) as {
      conf: { neighbor_address: string };
      timers: { state: { uptime: { seconds: number } } };
    }[];
    const since = raw.find((p) => p.conf.neighbor_address === '10.250.0.11')?.timers.state.uptime.seconds ?? 0;
    expect(up?.uptime_s).toBe(capturedAt - since);
    expect(got[1]?.uptime_s).toBeUndefined();
  });

  it('reads advertised counts where gobgp gives them (`gobgp neighbor ADDR -j`)', () => {
    const single = JSON.parse(fixture('gobgp-neighbor-single.stdout')) as unknown;
    const got = gobgpDriver.parseNeighbors(JSON.stringify([single]), r2);
    expect(got[0]).toMatchObject({ address: '10.250.0.11', state: 'Established', prefixes_received: 2, prefixes_sent: 1 });
  });

  it('counts 0 sent where the per-peer answer leaves "advertised" out (protobuf drops zeros)', () => {
    const single = JSON.parse(fixture('gobgp-neighbor-single.stdout')) as { afi_safis: Array<{ state: Record<string, unknown> }> };
    for (const af of single.afi_safis) delete af.state.advertised;
    const detailed = gobgpDriver.parseNeighbors(JSON.stringify({ detailed: true, peers: [single] }), r2);
    expect(detailed[0]?.prefixes_sent).toBe(0);
    // the plain list form never has the count: it stays unknown rather than 0
    expect(gobgpDriver.parseNeighbors(JSON.stringify([single]), r2)[0]?.prefixes_sent).toBeUndefined();
  });

  it('maps string session states too', () => {
    const out = JSON.stringify([{ conf: { neighbor_address: '10.0.0.1', peer_asn: 65001 }, state: { session_state: 'OPENCONFIRM' } }]);
    expect(gobgpDriver.parseNeighbors(out, base)).toEqual([{ address: '10.0.0.1', asn: 65001, state: 'OpenConfirm' }]);
    expect(gobgpDriver.parseNeighbors('[]', base)).toEqual([]);
    // gobgpd with no peers at all answers null
    expect(gobgpDriver.parseNeighbors('null', base)).toEqual([]);
  });

  it('reads `gobgp global rib -j`', () => {
    expect(gobgpDriver.parseRoutes(fixture('gobgp-routes.stdout'))).toEqual([
      { prefix: '192.0.2.0/24', next_hop: '0.0.0.0', as_path: [], best: true },
      { prefix: '198.51.100.0/24', next_hop: '10.250.0.13', as_path: [65001, 65003], best: true },
      { prefix: '203.0.113.0/24', next_hop: '10.250.0.11', as_path: [65001], best: true },
    ]);
    expect(gobgpDriver.parseRoutes('{}\n')).toEqual([]);
  });

  it('throws a clear error when gobgpd does not answer', () => {
    const down = fixture('gobgp-no-daemon.stdout'); // {"error":"context deadline exceeded"}
    expect(() => gobgpDriver.parseNeighbors(down, base)).toThrow(/context deadline exceeded.*gobgpd running/);
    expect(() => gobgpDriver.parseRoutes(down)).toThrow(/gobgp global rib -j: context deadline exceeded/);
    expect(() => gobgpDriver.parseNeighbors('rpc error', base)).toThrow(/gobgp neighbor -j: output is not JSON/);
    expect(() => gobgpDriver.parseRoutes('[1]')).toThrow(/expected a JSON object/);
  });
});

describe('gobgp as a route server', () => {
  it('makes every neighbor a route-server-client inside its own [[neighbors]] entry', () => {
    const toml = renderGobgpToml({
      ...base,
      route_server: true,
      neighbors: [
        { address: '10.0.0.1', asn: 65001 },
        { address: '10.0.0.3', asn: 65003 },
      ],
    });
    const entries = toml.split('[[neighbors]]').slice(1);
    expect(entries).toHaveLength(2);
    for (const e of entries) expect(e).toContain('  [neighbors.route-server.config]\n    route-server-client = true\n');
    // before the afi-safis array of tables, so it belongs to the neighbor
    for (const e of entries) expect(e.indexOf('route-server-client')).toBeLessThan(e.indexOf('[[neighbors.afi-safis]]'));
    expect(renderGobgpToml(base)).not.toMatch(/route-server/);
    // a client of a route server needs nothing (GoBGP does not check a path's first AS)
    expect(renderGobgpToml({ ...base, neighbors: [{ address: '10.0.0.1', asn: 65001, route_server: true }] })).toBe(renderGobgpToml(base));
  });

  it('cannot switch the flag on a running gobgpd (a topology recreates the node)', () => {
    expect(() => gobgpDriver.apply({ op: 'route_server' }, { ...base, route_server: true })).toThrow(/cannot switch route_server/);
  });
});
