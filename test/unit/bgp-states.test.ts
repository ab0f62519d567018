import { describe, expect, it } from 'vitest';
import { drivers } from '../../src/core/bgp/index.js';
import {
  asNumbersInPath,
  checkCommonConfig,
  ipv4InSubnet,
  localInterfaceFor,
  mapBgpState,
  mergeWithConfigured,
  parseJsonOutput,
  toBgpState,
} from '../../src/core/bgp/states.js';
import { BGP_STATES, type BgpConfig, DAEMON_KINDS } from '../../src/core/bgp/types.js';

describe('mapBgpState', () => {
  it('maps every spelling the daemons use to the six FSM names', () => {
    const cases: [unknown, string][] = [
      // FRR
      ['Idle', 'Idle'],
      ['Idle (Admin)', 'Idle'],
      ['Idle (PfxCt)', 'Idle'],
      ['Idle (NoNbrCap)', 'Idle'],
      ['Connect', 'Connect'],
      ['Active', 'Active'],
      ['OpenSent', 'OpenSent'],
      ['OpenConfirm', 'OpenConfirm'],
      ['Established', 'Established'],
      ['Clearing', 'Idle'],
      ['Deleted', 'Idle'],
      // GoBGP: numeric enum in `gobgp neighbor -j`, names elsewhere
      [0, 'Idle'],
      [1, 'Idle'],
      [2, 'Connect'],
      [3, 'Active'],
      [4, 'OpenSent'],
      [5, 'OpenConfirm'],
      [6, 'Established'],
      ['6', 'Established'],
      ['SESSION_STATE_ESTABLISHED', 'Established'],
      ['BGP_FSM_OPENCONFIRM', 'OpenConfirm'],
      ['established', 'Established'],
      ['opensent', 'OpenSent'],
      // ExaBGP
      ['ESTABLISHED', 'Established'],
      ['IDLE', 'Idle'],
      ['ACTIVE', 'Active'],
      ['CONNECT', 'Connect'],
      ['OPENSENT', 'OpenSent'],
      ['OPENCONFIRM', 'OpenConfirm'],
      ['open_confirm', 'OpenConfirm'],
    ];
    for (const [raw, want] of cases) expect(mapBgpState(raw), String(raw)).toBe(want);
  });

  it('returns undefined for unknown input, and toBgpState falls back to Idle', () => {
    for (const raw of ['', 'Up', 7, -1, 1.5, null, undefined, {}, 'Establishedx']) {
      expect(mapBgpState(raw)).toBeUndefined();
      expect(toBgpState(raw)).toBe('Idle');
    }
  });

  it('only ever yields one of the six names', () => {
    for (const raw of ['idle (admin)', 'Active (Policy)', 3, 'CONNECT']) {
      expect(BGP_STATES).toContain(mapBgpState(raw));
    }
  });
});

describe('helpers', () => {
  const cfg: BgpConfig = {
    name: 'r1',
    kind: 'frr',
    asn: 65001,
    router_id: '10.0.0.1',
    interfaces: [
      { network: 'a', ip: '10.1.0.1', subnet: '10.1.0.0/24' },
      { network: 'b', ip: '10.2.0.1', subnet: '10.2.0.0/16' },
    ],
    neighbors: [
      { address: '10.1.0.2', asn: 65002 },
      { address: '10.2.3.4', asn: 65003 },
    ],
    advertise: [],
  };

  it('mergeWithConfigured keeps config order and extra peers, and makes up no state', () => {
    const merged = mergeWithConfigured(
      [
        { address: '10.9.9.9', asn: 65009, state: 'Active' },
        { address: '10.2.3.4', asn: 65003, state: 'Established', uptime_s: 5 },
      ],
      cfg,
    );
    expect(merged).toEqual([
      { address: '10.2.3.4', asn: 65003, state: 'Established', uptime_s: 5 },
      { address: '10.9.9.9', asn: 65009, state: 'Active' },
    ]);
  });

  it('finds the local interface by subnet, else the first one', () => {
    expect(ipv4InSubnet('10.2.200.1', '10.2.0.0/16')).toBe(true);
    expect(ipv4InSubnet('10.3.0.1', '10.2.0.0/16')).toBe(false);
    expect(ipv4InSubnet('1.2.3.4', '0.0.0.0/0')).toBe(true);
    expect(ipv4InSubnet('10.1.0.2', '10.1.0.2/32')).toBe(true);
    expect(localInterfaceFor('10.2.3.4', cfg.interfaces)?.ip).toBe('10.2.0.1');
    expect(localInterfaceFor('192.0.2.1', cfg.interfaces)?.ip).toBe('10.1.0.1');
    expect(localInterfaceFor('192.0.2.1', [])).toBeUndefined();
  });

  it('reads AS numbers out of path strings, sets included', () => {
    expect(asNumbersInPath('')).toEqual([]);
    expect(asNumbersInPath('65001 65003')).toEqual([65001, 65003]);
    expect(asNumbersInPath('65001 {65010,65011}')).toEqual([65001, 65010, 65011]);
  });

  it('parseJsonOutput names the command on empty or non-JSON output', () => {
    expect(() => parseJsonOutput('', 'X cmd')).toThrow(/X cmd: empty output/);
    expect(() => parseJsonOutput('% Unknown command', 'X cmd')).toThrow(/X cmd: output is not JSON/);
  });

  it('checkCommonConfig rejects values that would be written unquoted', () => {
    const bad: [Partial<BgpConfig>, RegExp][] = [
      [{ router_id: '10.0.0.1\nrouter bgp 1' }, /router_id/],
      [{ asn: 0 }, /asn/],
      [{ asn: 2 ** 32 }, /asn/],
      [{ neighbors: [{ address: '10.0.0.2 remote-as 1', asn: 1 }] }, /neighbors\[0\]\.address/],
      [{ neighbors: [{ address: '10.0.0.2', asn: 1.5 }] }, /neighbors\[0\]\.asn/],
      [{ neighbors: [{ address: '10.0.0.2', asn: 1, multihop: 0 }] }, /neighbors\[0\]\.multihop/],
      [{ neighbors: [{ address: '10.0.0.2', asn: 1, password: '' }] }, /neighbors\[0\]\.password/],
      [{ neighbors: [{ address: '10.0.0.2', asn: 1, password: 'a\nb' }] }, /neighbors\[0\]\.password/],
      [{ neighbors: [{ address: '10.0.0.2', asn: 1, password: 'x'.repeat(81) }] }, /neighbors\[0\]\.password is too long/],
      [{ neighbors: [{ address: '10.0.0.2', asn: 1, description: 'x'.repeat(256) }] }, /neighbors\[0\]\.description is too long/],
      [
        {
          neighbors: [
            { address: '10.0.0.2', asn: 1 },
            { address: '10.0.0.2', asn: 2 },
          ],
        },
        /configured twice/,
      ],
      [{ advertise: ['10.0.0.0/33'] }, /advertise\[0\]/],
      [{ advertise: ['10.0.0.0/8\nnetwork 0.0.0.0/0'] }, /advertise\[0\]/],
      [{ interfaces: [{ network: 'n', ip: 'x', subnet: '10.0.0.0/8' }] }, /interfaces\[0\]\.ip/],
    ];
    for (const [patch, msg] of bad) {
      expect(() => checkCommonConfig({ ...cfg, ...patch }), JSON.stringify(patch)).toThrow(msg);
      // every driver applies the same checks
      for (const kind of DAEMON_KINDS) expect(() => drivers[kind].render({ ...cfg, kind, ...patch })).toThrow(msg);
    }
  });
});

describe('drivers record', () => {
  it('has one driver per kind with argv commands', () => {
    for (const kind of DAEMON_KINDS) {
      const d = drivers[kind];
      expect(d.kind).toBe(kind);
      expect(d.neighborsCommand.length).toBeGreaterThan(0);
      expect(d.routesCommand.length).toBeGreaterThan(0);
      for (const a of [...d.neighborsCommand, ...d.routesCommand]) expect(typeof a).toBe('string');
    }
  });
});
