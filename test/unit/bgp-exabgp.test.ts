import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EXABGP_CONF_PATH, exabgpDriver, exabgpString, parseTimedelta, renderExabgpConf } from '../../src/core/bgp/exabgp.js';
import { neighborRefusals } from '../../src/core/bgp/refusals.js';
import type { BgpConfig } from '../../src/core/bgp/types.js';
import { LAB, PW_FRR_EXABGP } from '../fixtures/bgp/lab.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/bgp/${name}`, import.meta.url), 'utf8');

const r3 = LAB.r3;
const base: BgpConfig = {
  name: 'r3',
  kind: 'exabgp',
  asn: 65003,
  router_id: '10.0.0.3',
  interfaces: [
    { network: 'core', ip: '10.0.0.3', subnet: '10.0.0.0/24' },
    { network: 'edge', ip: '172.16.5.3', subnet: '172.16.5.0/24' },
  ],
  neighbors: [{ address: '10.0.0.1', asn: 65001 }],
  advertise: [],
};

/**
 * What ExaBGP 4.2's tokeniser does to a line: un-escape everything, then split into words with
 * quoting and the `;` statement end (exabgp/configuration/core/format.py, simplified).
 */
function exaStatements(line: string): string[][] {
  const unescaped = line.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, e: string) => {
    if (e.length === 5 && e.startsWith('u')) return String.fromCharCode(Number.parseInt(e.slice(1), 16));
    return ({ n: '\n', r: '\r', t: '\t', b: '\b', f: '\f' } as Record<string, string>)[e] ?? e;
  });
  const out: string[][] = [];
  let words: string[] = [];
  let word = '';
  let quoted = '';
  for (const ch of unescaped) {
    if (quoted) {
      if (ch === '"' || ch === "'") {
        if (ch === quoted) {
          words.push(word);
          word = '';
          quoted = '';
        } else quoted = ch; // what ExaBGP does with the other quote char
      } else word += ch;
    } else if (ch === '"' || ch === "'") quoted = ch;
    else if (ch === ';' || ch === '{' || ch === '}') {
      if (word) words.push(word);
      word = '';
      words.push(ch);
      out.push(words);
      words = [];
    } else if (ch === '#') break;
    else if (/\s/.test(ch)) {
      if (word) words.push(word);
      word = '';
    } else word += ch;
  }
  if (words.length || word || quoted) throw new Error('invalid syntax');
  return out;
}

describe('exabgp render', () => {
  it('renders exactly the exabgp.conf that ExaBGP 4.2.21 ran in the lab', () => {
    const files = exabgpDriver.render(r3);
    expect(files.map((f) => f.path)).toEqual([EXABGP_CONF_PATH]);
    expect(files[0]?.content).toBe(fixture('rendered/r3-exabgp.conf'));
  });

  it('writes one neighbor block each, local-address from the matching subnet, routes with next-hop self', () => {
    const conf = renderExabgpConf({
      ...base,
      neighbors: [
        { address: '172.16.5.1', asn: 65001 },
        { address: '192.0.2.9', asn: 65009, multihop: 3 },
        { address: '10.0.0.7', asn: 65003, multihop: 3 },
      ],
      advertise: ['198.51.100.0/24', '203.0.113.128/25'],
    });
    const blocks = conf.split(/^neighbor /m).slice(1);
    expect(blocks).toHaveLength(3);
    expect(blocks[0]).toContain('    local-address 172.16.5.3;\n');
    expect(blocks[1]).toContain('    local-address 10.0.0.3;\n'); // no subnet matches: first interface
    expect(blocks[1]).toContain('    outgoing-ttl 3;\n');
    expect(blocks[2]).not.toContain('outgoing-ttl'); // iBGP
    for (const b of blocks) {
      expect(b).toContain('    router-id 10.0.0.3;\n');
      expect(b).toContain('    local-as 65003;\n');
      expect(b).toContain('    hold-time 9;\n');
      expect(b).toContain('        ipv4 unicast;\n');
      expect(b).toContain('        route 198.51.100.0/24 next-hop self;\n');
      expect(b).toContain('        route 203.0.113.128/25 next-hop self;\n');
    }
    expect(blocks[0]).toContain('    peer-as 65001;\n');
    expect(conf).not.toMatch(/md5|description/);
    expect(renderExabgpConf({ ...base, interfaces: [] })).toContain('local-address auto;');
  });

  it("writes each neighbor's hold time (the lab's 9 s where it sets none)", () => {
    const conf = renderExabgpConf({
      ...base,
      neighbors: [
        { address: '10.0.0.1', asn: 65001, hold_s: 3, keepalive_s: 1 },
        { address: '10.0.0.2', asn: 65002, hold_s: 0 },
        { address: '10.0.0.4', asn: 65004 },
      ],
    });
    expect(conf.split(/^neighbor /m).map((b) => /hold-time (\d+);/.exec(b)?.[1])).toEqual([undefined, '3', '0', '9']);
  });

  it('has no BFD and no keepalive setting: refused naming the field, unless keepalive_s is what ExaBGP does anyway', () => {
    const refusals = (n: object) => neighborRefusals('exabgp', { address: '10.0.0.1', asn: 65001, ...n });
    expect(refusals({ bfd: true })).toEqual([{ field: 'bfd', why: 'ExaBGP 4.2 has no BFD; only frr does' }]);
    // ExaBGP sends a keepalive every third of the hold time
    expect(refusals({ hold_s: 3, keepalive_s: 1 })).toEqual([]);
    expect(refusals({ hold_s: 30 })).toEqual([]);
    expect(refusals({ keepalive_s: 3 })).toEqual([]);
    expect(refusals({ hold_s: 9, keepalive_s: 1 })).toEqual([
      {
        field: 'keepalive_s',
        why: 'ExaBGP 4.2 has no keepalive setting: it sends one every third of the hold time (3 s here); leave keepalive_s out, or set hold_s to 3',
      },
    ]);
    expect(refusals({ bfd: true, keepalive_s: 2 }).map((r) => r.field)).toEqual(['bfd', 'keepalive_s']);
  });

  it('gives the MD5 password in base64, whatever it contains', () => {
    const conf = renderExabgpConf({ ...base, neighbors: [{ address: '10.0.0.1', asn: 65001, password: PW_FRR_EXABGP }] });
    const b64 = /md5-password "([A-Za-z0-9+/=]+)";/.exec(conf)?.[1] ?? '';
    expect(Buffer.from(b64, 'base64').toString('utf8')).toBe(PW_FRR_EXABGP);
    expect(conf).toContain('    md5-base64 true;\n');
  });

  it('a description cannot inject statements: escaped newline, one statement after tokenising', () => {
    const description = 'x";\n    peer-as 666;\n    static { route 0.0.0.0/0 next-hop self; } # \\';
    // quotes cannot be represented in ExaBGP: rejected, naming the field
    expect(() => renderExabgpConf({ ...base, neighbors: [{ address: '10.0.0.1', asn: 65001, description }] })).toThrow(
      /neighbors\[0\]\.description cannot contain ' or "/,
    );
    const noQuotes = description.replace('"', '');
    const conf = renderExabgpConf({ ...base, neighbors: [{ address: '10.0.0.1', asn: 65001, description: noQuotes }] });
    const line = conf.split('\n').find((l) => l.includes('description')) ?? '';
    expect(conf.split('\n').filter((l) => /^\s*peer-as/.test(l))).toEqual(['    peer-as 65001;']);
    expect(conf.split('\n').filter((l) => /^\s*static/.test(l))).toEqual([]);
    expect(exaStatements(line)).toEqual([['description', noQuotes, ';']]);
  });

  it('exabgpString escapes backslashes and control characters, rejects quotes and non-ASCII', () => {
    expect(exabgpString('a\\b', 'f')).toBe('"a\\\\b"');
    expect(exabgpString('a\nb\tc\u0001', 'f')).toBe('"a\\nb\\tc\\u0001"');
    expect(exabgpString('#;{}[],', 'f')).toBe('"#;{}[],"');
    for (const v of ['a\\b', 'x\ny', 'q\r', '#;{} , [x]', '\u0007bell']) {
      expect(exaStatements(`description ${exabgpString(v, 'f')};`)).toEqual([['description', v, ';']]);
    }
    expect(() => exabgpString("it's", 'neighbors[2].description')).toThrow(/neighbors\[2\]\.description/);
    expect(() => exabgpString('say "hi"', 'f')).toThrow(/cannot contain/);
    expect(() => exabgpString('é', 'neighbors[0].description')).toThrow(/neighbors\[0\]\.description must be ASCII/);
  });
});

describe('exabgp parse', () => {
  it('parseTimedelta reads Python timedelta strings', () => {
    expect(parseTimedelta('0:00:25')).toBe(25);
    expect(parseTimedelta('12:34:56')).toBe(12 * 3600 + 34 * 60 + 56);
    expect(parseTimedelta('1 day, 0:00:01')).toBe(86401);
    expect(parseTimedelta('3 days, 2:00:00.500000')).toBe(3 * 86400 + 7200);
    expect(parseTimedelta('down')).toBeUndefined();
  });

  it('reads the combined neighbors output (extensive + adj-rib in/out)', () => {
    const cfg = { ...r3, neighbors: [...r3.neighbors, { address: '10.250.0.77', asn: 65077 }] };
    const got = exabgpDriver.parseNeighbors(fixture('exabgp-neighbors.stdout'), cfg);
    expect(got).toHaveLength(2);
    expect(got[0]).toMatchObject({ address: '10.250.0.11', asn: 65001, state: 'Established', prefixes_received: 3, prefixes_sent: 1 });
    expect(got[0]?.uptime_s).toBeGreaterThan(0);
    expect(got[1]).toEqual({ address: '10.250.0.99', asn: 65099, state: 'Idle' });
  });

  it('reads plain `show neighbor extensive` output too (no counts then)', () => {
    const ext = fixture('exabgp-neighbors.stdout').split('# nslab: show adj-rib in')[0] ?? '';
    const plain = ext.replace('# nslab: show neighbor extensive\n', '').replace('ESTABLISHED', 'OPENCONFIRM');
    const got = exabgpDriver.parseNeighbors(plain, r3);
    expect(got[0]).toEqual({ address: '10.250.0.11', asn: 65001, state: 'OpenConfirm' });
    expect(exabgpDriver.parseNeighbors('', r3)).toEqual([]);
  });

  it('reads `show adj-rib in extensive` and the short form', () => {
    const want = [
      { prefix: '192.0.2.0/24', next_hop: '10.250.0.12', as_path: [65001, 65002] },
      { prefix: '198.51.100.0/24', next_hop: '10.250.0.11', as_path: [65001, 65003] },
      { prefix: '203.0.113.0/24', next_hop: '10.250.0.11', as_path: [65001] },
    ];
    const received = want.map((r) => ({ ...r, direction: 'in', neighbor: '10.250.0.11' }));
    expect(exabgpDriver.parseRoutes(fixture('exabgp-routes.stdout'))).toEqual(received);
    expect(exabgpDriver.parseRoutes(fixture('exabgp-routes-brief.stdout'))).toEqual(
      received.map(({ prefix, next_hop, direction, neighbor }) => ({ prefix, next_hop, as_path: [], direction, neighbor })),
    );
    expect(exabgpDriver.parseRoutes('')).toEqual([]);
  });

  it('throws a clear error when exabgpcli cannot reach ExaBGP', () => {
    const noPipes = fixture('exabgp-no-pipes.stdout');
    expect(() => exabgpDriver.parseNeighbors(noPipes, r3)).toThrow(/exabgpcli failed: could not find ExaBGP's named pipes/);
    expect(() => exabgpDriver.parseRoutes(noPipes)).toThrow(/exabgpcli failed/);
    expect(() => exabgpDriver.parseNeighbors('Traceback (most recent call last):', r3)).toThrow(/unrecognized output/);
    expect(() => exabgpDriver.parseRoutes('something else')).toThrow(/unrecognized line/);
  });

  it('bounds every exabgpcli call with timeout -s KILL', () => {
    expect(exabgpDriver.neighborsCommand.slice(0, 3)).toEqual(['timeout', '-s', 'KILL']);
    expect(exabgpDriver.routesCommand.slice(0, 3)).toEqual(['timeout', '-s', 'KILL']);
  });
});

describe('exabgp and route_server', () => {
  it('refuses to be a route server, naming the field', () => {
    expect(exabgpDriver.noRouteServer).toMatch(/^exabgp cannot be a route server/);
    expect(() => renderExabgpConf({ ...base, route_server: true })).toThrow(/^route_server: exabgp cannot be a route server/);
    expect(() => exabgpDriver.apply({ op: 'route_server' }, base)).toThrow(/^route_server: exabgp cannot be a route server/);
    // a client of a route server needs nothing
    expect(renderExabgpConf({ ...base, neighbors: [{ address: '10.0.0.1', asn: 65001, route_server: true }] })).toBe(
      renderExabgpConf(base),
    );
  });
});
