import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OPENBGPD_CONF_PATH, openbgpdDriver, openbgpdString, renderBgpdConf } from '../../src/core/bgp/openbgpd.js';
import { neighborRefusals } from '../../src/core/bgp/refusals.js';
import type { BgpConfig } from '../../src/core/bgp/types.js';
import { maskText } from '../../src/core/secrets.js';
import { OPENBGPD_NOW, PW_OBGPD_FRR } from '../fixtures/bgp/lab-bird-openbgpd.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/bgp/${name}`, import.meta.url), 'utf8');

const base: BgpConfig = {
  name: 'o1',
  kind: 'openbgpd',
  asn: 65002,
  router_id: '10.0.0.2',
  interfaces: [{ network: 'core', ip: '10.0.0.2', subnet: '10.0.0.0/24' }],
  neighbors: [{ address: '10.0.0.1', asn: 65001 }],
  advertise: [],
};

/**
 * Read a quoted string the way bgpd 7.7's lexer does (parse.y yylex): a backslash before the
 * quote, a space or a tab gives that character, any other backslash stays; returns the value and
 * what follows the closing quote.
 */
function unquote(text: string): { value: string; rest: string } {
  expect(text[0]).toBe('"');
  let value = '';
  for (let i = 1; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '\\') {
      const next = text[i + 1];
      if (next === '"' || next === ' ' || next === '\t') {
        value += next;
        i++;
        continue;
      }
      value += c;
      continue;
    }
    if (c === '"') return { value, rest: text.slice(i + 1) };
    value += c;
  }
  throw new Error(`unterminated string: ${text}`);
}

/** The lines of one neighbor block. */
function block(conf: string, address: string): string[] {
  const lines = conf.split('\n');
  const start = lines.indexOf(`neighbor ${address} {`);
  expect(start, `no neighbor ${address}`).toBeGreaterThanOrEqual(0);
  return lines.slice(start, lines.indexOf('}', start) + 1).map((l) => l.trim());
}

describe('openbgpd render', () => {
  it('renders exactly the bgpd.conf OpenBGPD 7.7 ran in the lab (and reloaded live)', () => {
    const files = openbgpdDriver.render(OPENBGPD_NOW);
    expect(files.map((f) => [f.path, f.mode])).toEqual([[OPENBGPD_CONF_PATH, 0o600]]);
    expect(files[0]?.content).toBe(fixture('rendered/nsx-obgpd-bgpd.conf'));
  });

  it('writes AS, router id, lab timers, networks, one block per neighbor and filters that pass everything', () => {
    const conf = renderBgpdConf({
      ...base,
      neighbors: [
        { address: '10.0.0.1', asn: 65001, multihop: 2, description: 'to r1' },
        { address: '10.0.0.3', asn: 65002, multihop: 2, next_hop_self: true, hold_s: 30 },
      ],
      advertise: ['192.0.2.0/24'],
    });
    for (const line of ['AS 65002', 'router-id 10.0.0.2', 'holdtime 9', 'holdtime min 3', 'connect-retry 2', 'network 192.0.2.0/24']) {
      expect(conf.split('\n')).toContain(line);
    }
    expect(block(conf, '10.0.0.1')).toEqual(['neighbor 10.0.0.1 {', 'remote-as 65001', 'descr "to r1"', 'multihop 2', '}']);
    // multihop for eBGP only; the neighbor's own hold time; next hop self
    expect(block(conf, '10.0.0.3')).toEqual(['neighbor 10.0.0.3 {', 'remote-as 65002', 'holdtime 30', 'set nexthop self', '}']);
    // RFC 8212: bgpd denies what no rule allows
    expect(conf.endsWith('allow from any\nallow to any\n')).toBe(true);
  });

  it('has no BFD and no keepalive setting: refused naming the field, unless keepalive_s is what bgpd does anyway', () => {
    expect(neighborRefusals('openbgpd', { address: '10.0.0.1', asn: 65001, bfd: true })).toEqual([
      { field: 'bfd', why: expect.stringMatching(/OpenBGPD 7\.7 has no BFD/) },
    ]);
    expect(neighborRefusals('openbgpd', { address: '10.0.0.1', asn: 65001, hold_s: 30, keepalive_s: 10 })).toEqual([]);
    expect(neighborRefusals('openbgpd', { address: '10.0.0.1', asn: 65001, keepalive_s: 2 })).toEqual([
      { field: 'keepalive_s', why: expect.stringMatching(/every third of the hold time \(3 s here\).*set hold_s to 6/) },
    ]);
    expect(neighborRefusals('openbgpd', { address: '10.0.0.1', asn: 65001, hold_s: 0 })).toEqual([
      { field: 'hold_s', why: expect.stringMatching(/at least 3 s/) },
    ]);
  });

  it('escapes passwords so bgpd reads back exactly the value, whatever quotes and backslashes it holds', () => {
    for (const pw of [PW_OBGPD_FRR, 'p"w', '\\"', '\\\\"x', 'a\\ b', '"; } neighbor 10.6.6.6 { remote-as 1 } #', '$macro{x}']) {
      const conf = renderBgpdConf({ ...base, neighbors: [{ address: '10.0.0.1', asn: 65001, password: pw }] });
      const line = conf.split('\n').find((l) => l.includes('tcp md5sig password')) ?? '';
      const { value, rest } = unquote(line.trim().slice('tcp md5sig password '.length));
      expect(value, pw).toBe(pw);
      expect(rest).toBe('');
      expect(conf).not.toMatch(/^\s*neighbor 10\.6\.6\.6/m);
    }
  });

  it('hides passwords wherever the file is shown, escaped quotes and all', () => {
    const masked = maskText(fixture('rendered/nsx-obgpd-bgpd.conf'));
    expect(block(masked, '10.252.0.11')).toContain('tcp md5sig password "***"');
    expect(block(masked, '10.252.0.13')).toContain('tcp md5sig password "***"');
    expect(masked).not.toMatch(/a\\b~|y\\z/);
    const tricky = renderBgpdConf({ ...base, neighbors: [{ address: '10.0.0.1', asn: 65001, password: 'x\\"; y\\ z"' }] });
    expect(block(maskText(tricky), '10.0.0.1')).toEqual(['neighbor 10.0.0.1 {', 'remote-as 65001', 'tcp md5sig password "***"', '}']);
  });

  it('refuses what bgpd.conf or bgpctl cannot hold', () => {
    const one = (n: Partial<BgpConfig['neighbors'][number]>) => () =>
      renderBgpdConf({ ...base, neighbors: [{ address: '10.0.0.1', asn: 65001, ...n }] });
    // bgpctl -j prints descriptions unescaped: a quote or backslash would break the JSON status is read from
    expect(one({ description: 'to "r1"' })).toThrow(/neighbors\[0\]\.description cannot contain " or \\ for OpenBGPD/);
    expect(one({ description: 'a\\b' })).toThrow(/neighbors\[0\]\.description cannot contain/);
    expect(one({ description: 'x'.repeat(32) })).toThrow(/neighbors\[0\]\.description is too long \(32 bytes, at most 31\)/);
    expect(one({ description: 'é'.repeat(16) })).toThrow(/too long \(32 bytes/);
    expect(one({ description: 'x'.repeat(31) })).not.toThrow();
    expect(one({ description: 'a\nneighbor 10.6.6.6 {' })).toThrow(/must not contain control characters/);
    // a backslash at the end would swallow the closing quote
    expect(one({ password: 'pw\\' })).toThrow(/neighbors\[0\]\.password cannot end with a backslash/);
    expect(openbgpdString('a"b', 'x')).toBe('"a\\"b"');
  });

  it('applies every change by rewriting the file and `bgpctl reload`', () => {
    const after = { ...base, neighbors: [...base.neighbors, { address: '10.0.0.9', asn: 65009 }] };
    expect(openbgpdDriver.apply({ op: 'peer_add', neighbor: { address: '10.0.0.9', asn: 65009 } }, after)).toEqual({
      mode: 'reload',
      commands: [['bgpctl', 'reload']],
      expect: { present: ['10.0.0.9'] },
    });
    expect(openbgpdDriver.apply({ op: 'peer_remove', address: '10.0.0.1' }, base).expect).toEqual({ absent: ['10.0.0.1'] });
    expect(openbgpdDriver.apply({ op: 'advertise', prefix: '192.0.2.0/24' }, base).commands).toEqual([['bgpctl', 'reload']]);
  });

  it("tells bgpd's refusal of a reload (exit code 0) from its success, as bgpctl printed them", () => {
    expect(openbgpdDriver.refused(fixture('openbgpd-reload-refused.stdout'))).toBe(true);
    expect(openbgpdDriver.refused(fixture('openbgpd-reload-ok.stdout'))).toBe(false);
  });
});

describe('openbgpd parse', () => {
  it('reads `bgpctl -j show neighbor`: states, AS, uptime, counts, in configuration order', () => {
    const cfg = { ...OPENBGPD_NOW, neighbors: [...OPENBGPD_NOW.neighbors].reverse() };
    expect(openbgpdDriver.parseNeighbors(fixture('openbgpd-neighbors.stdout'), cfg)).toEqual([
      { address: '10.252.0.99', asn: 65099, state: 'Active' },
      { address: '10.252.0.13', asn: 65003, state: 'Established', uptime_s: 12, prefixes_received: 3, prefixes_sent: 2 },
      { address: '10.252.0.11', asn: 65001, state: 'Established', uptime_s: 14, prefixes_received: 2, prefixes_sent: 2 },
    ]);
  });

  it('never makes up a neighbor bgpd did not report', () => {
    const cfg = { ...OPENBGPD_NOW, neighbors: [{ address: '10.252.0.77', asn: 65077 }, ...OPENBGPD_NOW.neighbors] };
    expect(openbgpdDriver.parseNeighbors(fixture('openbgpd-neighbors.stdout'), cfg).map((n) => n.address)).toEqual([
      '10.252.0.11',
      '10.252.0.13',
      '10.252.0.99',
    ]);
    // bgpd with no neighbor at all answers {"status": "FAILED", "error": "no such neighbor"}
    expect(openbgpdDriver.parseNeighbors(fixture('openbgpd-no-neighbors.stdout'), { ...base, neighbors: [] })).toEqual([]);
    expect(openbgpdDriver.parseRoutes(fixture('openbgpd-no-neighbors.stdout'))).toEqual([]);
  });

  it('maps every state name bgpd prints to the six FSM names', () => {
    for (const s of ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established']) {
      const out = JSON.stringify({ neighbors: [{ remote_as: '65001', remote_addr: '10.0.0.1', state: s, last_updown_sec: 5 }] });
      expect(openbgpdDriver.parseNeighbors(out, base)[0]?.state).toBe(s);
    }
  });

  it('reads `bgpctl -j show rib`: every path, the best marked, AS path, next hop and the peer it came from', () => {
    expect(openbgpdDriver.parseRoutes(fixture('openbgpd-rib.stdout'))).toEqual([
      { prefix: '10.252.1.0/24', next_hop: '10.252.0.11', as_path: [65001], best: true, neighbor: '10.252.0.11' },
      { prefix: '10.252.1.0/24', next_hop: '10.252.0.11', as_path: [65003, 65001], best: false, neighbor: '10.252.0.13' },
      { prefix: '10.252.3.0/24', next_hop: '10.252.0.13', as_path: [65003], best: true, neighbor: '10.252.0.13' },
      { prefix: '10.252.3.0/24', next_hop: '10.252.0.13', as_path: [65001, 65003], best: false, neighbor: '10.252.0.11' },
      // its own network: no peer, next hop 0.0.0.0 as bgpd says
      { prefix: '198.51.100.0/24', next_hop: '0.0.0.0', as_path: [], best: true },
      { prefix: '198.51.100.0/24', next_hop: '10.252.0.12', as_path: [65003, 65002], best: false, neighbor: '10.252.0.13' },
    ]);
    expect(openbgpdDriver.parseRoutes('{\n\n}\n')).toEqual([]);
  });

  it('throws a clear error when bgpctl cannot reach bgpd', () => {
    expect(() => openbgpdDriver.parseNeighbors(fixture('openbgpd-no-daemon.stdout'), base)).toThrow(
      /bgpctl -j show neighbor: output is not JSON/,
    );
    expect(() => openbgpdDriver.parseNeighbors('{"status": "FAILED", "error": "whatever"}', base)).toThrow(/show neighbor: whatever/);
    expect(() => openbgpdDriver.parseRoutes('')).toThrow(/bgpctl -j show rib: empty output/);
  });
});

describe('openbgpd as a route server', () => {
  it('sends paths without its AS and with the next hop unmodified, per neighbor', () => {
    const conf = renderBgpdConf({
      ...base,
      route_server: true,
      neighbors: [
        { address: '10.0.0.1', asn: 65001 },
        { address: '10.0.0.3', asn: 65003 },
      ],
    });
    for (const a of ['10.0.0.1', '10.0.0.3']) {
      const start = conf.indexOf(`neighbor ${a} {`);
      const body = conf.slice(start, conf.indexOf('}', start));
      expect(body).toContain('  transparent-as yes\n');
      expect(body).toContain('  set nexthop no-modify\n');
    }
    expect(conf).not.toMatch(/enforce neighbor-as/);
    expect(renderBgpdConf(base)).not.toMatch(/transparent-as|no-modify/);
  });

  it('accepts paths from a route server that do not start with its AS (enforce neighbor-as no)', () => {
    const conf = renderBgpdConf({ ...base, neighbors: [{ address: '10.0.0.9', asn: 65000, route_server: true }] });
    expect(conf).toContain('neighbor 10.0.0.9 {\n  remote-as 65000\n  enforce neighbor-as no\n}');
    expect(conf).not.toMatch(/transparent-as/);
  });

  it('turns the flag on or off with bgpctl reload', () => {
    expect(openbgpdDriver.apply({ op: 'route_server' }, { ...base, route_server: true })).toEqual({
      mode: 'reload',
      commands: [['bgpctl', 'reload']],
    });
  });
});
