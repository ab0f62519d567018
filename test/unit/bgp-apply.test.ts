import { describe, expect, it } from 'vitest';
import { exabgpDriver } from '../../src/core/bgp/exabgp.js';
import { frrDriver, renderFrrConf } from '../../src/core/bgp/frr.js';
import { gobgpDriver } from '../../src/core/bgp/gobgp.js';
import type { BgpConfig } from '../../src/core/bgp/types.js';

const cfg = (kind: BgpConfig['kind']): BgpConfig => ({
  name: 'r1',
  kind,
  asn: 65001,
  router_id: '10.0.0.1',
  interfaces: [{ network: 'core', ip: '10.0.0.1', subnet: '10.0.0.0/24' }],
  neighbors: [{ address: '10.0.0.2', asn: 65002, password: 'pw', description: 'to r2', next_hop_self: true }],
  advertise: ['198.51.100.0/24'],
});

describe('applying changes to a running daemon', () => {
  it('FRR: the same neighbor lines as frr.conf, entered through vtysh, all live', () => {
    const after = cfg('frr');
    const n = after.neighbors[0];
    if (!n) throw new Error('no neighbor');
    const plan = frrDriver.apply({ op: 'peer_add', neighbor: n }, after);
    expect(plan.mode).toBe('live');
    const argv = plan.commands[0] ?? [];
    expect(argv.slice(0, 5)).toEqual(['vtysh', '-c', 'configure terminal', '-c', 'router bgp 65001']);
    const lines = argv.filter((_, i) => argv[i - 1] === '-c');
    // every line the live change enters is a line of the rendered file (minus indentation)
    const conf = renderFrrConf(after)
      .split('\n')
      .map((l) => l.trim());
    for (const l of lines.filter((l) => l.startsWith('neighbor'))) expect(conf).toContain(l);
    expect(lines).toContain('neighbor 10.0.0.2 next-hop-self');
    expect(lines).toContain('neighbor 10.0.0.2 password pw');
    expect(lines.at(-1)).toBe('end');
    expect(frrDriver.apply({ op: 'peer_remove', address: '10.0.0.2' }, after).commands[0]).toContain('no neighbor 10.0.0.2');
    const adv = frrDriver.apply({ op: 'advertise', prefix: '203.0.113.0/24' }, after).commands[0] ?? [];
    expect(adv.slice(-5)).toEqual(['address-family ipv4 unicast', '-c', 'network 203.0.113.0/24', '-c', 'end']);
    expect(frrDriver.apply({ op: 'withdraw', prefix: '203.0.113.0/24' }, after).commands[0]).toContain('no network 203.0.113.0/24');
  });

  it('GoBGP: peers by SIGHUP reload of gobgpd.toml (checked afterwards), prefixes live through the API', () => {
    const after = { ...cfg('gobgp'), neighbors: [{ address: '10.0.0.2', asn: 65002 }] };
    expect(gobgpDriver.apply({ op: 'peer_add', neighbor: { address: '10.0.0.2', asn: 65002 } }, after)).toEqual({
      mode: 'reload',
      commands: [['pkill', '-HUP', '-x', 'gobgpd']],
      expect: { present: ['10.0.0.2'] },
    });
    expect(gobgpDriver.apply({ op: 'peer_remove', address: '10.0.0.9' }, after).expect).toEqual({ absent: ['10.0.0.9'] });
    expect(gobgpDriver.apply({ op: 'advertise', prefix: '203.0.113.0/24' }, after)).toEqual({
      mode: 'live',
      commands: [['gobgp', 'global', 'rib', 'add', '-a', 'ipv4', '203.0.113.0/24']],
    });
    expect(gobgpDriver.apply({ op: 'withdraw', prefix: '203.0.113.0/24' }, after).commands[0]?.[3]).toBe('del');
    expect(gobgpDriver.unsupported?.next_hop_self).toMatch(/GoBGP/);
  });

  it('ExaBGP: prefixes live through its API pipe, peers by `exabgpcli reload`, every call bounded', () => {
    const after = { ...cfg('exabgp'), neighbors: [{ address: '10.0.0.2', asn: 65002 }] };
    const adv = exabgpDriver.apply({ op: 'advertise', prefix: '203.0.113.0/24' }, after);
    expect(adv).toEqual({
      mode: 'live',
      commands: [['timeout', '-s', 'KILL', '8', 'exabgpcli', 'announce', 'route', '203.0.113.0/24', 'next-hop', 'self']],
    });
    expect(exabgpDriver.apply({ op: 'withdraw', prefix: '203.0.113.0/24' }, after).commands[0]?.slice(4, 7)).toEqual([
      'exabgpcli',
      'withdraw',
      'route',
    ]);
    // with no peer, nothing to announce to: the file alone carries the prefix
    expect(exabgpDriver.apply({ op: 'advertise', prefix: '203.0.113.0/24' }, { ...after, neighbors: [] }).commands).toEqual([]);
    const add = exabgpDriver.apply({ op: 'peer_add', neighbor: { address: '10.0.0.2', asn: 65002 } }, after);
    expect(add.mode).toBe('reload');
    expect(add.commands).toEqual([['timeout', '-s', 'KILL', '8', 'exabgpcli', 'reload']]);
  });

  it("recognises each CLI's refusals, also those that exit 0", () => {
    expect(frrDriver.refused('% Create the peer-group or interface first')).toBe(true);
    expect(frrDriver.refused('')).toBe(false);
    expect(exabgpDriver.refused("ExaBGP returns an error (see ExaBGP's logs for more information)")).toBe(true);
    expect(exabgpDriver.refused('reload in progress')).toBe(false);
    expect(gobgpDriver.refused('{"error":"context deadline exceeded"}')).toBe(true);
    expect(gobgpDriver.refused('')).toBe(false);
  });

  it('refuses to build commands from values that are not addresses or prefixes', () => {
    const after = cfg('frr');
    expect(() => frrDriver.apply({ op: 'advertise', prefix: '1.2.3.0/24\nend' }, after)).toThrow(/CIDR/);
    expect(() => gobgpDriver.apply({ op: 'advertise', prefix: '-h' }, cfg('gobgp'))).toThrow(/CIDR/);
    expect(() => frrDriver.apply({ op: 'peer_remove', address: '10.0.0.2; end' }, after)).toThrow(/IPv4/);
  });

  it('renders an ExaBGP file with no neighbors that ExaBGP accepts (a template keeps the parser fed)', () => {
    const text = exabgpDriver.render({ ...cfg('exabgp'), neighbors: [] })[0]?.content ?? '';
    expect(text).toContain('template {');
    expect(text).not.toMatch(/^neighbor /m);
  });
});
