import { describe, expect, it } from 'vitest';
import { importClab } from '../../src/core/clab/index.js';
import { LabError } from '../../src/core/errors.js';
import { parseCidr } from '../../src/core/ipam.js';

const FRR_CONF = 'frr defaults traditional\nrouter bgp 65001\n neighbor 10.0.12.2 remote-as 65002\n';

/** The LabError an import throws (fails the test when it does not throw). */
function refused(input: Parameters<typeof importClab>[0]): LabError {
  try {
    importClab(input);
  } catch (err) {
    expect(err).toBeInstanceOf(LabError);
    expect((err as LabError).code).toBe('INVALID_INPUT');
    return err as LabError;
  }
  throw new Error('the import was not refused');
}

const paths = (err: LabError) => (err.issues ?? []).map((i) => i.path);

describe('containerlab import: inheritance', () => {
  const yaml = `
name: inherit
topology:
  defaults:
    kind: linux
    image: alpine:3
    exec: ["echo defaults"]
    binds: ["common/hosts:/etc/hosts"]
  kinds:
    linux:
      group: edge
      exec: ["echo kind", "echo defaults"]
      binds: ["common/motd:/etc/motd"]
  groups:
    routers:
      image: quay.io/frrouting/frr:9.1.0
      exec: ["echo group"]
      binds: ["group/daemons:/etc/frr/daemons"]
    edge:
      exec: ["echo edge"]
  nodes:
    r1:
      group: routers
      exec: ["echo node"]
      binds: ["r1/frr.conf:/etc/frr/frr.conf", "r1/daemons:/etc/frr/daemons"]
    pc1: {}
  links:
    - endpoints: ["r1:eth1", "pc1:eth1"]
`;
  const files = {
    'common/hosts': '127.0.0.1 localhost\n',
    'common/motd': 'hello\n',
    'group/daemons': 'bgpd=yes\n',
    'r1/daemons': 'bgpd=yes\nospfd=yes\n',
    'r1/frr.conf': FRR_CONF,
  };

  it('takes kind, image and group from defaults, kinds and groups, and merges exec and binds as containerlab does', () => {
    const { spec } = importClab({ yaml, files });
    const r1 = spec.nodes.r1;
    const pc1 = spec.nodes.pc1;
    // kind from defaults; image from the group beats the defaults' one
    expect(r1?.kind).toBe('frr');
    // pc1's group comes from kinds.linux.group (edge), which sets no image: the defaults' alpine makes it a host
    expect(pc1?.kind).toBe('host');
    // exec: defaults, kind, group, node, duplicates dropped
    expect(r1?.exec).toEqual(['echo defaults', 'echo kind', 'echo group', 'echo node']);
    expect(pc1?.exec).toEqual(['echo defaults', 'echo kind', 'echo edge']);
    // binds merged from every level, the most specific one winning per destination
    expect(r1?.kind === 'frr' && r1.config).toBe(FRR_CONF);
    expect(r1?.files).toEqual({ '/etc/hosts': files['common/hosts'], '/etc/motd': 'hello\n', '/etc/frr/daemons': files['r1/daemons'] });
    expect(pc1?.files).toEqual({ '/etc/hosts': files['common/hosts'], '/etc/motd': 'hello\n' });
  });

  it('a group kind beats the defaults kind, and maps like env are warned where they are written', () => {
    const { spec, warnings } = importClab({
      yaml: `
name: g
topology:
  defaults: { kind: nokia_srlinux, env: { A: "1" } }
  groups:
    frrs: { kind: linux, image: frrouting/frr:latest, labels: { x: y } }
  nodes:
    r1: { group: frrs, ports: ["8080:80"], mgmt-ipv4: 172.20.20.5 }
    s1: {}
`,
    });
    expect(spec.nodes.r1?.kind).toBe('frr');
    expect(spec.nodes.s1).toBeUndefined();
    expect(warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^topology\.defaults\.env: not honoured/),
        expect.stringMatching(/^topology\.groups\.frrs\.labels: not honoured/),
        expect.stringMatching(/^topology\.nodes\.r1\.ports: not honoured.*NSLAB_ALLOW_EXTERNAL/),
        expect.stringMatching(/^topology\.nodes\.r1\.mgmt-ipv4: not honoured/),
        expect.stringMatching(/^topology\.nodes\.s1: left out: kind nokia_srlinux/),
      ]),
    );
  });
});

describe('containerlab import: kinds and configuration', () => {
  it('recognises our kinds by image and by what a node binds; other linux nodes are hosts', () => {
    const yaml = `
name: kinds
topology:
  nodes:
    a: { kind: linux, image: jauderho/gobgp:v3 }
    b: { kind: linux, image: mikenowak/exabgp }
    c: { kind: linux, image: netstream-lab/bird:latest }
    d: { kind: linux, image: openbgpd/openbgpd:8.0 }
    e: { kind: linux, image: debian:12, binds: ["e/gobgpd.conf:/etc/gobgp/gobgpd.conf"] }
    f: { kind: linux, image: debian:12, binds: ["f/exabgp.conf:/etc/exabgp/exabgp.conf"] }
    g: { kind: linux, image: debian:12, binds: ["g/bird.conf:/etc/bird.conf"] }
    h: { kind: linux, image: debian:12, binds: ["h/bgpd.conf:/etc/bgpd.conf"] }
    i: { kind: frr, image: some/router }
    j: { kind: linux, image: wbitt/network-multitool }
    k: { kind: linux, image: netstream-lab/host }
`;
    const files = {
      'e/gobgpd.conf': '[global.config]\n  as = 65005\n  router-id = "10.0.0.5"\n',
      'f/exabgp.conf': 'neighbor 10.0.0.1 { local-as 65006; }\n',
      'g/bird.conf': 'router id 10.0.0.7;\n',
      'h/bgpd.conf': 'AS 65008\n',
    };
    const { spec, warnings } = importClab({ yaml, files });
    const kinds = Object.fromEntries(Object.entries(spec.nodes).map(([k, n]) => [k, n.kind]));
    expect(kinds).toEqual({
      a: 'gobgp',
      b: 'exabgp',
      c: 'bird',
      d: 'openbgpd',
      e: 'gobgp',
      f: 'exabgp',
      g: 'bird',
      h: 'openbgpd',
      i: 'frr',
      j: 'host',
      k: 'host',
    });
    const e = spec.nodes.e;
    expect(e?.kind === 'gobgp' && e.config).toBe(files['e/gobgpd.conf']);
    expect(e?.files).toBeUndefined();
    expect(spec.nodes.h?.kind === 'openbgpd' && spec.nodes.h.config).toBe('AS 65008\n');
    // routers with no configuration of their own run the rendered one, with an AS of their own
    expect(spec.nodes.a?.kind === 'gobgp' && spec.nodes.a.asn).toBe('auto');
    expect(warnings).toEqual(
      expect.arrayContaining([
        'topology.nodes.a.image: jauderho/gobgp:v3 is not used here; the node runs as our gobgp image (netstream-lab/gobgp)',
        expect.stringMatching(/^topology\.nodes\.a: no gobgp configuration is bound/),
        expect.stringMatching(/^topology\.nodes\.j\.image: wbitt\/network-multitool is not used here; the node runs as our host image/),
      ]),
    );
    expect(warnings.some((w) => w.startsWith('topology.nodes.c.image') || w.startsWith('topology.nodes.k.image'))).toBe(false);
  });

  it('an FRR node without frr.conf gets an empty configuration and a warning; a YAML GoBGP config is kept as a file', () => {
    const { spec, warnings } = importClab({
      yaml: `
name: noconf
topology:
  nodes:
    r1: { kind: linux, image: quay.io/frrouting/frr:8.4.0, binds: ["r1/daemons:/etc/frr/daemons"] }
    g1: { kind: linux, image: debian, binds: ["g1/gobgp.yml:/etc/gobgp/gobgp.yml"] }
`,
      files: { 'r1/daemons': 'bgpd=yes\n', 'g1/gobgp.yml': 'global:\n  config:\n    as: 65001\n' },
    });
    const r1 = spec.nodes.r1;
    expect(r1?.kind === 'frr' && r1.config).toBe('frr defaults traditional\n');
    expect(r1?.files).toEqual({ '/etc/frr/daemons': 'bgpd=yes\n' });
    expect(spec.nodes.g1?.kind).toBe('gobgp');
    expect(spec.nodes.g1?.files).toEqual({ '/etc/gobgp/gobgp.yml': 'global:\n  config:\n    as: 65001\n' });
    expect(warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^topology\.nodes\.r1: no \/etc\/frr\/frr\.conf is bound/),
        expect.stringMatching(/^topology\.nodes\.g1\.binds\.0: \/etc\/gobgp\/gobgp\.yml is not a TOML GoBGP configuration/),
      ]),
    );
  });

  it('a directory bind places every file under that folder; a missing source is a warning', () => {
    const { spec, warnings } = importClab({
      yaml: `
name: dirs
topology:
  nodes:
    r1: { kind: linux, image: frrouting/frr:v8.4.0, binds: ["./r1/:/etc/frr/", "r1/missing.sh:/usr/local/bin/x.sh:ro"] }
`,
      files: {
        'r1/frr.conf': FRR_CONF,
        'r1/daemons': 'bgpd=yes\n',
        'r1/vtysh.conf': 'service integrated-vtysh-config\n',
        'r2/frr.conf': 'x',
      },
    });
    const r1 = spec.nodes.r1;
    expect(r1?.kind === 'frr' && r1.config).toBe(FRR_CONF);
    expect(r1?.files).toEqual({ '/etc/frr/daemons': 'bgpd=yes\n', '/etc/frr/vtysh.conf': 'service integrated-vtysh-config\n' });
    expect(warnings).toContainEqual(expect.stringMatching(/^topology\.nodes\.r1\.binds\.1: r1\/missing\.sh is not among the lab's files/));
  });

  it('keeps exec lines in order, drops one that cannot be split with a warning, and puts link addresses on first', () => {
    const { spec, warnings } = importClab({
      yaml: `
name: execs
topology:
  nodes:
    pc1: { kind: linux, image: alpine, exec: ["ip link set eth1 up", "sh -c 'echo unclosed", "ip route add 10.9.0.0/16 via 192.168.1.1"] }
    pc2: { kind: linux, image: alpine }
  links:
    - endpoints: ["pc1:eth1", "pc2:eth1"]
      ipv4: [192.168.1.2/24, 192.168.1.1/24]
`,
    });
    expect(spec.nodes.pc1?.exec).toEqual([
      'ip addr add 192.168.1.2/24 dev eth1',
      'ip link set eth1 up',
      'ip route add 10.9.0.0/16 via 192.168.1.1',
    ]);
    expect(spec.nodes.pc2?.exec).toEqual(['ip addr add 192.168.1.1/24 dev eth1']);
    expect(warnings).toContainEqual(expect.stringMatching(/^topology\.nodes\.pc1\.exec\.1: dropped: has an unclosed ' quote/));
  });
});

describe('containerlab import: links and networks', () => {
  const yaml = `
name: links
topology:
  nodes:
    r1: { kind: linux, image: quay.io/frrouting/frr:8.4.0, exec: ["ip addr add 100.64.0.1/30 dev eth1", "ip addr add 100.64.0.9/32 dev lo"] }
    r2: { kind: linux, image: quay.io/frrouting/frr:8.4.0, binds: ["r2/frr.conf:/etc/frr/frr.conf"] }
    pc1: { kind: linux, image: alpine }
    pc2: { kind: linux, image: alpine }
    sw1: { kind: bridge }
    srl1: { kind: nokia_srlinux, image: ghcr.io/nokia/srlinux }
  links:
    - endpoints: ["r1:eth1", "r2:eth1"]
    - type: veth
      endpoints: [{ node: r2, interface: eth2 }, { node: sw1, interface: sw1p1 }]
    - endpoints: ["pc1:eth1", "sw1:sw1p2"]
    - endpoints: ["pc2:eth5", "sw1:sw1p3"]
    - endpoints: ["r1:eth2", "srl1:e1-1"]
    - endpoints: ["r1:eth3", "host:r1-eth3"]
    - endpoints: ["r1:eth4", "r2:eth4"]
`;
  const files = { 'r2/frr.conf': 'interface eth1\n ip address 100.64.0.2/30\n!\nip route 100.64.1.0/24 100.64.0.1\n' };

  it('makes one network per link and one per bridge, names interfaces as the lab does and adds the management network', () => {
    const { spec, warnings } = importClab({ yaml, files });
    expect(Object.keys(spec.networks)).toEqual(['mgmt', 'r1-r2', 'link7', 'sw1']);
    expect(spec.nodes.r1?.interface_names).toEqual({ mgmt: 'eth0', 'r1-r2': 'eth1', link7: 'eth4' });
    expect(spec.nodes.r2?.interface_names).toEqual({ mgmt: 'eth0', 'r1-r2': 'eth1', link7: 'eth4', sw1: 'eth2' });
    expect(spec.nodes.pc2?.interfaces).toEqual({ mgmt: 'auto', sw1: 'auto' });
    expect(spec.nodes.pc2?.interface_names).toEqual({ mgmt: 'eth0', sw1: 'eth5' });
    expect(spec.nodes.srl1).toBeUndefined();
    expect(warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^topology\.nodes\.srl1: left out: kind nokia_srlinux/),
        'topology.links.4: left out (node srl1 is left out)',
        expect.stringMatching(/^topology\.links\.5: left out: a link to host/),
      ]),
    );
  });

  it('chooses subnets clear of every address the lab writes (exec lines, frr.conf) and of the ones it is told to avoid', () => {
    const avoid = ['100.64.2.0/24', '100.64.3.0/25'];
    const { spec } = importClab({ yaml, files, avoidSubnets: avoid });
    const written = ['100.64.0.1/32', '100.64.0.9/32', '100.64.0.2/32', '100.64.1.0/24', ...avoid];
    const overlap = (a: string, b: string) => {
      const x = parseCidr(a);
      const y = parseCidr(b);
      if (typeof x === 'string' || typeof y === 'string') throw new Error('bad cidr');
      return x.network < y.network + y.size && y.network < x.network + x.size;
    };
    const subnets = Object.values(spec.networks).map((n) => n.subnet);
    for (const s of subnets) for (const w of written) expect(overlap(s, w), `${s} overlaps ${w}`).toBe(false);
    for (const s of subnets) for (const t of subnets) if (s !== t) expect(overlap(s, t)).toBe(false);
    expect(subnets.every((s) => s.startsWith('100.64.'))).toBe(true);
  });

  it('refuses eth0, a bad interface name, an unknown node and an interface used twice, naming the field', () => {
    const base = 'name: x\ntopology:\n  nodes:\n    a: { kind: linux, image: alpine }\n    b: { kind: linux, image: alpine }\n  links:\n';
    expect(paths(refused({ yaml: `${base}    - endpoints: ["a:eth0", "b:eth1"]\n` }))).toEqual(['topology.links.0.endpoints.0']);
    expect(refused({ yaml: `${base}    - endpoints: ["a:eth1", "b:eth0"]\n` }).message).toMatch(/eth0 is the management interface/);
    expect(paths(refused({ yaml: `${base}    - endpoints: ["a:eth1", "b:averyveryverylongname"]\n` }))).toEqual([
      'topology.links.0.endpoints.1',
    ]);
    expect(paths(refused({ yaml: `${base}    - endpoints: ["a:eth1", "c:eth1"]\n` }))).toEqual(['topology.links.0.endpoints.1']);
    expect(paths(refused({ yaml: `${base}    - endpoints: ["a:eth1", "b:eth1"]\n    - endpoints: ["a:eth1", "b:eth2"]\n` }))).toEqual([
      'topology.links.1.endpoints.0',
    ]);
    expect(paths(refused({ yaml: `${base}    - endpoints: ["a:eth1"]\n` }))).toEqual(['topology.links.0.endpoints']);
  });

  it('leaves out network-mode nodes and other link types with a warning', () => {
    const { spec, warnings } = importClab({
      yaml: `
name: modes
topology:
  nodes:
    a: { kind: linux, image: alpine }
    b: { kind: linux, image: alpine, network-mode: container:a }
  links:
    - { type: vxlan, endpoint: { node: a, interface: eth1 }, remote: 10.0.0.1, vni: 10 }
    - endpoints: ["a:eth2", "b:eth1"]
`,
    });
    expect(Object.keys(spec.nodes)).toEqual(['a']);
    expect(warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^topology\.nodes\.b\.network-mode: container:a is not honoured/),
        expect.stringMatching(/^topology\.links\.0: left out: links of type vxlan/),
        'topology.links.1: left out (node b is left out)',
      ]),
    );
  });
});

describe('containerlab import: names', () => {
  it('maps node and topology names to ours with a warning for each change; collisions become unique', () => {
    const { spec, warnings } = importClab({
      yaml: `
name: My_Lab.2024
topology:
  nodes:
    R1: { kind: linux, image: alpine }
    r1: { kind: linux, image: alpine }
    Router.Two: { kind: linux, image: alpine }
    a-very-long-node-name-that-goes-on-and-on: { kind: linux, image: alpine }
  links:
    - endpoints: ["R1:eth1", "Router.Two:eth1"]
`,
    });
    expect(spec.name).toBe('my-lab-2024');
    expect(Object.keys(spec.nodes)).toEqual(['r1', 'r1-2', 'router-two', 'a-very-long-node-name-that-goe']);
    expect(Object.keys(spec.networks)).toEqual(['mgmt', 'r1-router-two']);
    expect(warnings).toEqual(
      expect.arrayContaining([
        'name: "My_Lab.2024"; the topology is named my-lab-2024 here',
        expect.stringMatching(/^topology\.nodes\.r1: named r1-2 here/),
        expect.stringMatching(/^topology\.nodes\.Router\.Two: named router-two here/),
        expect.stringMatching(/^topology\.nodes\.a-very-long-node-name-that-goes-on-and-on: named a-very-long-node-name-that-goe here/),
      ]),
    );
    expect(importClab({ yaml: 'name: x\ntopology: { nodes: { a: { kind: linux } } }\n', name: 'mine' }).spec.name).toBe('mine');
  });

  it('handles __proto__ and constructor as node names and file paths without touching any prototype', () => {
    const files = JSON.parse('{"__proto__": "router bgp 65001\\n", "constructor/frr.conf": "router bgp 65002\\n", "x/__proto__": "p"}');
    const { spec } = importClab({
      yaml: `
name: protos
topology:
  nodes:
    __proto__: { kind: linux, image: frrouting/frr, binds: ["__proto__:/etc/frr/frr.conf", "x/:/etc/x/"] }
    constructor: { kind: linux, image: frrouting/frr, binds: ["constructor/:/etc/frr/"] }
    toString: { kind: linux, image: alpine }
  links:
    - endpoints: ["__proto__:eth1", "constructor:eth1"]
`,
      files,
    });
    expect(Object.keys(spec.nodes)).toEqual(['proto__', 'constructor', 'tostring']);
    const p = spec.nodes.proto__;
    expect(p?.kind === 'frr' && p.config).toBe('router bgp 65001\n');
    expect(Object.hasOwn(p?.files ?? {}, '/etc/x/__proto__')).toBe(true);
    const c = Object.getOwnPropertyDescriptor(spec.nodes, 'constructor')?.value as (typeof spec.nodes)[string] | undefined;
    expect(c?.kind === 'frr' && c.config).toBe('router bgp 65002\n');
    expect(({} as Record<string, unknown>).kind).toBeUndefined();
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });
});

describe('containerlab import: hostile files', () => {
  const node = (bind: string) =>
    `name: x\ntopology:\n  nodes:\n    r1:\n      kind: linux\n      image: frrouting/frr\n      binds: ["${bind}"]\n`;

  it('refuses binds that leave the lab folder, naming the bind', () => {
    for (const bind of [
      '../../etc/shadow:/etc/frr/frr.conf',
      'r1/../../etc/shadow:/x',
      '/etc/shadow:/etc/frr/frr.conf',
      '~/.ssh/id_rsa:/root/id',
    ]) {
      const err = refused({ yaml: node(bind), files: { 'etc/shadow': 'x' } });
      expect(paths(err), bind).toEqual(['topology.nodes.r1.binds.0']);
      expect(err.message).toMatch(/outside the lab's folder/);
    }
    const inGroup = refused({
      yaml: 'name: x\ntopology:\n  groups: { g: { binds: ["../secret:/s"] } }\n  nodes: { r1: { kind: linux, group: g } }\n',
    });
    expect(paths(inGroup)).toEqual(['topology.groups.g.binds.0']);
  });

  it('refuses a YAML bomb quickly', () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++)
      lines.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(',')}]`,
      );
    const bomb = `${lines.join('\n')}\nname: bomb\ntopology: { nodes: { r1: { kind: linux, exec: *j } } }\n`;
    const t = Date.now();
    const err = refused({ yaml: bomb });
    expect(Date.now() - t).toBeLessThan(5000);
    expect(paths(err)).toEqual(['yaml']);
    expect(err.message).toMatch(/alias/i);
  });

  it('refuses 10,000 nodes and 2,001 links quickly, naming the field', () => {
    const nodes = Array.from({ length: 10_000 }, (_, i) => `    n${i}: {kind: linux}`).join('\n');
    const t = Date.now();
    const err = refused({ yaml: `name: big\ntopology:\n  nodes:\n${nodes}\n` });
    expect(Date.now() - t).toBeLessThan(5000);
    expect(paths(err)).toEqual(['topology.nodes']);
    expect(err.message).toMatch(/at most 1000 nodes \(10000 given\)/);
    const links = Array.from({ length: 2001 }, (_, i) => `    - endpoints: ["a:e${i}", "b:e${i}"]`).join('\n');
    expect(paths(refused({ yaml: `name: big\ntopology:\n  nodes: {a: {kind: linux}, b: {kind: linux}}\n  links:\n${links}\n` }))).toEqual([
      'topology.links',
    ]);
  });

  it('refuses a file over 1,000,000 bytes, too many or too large bound files, and files that are not mappings', () => {
    expect(paths(refused({ yaml: `# ${'x'.repeat(1_000_001)}\nname: x\n` }))).toEqual(['yaml']);
    const many = Object.fromEntries(Array.from({ length: 501 }, (_, i) => [`f${i}`, 'x']));
    expect(paths(refused({ yaml: node('f1:/etc/f1'), files: many }))).toEqual(['files']);
    expect(paths(refused({ yaml: node('f1:/etc/f1'), files: { f1: 'x'.repeat(262_145) } }))).toEqual(['files.f1']);
    expect(paths(refused({ yaml: '- a\n- b\n' }))).toEqual(['yaml']);
    expect(paths(refused({ yaml: 'name: x\n' }))).toEqual(['topology']);
    expect(refused({ yaml: 'name: x\ntopology:\n  nodes:\n    a: {kind: linux}\n    a: {kind: linux}\n' }).message).toMatch(
      /key a appears twice/,
    );
    expect(paths(refused({ yaml: 'name: x\ntopology: { nodes: { r1: { kind: linux, exec: 5 } } }\n' }))).toEqual([
      'topology.nodes.r1.exec',
    ]);
  });
});
