import { describe, expect, it } from 'vitest';
import { ownAddresses, ownAsn, ownPeers, splitArgs } from '../../src/core/nodes/own.js';
import { emptyState } from '../../src/core/store/schema.js';
import { resolveTopology } from '../../src/core/topology/resolve.js';
import { parseTopology } from '../../src/core/topology/spec.js';

/** A node's own configuration, files, exec lines and interface names: rules that need no Docker. */
const empty = emptyState;

const chain = (extra: Record<string, unknown> = {}) => ({
  name: 'own',
  networks: { l1: { subnet: '100.64.0.0/29' } },
  nodes: {
    r1: {
      kind: 'frr',
      interfaces: { l1: 'auto' },
      interface_names: { l1: 'eth1' },
      config: 'router bgp 65001\n neighbor 10.0.12.2 remote-as 65002\n',
      exec: ['ip addr add 10.0.12.1/30 dev eth1'],
    },
    r2: {
      kind: 'frr',
      interfaces: { l1: 'auto' },
      config: 'router bgp 65002\n neighbor 10.0.12.1 remote-as 65001\n',
      exec: ["ip addr add '10.0.12.2/30' dev eth1"],
    },
    ...extra,
  },
});

describe("a node's own configuration", () => {
  it('splits exec lines like a shell would, without running one', () => {
    expect(splitArgs(`sh -c 'echo "a b" > /tmp/x'`)).toEqual(['sh', '-c', 'echo "a b" > /tmp/x']);
    expect(splitArgs('ip  addr\\ x "q\\"d"')).toEqual(['ip', 'addr x', 'q"d']);
    expect(splitArgs('echo "open')).toBe('has an unclosed " quote');
    expect(splitArgs('   ')).toBe('is empty');
  });

  it('reads the AS, peers and addresses an own configuration and its exec lines name', () => {
    expect(ownAsn('frr', 'hostname x\nrouter bgp 65010\n')).toBe(65010);
    expect(ownAsn('frr', 'router ospf\n')).toBe(0);
    expect(ownAsn('openbgpd', 'AS 65020\n')).toBe(65020);
    expect(ownPeers('frr', ' neighbor 10.0.0.1 remote-as 1\n neighbor PEERS remote-as 2\n')).toEqual(['10.0.0.1']);
    expect(
      ownAddresses({
        exec: ['ip -4 addr add 10.1.1.1/24 dev lo', 'ip route add default via 1.1.1.1'],
        config: ' ip address 10.2.2.1/30\n',
      }),
    ).toEqual(['10.1.1.1/24', '10.2.2.1/30']);
  });

  it('takes the AS from the config, names interfaces, and finds the sessions the configs make between lab nodes', () => {
    const d = resolveTopology(parseTopology({ spec: chain() }), empty());
    const r1 = d.nodes.find((n) => n.key === 'r1');
    expect(r1).toMatchObject({ role: 'daemon', asn: 65001, interfaces: [{ network: 'own-l1', name: 'eth1' }] });
    expect(d.sessions).toEqual([{ a: 'own-r1', b: 'own-r2', a_ip: '10.0.12.1', b_ip: '10.0.12.2', via: 'own config', own: true }]);
  });

  it('refuses what does not fit, naming the field', () => {
    const bad = (spec: unknown) => {
      try {
        resolveTopology(parseTopology({ spec }), empty());
      } catch (err) {
        return (err as Error & { issues?: Array<{ path: string }> }).issues?.map((i) => i.path) ?? [(err as Error).message];
      }
      return [];
    };
    const withR1 = (patch: Record<string, unknown>) => {
      const s = chain();
      Object.assign(s.nodes.r1, patch);
      return s;
    };
    expect(bad(withR1({ files: { '/etc/../etc/shadow': 'x' } })).join()).toMatch(/nodes\.r1\.files/);
    expect(bad(withR1({ files: { '/proc/sys/kernel/x': 'x' } })).join()).toMatch(/nodes\.r1\.files/);
    expect(bad(withR1({ files: { '/etc/nslab/record.json': '{}' } })).join()).toMatch(/nodes\.r1\.files/);
    expect(bad(withR1({ exec: ['echo "open'] })).join()).toMatch(/nodes\.r1\.exec\.0/);
    expect(bad(withR1({ interface_names: { nowhere: 'eth1' } }))).toContain('nodes.r1.interface_names.nowhere');
    expect(bad(withR1({ interface_names: { l1: 'lo' } })).join()).toMatch(/nodes\.r1\.interface_names\.l1/);
    expect(bad(withR1({ advertise: ['10.9.0.0/24'] }))).toContain('nodes.r1.advertise');
    expect(bad({ ...chain(), bgp: { sessions: [['r1', 'r2']] } })).toContain('bgp.sessions.0.a');
    const noAsn = chain();
    noAsn.nodes.r1 = { kind: 'frr', interfaces: { l1: 'auto' } } as (typeof noAsn.nodes)['r1'];
    expect(bad(noAsn)).toContain('nodes.r1.asn');
  });
});
