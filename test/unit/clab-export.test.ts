import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { type ExportNode, exportClab, importClab } from '../../src/core/clab/index.js';
import { OWN_CONFIG_PATH } from '../../src/core/nodes/own.js';
import type { TopologySpec } from '../../src/core/topology/spec.js';

interface ClabFile {
  name: string;
  topology: {
    nodes: Record<string, { kind: string; image?: string; binds?: string[]; exec?: string[] }>;
    links?: Array<{ endpoints: string[] }>;
  };
}

describe('containerlab export', () => {
  const nodes: ExportNode[] = [
    {
      key: 'r1',
      kind: 'frr',
      interfaces: [
        { network: 'lan', ip: '10.1.0.2', prefixLen: 24 },
        { network: 'core', ip: '10.0.0.2', prefixLen: 24 },
      ],
      config: [{ path: '/etc/frr/frr.conf', content: 'router bgp 65001\n' }],
    },
    {
      key: 'r2',
      kind: 'gobgp',
      interfaces: [{ network: 'core', ip: '10.0.0.3', prefixLen: 24 }],
      config: [{ path: '/etc/gobgp/gobgpd.toml', content: '[global.config]\n  as = 65002\n' }],
      files: { '/etc/motd': 'hi\n' },
      exec: ['ip link set eth1 mtu 1400'],
    },
    { key: 'r3', kind: 'exabgp', interfaces: [{ network: 'core', ip: '10.0.0.4', prefixLen: 24 }] },
    { key: 'h1', kind: 'host', interfaces: [{ network: 'lan', ip: '10.1.0.3', prefixLen: 24 }], gateway: '10.1.0.2' },
    { key: 'h2', kind: 'host', interfaces: [{ network: 'alone', ip: '10.2.0.2', prefixLen: 24 }] },
  ];
  const networks = [
    { key: 'core', subnet: '10.0.0.0/24' },
    { key: 'lan', subnet: '10.1.0.0/24' },
    { key: 'alone', subnet: '10.2.0.0/24' },
  ];

  it('writes linux nodes with our images, binds, address exec lines, links and a bridge', () => {
    const out = exportClab({ name: 'triangle', nodes, networks });
    expect(out.yaml.startsWith('# containerlab topology written by netstream-lab')).toBe(true);
    expect(out.yaml).toContain('nslab images build');
    const doc = parseYaml(out.yaml) as ClabFile;
    expect(doc.name).toBe('triangle');
    const n = doc.topology.nodes;
    expect(n.r1).toEqual({
      kind: 'linux',
      image: 'quay.io/frrouting/frr:8.4.0',
      binds: ['r1/frr.conf:/etc/frr/frr.conf', 'r1/daemons:/etc/frr/daemons'],
      // eth1, eth2 in network order (core, then lan)
      exec: ['ip addr add 10.0.0.2/24 dev eth1', 'ip addr add 10.1.0.2/24 dev eth2'],
    });
    expect(n.r2).toEqual({
      kind: 'linux',
      image: 'netstream-lab/gobgp:latest',
      binds: ['r2/gobgpd.toml:/etc/gobgp/gobgpd.toml', 'r2/motd:/etc/motd'],
      exec: ['ip link set eth1 mtu 1400', 'ip addr add 10.0.0.3/24 dev eth1'],
    });
    expect(n.h1?.image).toBe('netstream-lab/host:latest');
    expect(n.h1?.exec).toEqual(['ip addr add 10.1.0.3/24 dev eth1', 'ip route replace default via 10.1.0.2']);
    expect(n.h2?.exec).toBeUndefined();
    expect(n.core).toEqual({ kind: 'bridge' });
    expect(doc.topology.links).toEqual([
      { endpoints: ['r1:eth1', 'core:core-p1'] },
      { endpoints: ['r2:eth1', 'core:core-p2'] },
      { endpoints: ['r3:eth1', 'core:core-p3'] },
      { endpoints: ['r1:eth2', 'h1:eth1'] },
    ]);
    expect(out.files['r1/frr.conf']).toBe('router bgp 65001\n');
    expect(out.files['r1/daemons']).toMatch(/^bgpd=yes$/m);
    expect(out.files['r1/daemons']).toMatch(/^bfdd=yes$/m);
    expect(out.files['r2/motd']).toBe('hi\n');
    expect(out.files['r3/daemons']).toBeUndefined();
    expect(out.warnings).toEqual([
      expect.stringMatching(/^networks\.core: joins 3 nodes, so it is bridge core: containerlab needs that Linux bridge made/),
      expect.stringMatching(/^networks\.alone: only h2 is on it; left out/),
    ]);
  });

  it('leaves out the management network that names eth0 everywhere, and adds no addresses for imported nodes', () => {
    const out = exportClab({
      name: 'm',
      networks: [
        { key: 'mgmt', subnet: '100.64.0.0/29' },
        { key: 'a-b', subnet: '100.64.0.8/29' },
      ],
      nodes: ['a', 'b'].map((key) => ({
        key,
        kind: 'host' as const,
        addressesFromLab: true,
        exec: ['ip addr add 192.168.0.1/24 dev eth3'],
        interfaces: [
          { network: 'mgmt', ip: '100.64.0.2', prefixLen: 29, name: 'eth0' },
          { network: 'a-b', ip: '100.64.0.10', prefixLen: 29, name: 'eth3' },
        ],
      })),
    });
    const doc = parseYaml(out.yaml) as ClabFile;
    expect(Object.keys(doc.topology.nodes)).toEqual(['a', 'b']);
    expect(doc.topology.nodes.a?.exec).toEqual(['ip addr add 192.168.0.1/24 dev eth3']);
    expect(doc.topology.links).toEqual([{ endpoints: ['a:eth3', 'b:eth3'] }]);
    expect(out.warnings).toEqual([]);
  });
});

/** What the lead's tool passes for a saved topology that was imported (addresses are Docker's, unused). */
function toExport(spec: TopologySpec): Parameters<typeof exportClab>[0] {
  const nodes = Object.entries(spec.nodes).map(([key, n]): ExportNode => {
    const config = n.kind !== 'host' && n.config !== undefined ? [{ path: OWN_CONFIG_PATH[n.kind], content: n.config }] : undefined;
    return {
      key,
      kind: n.kind,
      interfaces: Object.keys(n.interfaces).map((net, i) => ({
        network: net,
        ip: `100.127.${i}.2`,
        prefixLen: 29,
        ...(n.interface_names?.[net] ? { name: n.interface_names[net] } : {}),
      })),
      ...(config ? { config } : {}),
      ...(n.files ? { files: n.files } : {}),
      ...(n.exec ? { exec: n.exec } : {}),
      addressesFromLab: n.interface_names !== undefined,
    };
  });
  return { name: spec.name, nodes, networks: Object.entries(spec.networks).map(([key, n]) => ({ key, subnet: n.subnet })) };
}

/** The lab as a containerlab user sees it: nodes, kinds, links by node:interface, configs, files, exec lines. */
function shape(spec: TopologySpec) {
  const links = Object.keys(spec.networks)
    .filter((net) => net !== 'mgmt')
    .map((net) =>
      Object.entries(spec.nodes)
        .filter(([, n]) => net in n.interfaces)
        .map(([k, n]) => `${k}:${n.interface_names?.[net]}`)
        .sort()
        .join(' '),
    )
    .sort();
  const nodes = Object.fromEntries(
    Object.entries(spec.nodes).map(([k, n]) => [
      k,
      {
        kind: n.kind,
        config: n.kind === 'host' ? undefined : n.config,
        files: n.files,
        exec: n.exec,
        names: Object.values(n.interface_names ?? {}).sort(),
      },
    ]),
  );
  return { nodes, links };
}

describe('containerlab round trip', () => {
  it('import -> export -> import gives the same nodes, kinds, links, interface names, configs, files and exec lines', () => {
    const first = importClab({
      yaml: `
name: chain
topology:
  defaults: { kind: linux }
  groups:
    routers: { image: quay.io/frrouting/frr:8.4.0, binds: ["common/daemons:/etc/frr/daemons"] }
  nodes:
    r1: { group: routers, binds: ["r1/frr.conf:/etc/frr/frr.conf"], exec: ["ip addr add 10.0.12.1/30 dev eth1"] }
    r2: { group: routers, binds: ["r2/:/etc/frr/"], exec: ["ip addr add 10.0.12.2/30 dev eth2", "ip addr add 10.0.23.1/30 dev eth1"] }
    r3: { image: netstream-lab/gobgp, binds: ["r3/gobgpd.toml:/etc/gobgp/gobgpd.toml"] }
    pc1: { image: alpine, exec: ["ip route replace default via 192.168.1.1"] }
    pc2: { image: alpine }
    pc3: { image: alpine }
    lan: { kind: bridge }
  links:
    - endpoints: ["r1:eth1", "r2:eth2"]
    - endpoints: ["r2:eth1", "r3:eth7"]
    - endpoints: ["r1:eth2", "lan:lanp1"]
    - endpoints: ["pc1:eth1", "lan:lanp2"]
    - endpoints: ["pc2:eth1", "lan:lanp3"]
    - type: veth
      endpoints: [{ node: pc3, interface: eth1, ipv4: 192.168.2.2/24 }, { node: r3, interface: eth2, ipv4: 192.168.2.1/24 }]
`,
      files: {
        'common/daemons': 'bgpd=yes\nbfdd=yes\n',
        'r1/frr.conf': 'router bgp 65001\n neighbor 10.0.12.2 remote-as 65002\n',
        'r2/frr.conf': 'router bgp 65002\n neighbor 10.0.12.1 remote-as 65001\n',
        'r2/daemons': 'bgpd=yes\nospfd=yes\n',
        'r3/gobgpd.toml': '[global.config]\n  as = 65003\n',
      },
    });
    const exported = exportClab(toExport(first.spec));
    const second = importClab({ yaml: exported.yaml, files: exported.files });
    expect(shape(second.spec)).toEqual(shape(first.spec));
    expect(shape(first.spec).links).toEqual(['pc1:eth1 pc2:eth1 r1:eth2', 'pc3:eth1 r3:eth2', 'r1:eth1 r2:eth2', 'r2:eth1 r3:eth7']);
    expect(second.spec.name).toBe('chain');
    expect(second.spec.nodes.r3?.exec).toEqual(['ip addr add 192.168.2.1/24 dev eth2']);
  });
});
