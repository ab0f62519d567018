import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { TunnelRecord } from '../../src/core/store/schema.js';
import { emptyState } from '../../src/core/store/schema.js';
import { compareLink, interfaceWith, isUnsupportedKernelError, parseAddrs, parseKey, parseLinks } from '../../src/core/tunnels/inspect.js';
import {
  endsOf,
  linkAddArgs,
  overhead,
  renderBatch,
  setupSteps,
  TUNNEL_ALIAS,
  tunnelFiles,
  vxlanMac,
} from '../../src/core/tunnels/render.js';
import { checkTunnelName } from '../../src/core/tunnels/service.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/tunnels/${name}`, import.meta.url), 'utf8');

const vxlan: TunnelRecord = {
  name: 't12',
  mode: 'vxlan',
  underlay: 'xcore',
  a: { container: 'xr1', tunnel_ip: '172.31.0.1/30', underlay_ip: '10.99.0.11' },
  b: { container: 'xr2', tunnel_ip: '172.31.0.2/30', underlay_ip: '10.99.0.12' },
  key: 1,
  ttl: 64,
  mtu: 1450,
  created_at: '2026-11-28T00:00:00Z',
};
const gre: TunnelRecord = { ...vxlan, name: 'g12', mode: 'gre', key: 42, mtu: 1472 };

describe('tunnel commands', () => {
  it('gives each lab end its own local and remote, and the far inner address to ping', () => {
    const [a, b] = endsOf(vxlan);
    expect(a).toMatchObject({
      container: 'xr1',
      local: '10.99.0.11',
      remote: '10.99.0.12',
      address: '172.31.0.1/30',
      peerAddress: '172.31.0.2/30',
    });
    expect(b).toMatchObject({
      container: 'xr2',
      local: '10.99.0.12',
      remote: '10.99.0.11',
      address: '172.31.0.2/30',
      peerAddress: '172.31.0.1/30',
    });
    const outside = endsOf({ ...gre, b: { remote_ip: '192.0.2.7' } });
    expect(outside).toHaveLength(1);
    expect(outside[0]).toMatchObject({ remote: '192.0.2.7' });
    expect(outside[0]?.peerAddress).toBeUndefined();
  });

  it('renders GRE: ip link add ... type gre local remote ttl key, then mtu+alias, address, up', () => {
    const [a] = endsOf(gre);
    if (!a) throw new Error('no end');
    expect(setupSteps(a)).toEqual([
      ['link', 'add', 'name', 'g12', 'type', 'gre', 'local', '10.99.0.11', 'remote', '10.99.0.12', 'ttl', '64', 'key', '42'],
      ['link', 'set', 'dev', 'g12', 'mtu', '1472', 'alias', TUNNEL_ALIAS],
      ['addr', 'replace', '172.31.0.1/30', 'dev', 'g12'],
      ['link', 'set', 'dev', 'g12', 'up'],
    ]);
    expect(linkAddArgs({ ...a, key: undefined })).not.toContain('key');
  });

  it('renders VXLAN with VNI, port 4789 and a MAC fixed by tunnel and container', () => {
    const [a, b] = endsOf(vxlan);
    if (!a || !b) throw new Error('no ends');
    const args = linkAddArgs(a);
    expect(args).toEqual([
      'link',
      'add',
      'name',
      't12',
      'address',
      vxlanMac(a),
      'type',
      'vxlan',
      'id',
      '1',
      'local',
      '10.99.0.11',
      'remote',
      '10.99.0.12',
      'dstport',
      '4789',
      'ttl',
      '64',
    ]);
    expect(vxlanMac(a)).toMatch(/^02(:[0-9a-f]{2}){5}$/);
    expect(vxlanMac(a)).toBe(vxlanMac({ name: 't12', container: 'xr1' }));
    expect(vxlanMac(a)).not.toBe(vxlanMac(b));
    expect(() => linkAddArgs({ ...a, key: undefined })).toThrow(/VNI/);
  });

  it('writes one ip -batch file per tunnel end into the container, the comment first', () => {
    const [a] = endsOf(vxlan);
    if (!a) throw new Error('no end');
    const text = renderBatch(a);
    expect(text.split('\n')[0]).toMatch(/^# netstream-lab tunnel t12/);
    expect(text.split('\n')[1]).toBe(linkAddArgs(a).join(' '));
    const state = {
      ...emptyState(),
      tunnels: { t12: vxlan, g12: { ...gre, a: { ...gre.a, container: 'other' }, b: { remote_ip: '192.0.2.1' } } },
    };
    expect(tunnelFiles(state, 'xr2').map((f) => f.path)).toEqual(['/etc/nslab/tunnels/t12.ip']);
    expect(tunnelFiles(state, 'other').map((f) => f.path)).toEqual(['/etc/nslab/tunnels/g12.ip']);
    expect(tunnelFiles(state, 'nobody')).toEqual([]);
  });

  it('sizes the default MTU by the encapsulation overhead', () => {
    expect(1500 - overhead('vxlan', 1)).toBe(1450);
    expect(1500 - overhead('gre', undefined)).toBe(1476);
    expect(1500 - overhead('gre', 42)).toBe(1472);
  });

  it("refuses interface names over 15 characters and the kernel's own", () => {
    expect(checkTunnelName('a'.repeat(15))).toBeUndefined();
    expect(checkTunnelName('a'.repeat(16))).toMatch(/16 characters.*at most 15/);
    for (const n of ['gre0', 'tunl0', 'eth0', 'lo', 'gretap0']) expect(checkTunnelName(n)).toMatch(/kernel or Docker/);
  });
});

describe('tunnel state parsing', () => {
  it('reads a real VXLAN link: kind, ends, VNI, ttl, port, ours, up (operstate UNKNOWN)', () => {
    const t = parseLinks(fixture('vxlan-link.json')).find((l) => l.ifname === 't12');
    expect(t).toEqual({
      ifname: 't12',
      kind: 'vxlan',
      ours: true,
      up: true,
      operstate: 'UNKNOWN',
      mtu: 1450,
      local: '10.99.0.11',
      remote: '10.99.0.12',
      key: 1,
      ttl: 64,
      port: 4789,
    });
    const eth0 = parseLinks(fixture('vxlan-link.json')).find((l) => l.ifname === 'eth0');
    expect(eth0?.ours).toBe(false);
    expect(parseLinks(fixture('vxlan-link-down.json')).find((l) => l.ifname === 't12')?.up).toBe(false);
  });

  it('reads a GRE link with its key printed as a dotted quad', () => {
    const g = parseLinks(fixture('gre-link.json')).find((l) => l.ifname === 'g12');
    expect(g).toMatchObject({ kind: 'gre', local: '10.99.0.11', remote: '10.99.0.12', key: 42, ttl: 64, up: true, ours: true, mtu: 1472 });
    expect(parseKey('0.0.1.0')).toBe(256);
    expect(parseKey(7)).toBe(7);
    expect(parseKey('x')).toBeUndefined();
  });

  it('finds addresses and the underlay interface by address', () => {
    const addrs = parseAddrs(fixture('vxlan-addr.json'));
    expect(addrs.find((a) => a.ifname === 't12')?.addresses).toEqual(['172.31.0.1/30']);
    expect(interfaceWith(addrs, '10.99.0.11')).toMatchObject({ ifname: 'eth0', mtu: 1500 });
    expect(interfaceWith(addrs, '10.99.0.99')).toBeUndefined();
  });

  it('compares with what was saved: endpoints and keys need a recreate, the MTU does not', () => {
    const [a] = endsOf(vxlan);
    const [g] = endsOf(gre);
    if (!a || !g) throw new Error('no end');
    const link = parseLinks(fixture('vxlan-link.json')).find((l) => l.ifname === 't12');
    if (!link) throw new Error('no t12');
    expect(compareLink(a, link)).toEqual([]);
    expect(compareLink({ ...a, remote: '10.99.0.13', mtu: 1400 }, link)).toEqual([
      { field: 'remote', expected: '10.99.0.13', found: '10.99.0.12', recreate: true },
      { field: 'mtu', expected: '1400', found: '1450', recreate: false },
    ]);
    expect(compareLink(g, link)).toEqual([{ field: 'mode', expected: 'gre', found: 'vxlan', recreate: true }]);
    const greLink = parseLinks(fixture('gre-link.json')).find((l) => l.ifname === 'g12');
    if (!greLink) throw new Error('no g12');
    expect(compareLink({ ...g, name: 'g12' }, greLink)).toEqual([]);
    expect(compareLink({ ...g, name: 'g12', key: 43 }, greLink)).toEqual([{ field: 'key', expected: '43', found: '42', recreate: true }]);
  });

  it('recognises a kernel without the tunnel type', () => {
    expect(isUnsupportedKernelError('Error: Unknown device type.')).toBe(true);
    expect(isUnsupportedKernelError('RTNETLINK answers: File exists')).toBe(false);
  });
});
