import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lab } from '../../src/core/lab.js';
import { call, callError, root, sweep, testLab, waitFor } from '../helpers/docker.js';

/**
 * Labs brought in from containerlab files, on a real engine with real FRR: the files are our own
 * fixtures, written the way containerlab users write theirs (frr.conf and daemons bound from the
 * lab's folder, addresses only in exec lines, groups, PCs from a foreign image).
 */
const RUN = `clab-${process.pid}`;
let lab: Lab;
const docker = new Docker();

const DAEMONS_BGP = [
  'zebra=yes',
  'bgpd=yes',
  'ospfd=no',
  'staticd=yes',
  'vtysh_enable=yes',
  'zebra_options="  -A 127.0.0.1 -s 90000000"',
  'bgpd_options="   -A 127.0.0.1"',
  'staticd_options="-A 127.0.0.1"',
  '',
].join('\n');
const DAEMONS_OSPF = DAEMONS_BGP.replace('bgpd=yes', 'bgpd=no')
  .replace('ospfd=no', 'ospfd=yes')
  .replace('bgpd_options="   -A 127.0.0.1"', 'ospfd_options="  -A 127.0.0.1"');

const bgpConf = (host: string, asn: number, rid: string, peers: Array<[string, number]>, net: string) => `frr defaults traditional
hostname ${host}
!
router bgp ${asn}
 bgp router-id ${rid}
 no bgp ebgp-requires-policy
${peers.map(([ip, as]) => ` neighbor ${ip} remote-as ${as}`).join('\n')}
 address-family ipv4 unicast
  network ${net}
 exit-address-family
!
`;

/**
 * r1 (AS 65001) -- r2 (AS 65002) -- r3 (AS 65001). r2's interface names run against the order of
 * the links (its eth2 faces r1, listed first), so Docker's attach order differs from the lab's.
 * r3 shares r1's AS: r1's prefix reaches it with 65001 in the path and is dropped, as it would be
 * under containerlab (no allowas-in).
 */
const CHAIN = {
  'chain.clab.yml': `name: Chain-Lab
topology:
  kinds:
    linux:
      image: quay.io/frrouting/frr:8.4.0
  nodes:
    r1:
      kind: linux
      binds: [r1/frr.conf:/etc/frr/frr.conf, daemons:/etc/frr/daemons]
      exec: ["ip addr add 10.0.12.1/30 dev eth1", "ip addr add 10.1.1.1/24 dev lo"]
    r2:
      kind: linux
      binds: [r2/frr.conf:/etc/frr/frr.conf, daemons:/etc/frr/daemons]
      exec: ["ip addr add 10.0.12.2/30 dev eth2", "ip addr add 10.0.23.1/30 dev eth1"]
    r3:
      kind: linux
      binds: [r3/frr.conf:/etc/frr/frr.conf, daemons:/etc/frr/daemons]
      exec: ["ip addr add 10.0.23.2/30 dev eth1", "ip addr add 10.3.3.1/24 dev lo"]
  links:
    - endpoints: ["r1:eth1", "r2:eth2"]
    - endpoints: ["r2:eth1", "r3:eth1"]
`,
  daemons: DAEMONS_BGP,
  'r1/frr.conf': bgpConf('r1', 65001, '10.1.1.1', [['10.0.12.2', 65002]], '10.1.1.0/24'),
  'r2/frr.conf': bgpConf(
    'r2',
    65002,
    '10.0.23.1',
    [
      ['10.0.12.1', 65001],
      ['10.0.23.2', 65001],
    ],
    '10.0.12.0/30',
  ),
  'r3/frr.conf': bgpConf('r3', 65001, '10.3.3.1', [['10.0.23.1', 65002]], '10.3.3.0/24'),
};

const ospfConf = (host: string, rid: string) => `frr defaults traditional
hostname ${host}
!
interface eth1
 ip ospf network point-to-point
 ip ospf hello-interval 1
 ip ospf dead-interval 4
!
interface eth2
 ip ospf network point-to-point
 ip ospf hello-interval 1
 ip ospf dead-interval 4
!
router ospf
 ospf router-id ${rid}
 network 10.0.0.0/16 area 0
 network 192.168.0.0/16 area 0
!
`;

/** Three OSPF routers in a triangle, configured through a group; two PCs from a foreign image, addressed by exec lines. */
const TRIANGLE = {
  'tri.clab.yml': `name: ospf-tri
topology:
  groups:
    routers:
      kind: linux
      image: quay.io/frrouting/frr:8.4.0
      binds: [__clabNodeName__/frr.conf:/etc/frr/frr.conf, daemons:/etc/frr/daemons]
    pcs:
      kind: linux
      image: alpine:3.19
  nodes:
    r1: { group: routers, exec: ["ip addr add 10.0.12.1/24 dev eth1", "ip addr add 10.0.13.1/24 dev eth2", "ip addr add 192.168.1.1/24 dev eth3"] }
    r2: { group: routers, exec: ["ip addr add 10.0.12.2/24 dev eth1", "ip addr add 10.0.23.2/24 dev eth2"] }
    r3: { group: routers, exec: ["ip addr add 10.0.13.3/24 dev eth1", "ip addr add 10.0.23.3/24 dev eth2", "ip addr add 192.168.3.1/24 dev eth3"] }
    pc1: { group: pcs, exec: ["ip addr add 192.168.1.10/24 dev eth1", "ip route replace default via 192.168.1.1"] }
    pc2: { group: pcs, exec: ["ip addr add 192.168.3.10/24 dev eth1", "ip route replace default via 192.168.3.1"] }
  links:
    - endpoints: ["r1:eth1", "r2:eth1"]
    - endpoints: ["r1:eth2", "r3:eth1"]
    - endpoints: ["r2:eth2", "r3:eth2"]
    - endpoints: ["r1:eth3", "pc1:eth1"]
    - endpoints: ["r3:eth3", "pc2:eth1"]
`,
  daemons: DAEMONS_OSPF,
  'r1/frr.conf': ospfConf('r1', '10.255.0.1').replace('interface eth2', 'interface eth3\n ip ospf passive\n!\ninterface eth2'),
  'r2/frr.conf': ospfConf('r2', '10.255.0.2'),
  'r3/frr.conf': ospfConf('r3', '10.255.0.3').replace('interface eth2', 'interface eth3\n ip ospf passive\n!\ninterface eth2'),
};

/** Write a lab's files into a fresh folder; returns the folder. */
function labFolder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'nslab-clab-'));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  return dir;
}

const cli = (...args: string[]) =>
  spawnSync(process.execPath, [join(root, 'dist', 'src', 'cli', 'main.js'), ...args], {
    env: { ...process.env, NSLAB_DATA_DIR: lab.config.dataDir, NSLAB_EXTRA_LABELS: `netstream-lab.test=${RUN}` },
    encoding: 'utf8',
    timeout: 120_000,
  });

type Exec = { exit_code: number; stdout: string; stderr: string };
type Route = { prefix: string; as_path?: number[]; best?: boolean };
type Status = { daemon: string; note?: string; neighbors: Array<{ address: string; state: string }>; routes?: Route[] };
type Spec = {
  nodes: Record<
    string,
    { kind: string; config?: string; files?: Record<string, string>; exec?: string[]; interface_names?: Record<string, string> }
  >;
  networks: Record<string, unknown>;
};

const daemonExec = (name: string, command: string[]) => call<Exec>(lab, 'daemon_exec', { name, command });
const hostExec = (name: string, command: string[]) => call<Exec>(lab, 'host_exec', { name, command });

/** The interface names inside a container match the lab's links: each name's MAC is Docker's for that link's network. */
async function namesMatchLinks(topology: string, spec: Spec): Promise<number> {
  let checked = 0;
  for (const [key, node] of Object.entries(spec.nodes)) {
    const info = await docker.getContainer(`${topology}-${key}`).inspect();
    for (const [net, ifname] of Object.entries(node.interface_names ?? {})) {
      const mac = info.NetworkSettings.Networks[`${topology}-${net}`]?.MacAddress;
      const run = node.kind === 'host' ? hostExec : daemonExec;
      const inside = await run(`${topology}-${key}`, ['cat', `/sys/class/net/${ifname}/address`]);
      expect(inside.stdout.trim(), `${key} ${ifname} (${net})`).toBe(mac);
      checked++;
    }
  }
  return checked;
}

describe('containerlab labs imported and run unchanged', () => {
  beforeAll(() => {
    lab = testLab(RUN);
  });

  afterAll(async () => {
    await sweep(RUN);
  });

  it('an FRR eBGP chain whose addresses exist only in exec lines: imported from disk, every session Established, the AS-path loop drops the prefix', async () => {
    const dir = labFolder(CHAIN);
    const t0 = Date.now();
    const imported = cli('topology', 'import', join(dir, 'chain.clab.yml'), '--json');
    expect(imported.status, imported.stderr).toBe(0);
    const saved = JSON.parse(imported.stdout) as { name: string; nodes: number; warnings: string[] };
    expect(saved).toMatchObject({ name: 'chain-lab', nodes: 3 });
    // the FRR image is named by a registry that is not ours: said, and mapped to our FRR image
    expect(saved.warnings.join('\n')).toMatch(/quay\.io\/frrouting\/frr:8\.4\.0/);
    const T = saved.name;
    const up = await call<{ established: { all: boolean; not_established: string[] }; warnings?: string[] }>(lab, 'topology_standup', {
      name: T,
      wait_established_s: 90,
    });
    const seconds = (Date.now() - t0) / 1000;
    expect(up.established, JSON.stringify(up)).toMatchObject({ all: true, not_established: [] });
    expect(up.warnings ?? []).toEqual([]);
    console.log(`[measure] containerlab FRR chain: topology import -> every session Established in ${seconds.toFixed(1)} s`);

    const r2 = await call<Status>(lab, 'daemon_status', { name: `${T}-r2` });
    expect(r2.neighbors.map((n) => [n.address, n.state]).sort()).toEqual([
      ['10.0.12.1', 'Established'],
      ['10.0.23.2', 'Established'],
    ]);
    const r2routes = await waitFor(
      'r2 to hold both edge prefixes',
      async () => {
        const st = await call<Status>(lab, 'daemon_status', { name: `${T}-r2` });
        const p = new Set(st.routes?.map((r) => r.prefix));
        return p.has('10.1.1.0/24') && p.has('10.3.3.0/24') ? st.routes : undefined;
      },
      30,
    );
    expect(r2routes?.find((r) => r.prefix === '10.1.1.0/24')?.as_path).toEqual([65001]);
    // r3 (AS 65001) hears r1's prefix only through r2, with 65001 in the path: dropped, not installed.
    const r3 = await call<Status>(lab, 'daemon_status', { name: `${T}-r3` });
    expect(r3.routes?.map((r) => r.prefix)).not.toContain('10.1.1.0/24');
    const r1 = await call<Status>(lab, 'daemon_status', { name: `${T}-r1` });
    expect(r1.routes?.map((r) => r.prefix)).not.toContain('10.3.3.0/24');
    expect(r1.routes?.map((r) => r.prefix)).toContain('10.0.12.0/30');

    // interface names are the lab's, whatever order Docker attached them in
    const spec = (await call<{ spec: Spec }>(lab, 'topology_get', { name: T })).spec;
    expect(spec.nodes.r2?.interface_names).toMatchObject({ mgmt: 'eth0' });
    expect(await namesMatchLinks(T, spec)).toBe(7);
    const ping = await daemonExec(`${T}-r2`, ['ping', '-c', '2', '-W', '1', '-I', 'eth2', '10.0.12.1']);
    expect(ping.exit_code, ping.stdout).toBe(0);

    // status, checks and the graph see the sessions the routers' own configs make
    const st = await call<{ sessions: Array<{ a: string; b: string; via: string; a_state?: string; b_state?: string }> }>(
      lab,
      'topology_status',
      { name: T },
    );
    expect(st.sessions.map((s) => [s.a, s.b, s.via, s.a_state, s.b_state]).sort()).toEqual([
      [`${T}-r1`, `${T}-r2`, 'own config', 'Established', 'Established'],
      [`${T}-r2`, `${T}-r3`, 'own config', 'Established', 'Established'],
    ]);
    const verified = await call<{ passed: boolean; summary: string }>(lab, 'topology_verify', { name: T, wait_s: 30 });
    expect(verified.passed, verified.summary).toBe(true);
    expect(verified.summary).toMatch(/^(\d+) of \1 checks hold$/);
    const graph = await call<{ text?: string }>(lab, 'topology_graph', { name: T, format: 'mermaid' });
    expect(graph.text ?? JSON.stringify(graph)).toMatch(/BGP Established/);
    // a restart takes the exec lines' addresses with the old network namespace: they run again at start
    await docker.getContainer(`${T}-r2`).restart({ t: 1 });
    const again = await call<{ passed: boolean; summary: string; failures?: string[] }>(lab, 'topology_verify', { name: T, wait_s: 60 });
    expect(again.passed, JSON.stringify(again.failures)).toBe(true);
    const plan = await call<{ plan: { summary: Record<string, number> } }>(lab, 'topology_standup', { name: T, dry_run: true });
    expect(plan.plan.summary).toMatchObject({ create: 0, recreate: 0, delete: 0 });

    // live peer tools say what they cannot do on a node with its own config
    const refused = await callError(lab, 'daemon_peer_add', { name: `${T}-r1`, address: '10.0.12.2', asn: 65009 });
    expect(refused.code).toBe('UNSUPPORTED');
    expect(refused.message).toMatch(/its own frr configuration/);
  });

  it('an OSPF triangle configured through groups: every router has its neighbours Full and the PCs ping each other', async () => {
    const saved = await call<{ name: string; warnings: string[] }>(lab, 'topology_import', {
      format: 'containerlab',
      yaml: TRIANGLE['tri.clab.yml'],
      files: Object.fromEntries(Object.entries(TRIANGLE).filter(([k]) => k !== 'tri.clab.yml')),
    });
    const T = saved.name;
    expect(T).toBe('ospf-tri');
    expect(saved.warnings.join('\n')).toMatch(/alpine:3\.19/);
    const spec = (await call<{ spec: Spec }>(lab, 'topology_get', { name: T })).spec;
    expect(Object.fromEntries(Object.entries(spec.nodes).map(([k, n]) => [k, n.kind]))).toEqual({
      r1: 'frr',
      r2: 'frr',
      r3: 'frr',
      pc1: 'host',
      pc2: 'host',
    });
    const up = await call<{ warnings?: string[]; established?: { all: boolean } }>(lab, 'topology_standup', {
      name: T,
      wait_established_s: 60,
    });
    expect(up.warnings ?? []).toEqual([]);
    // routers that run no BGP have no session to wait for
    expect(up.established?.all, JSON.stringify(up.established)).toBe(true);
    for (const r of ['r1', 'r2', 'r3']) {
      const full = await waitFor(
        `${r}'s two OSPF neighbours Full`,
        async () => {
          const out = await daemonExec(`${T}-${r}`, ['vtysh', '-c', 'show ip ospf neighbor json']);
          const nb =
            (JSON.parse(out.stdout || '{}') as { neighbors?: Record<string, Array<{ state?: string; nbrState?: string }>> }).neighbors ??
            {};
          const ids = Object.entries(nb).filter(([, l]) => l.some((x) => /^Full/.test(x.nbrState ?? x.state ?? '')));
          return ids.length === 2 ? ids.map(([id]) => id).sort() : undefined;
        },
        60,
      );
      expect(full).toHaveLength(2);
      // bgpd is off in its daemons file: shown as running without BGP, not as a daemon that does not answer
      const st = await call<Status>(lab, 'daemon_status', { name: `${T}-${r}` });
      expect(st).toMatchObject({ daemon: 'running', neighbors: [] });
      expect(st.note).toMatch(/no BGP/);
    }
    const ping = await waitFor(
      'pc1 to reach pc2 across the OSPF routers',
      async () => {
        const r = await hostExec(`${T}-pc1`, ['ping', '-c', '3', '-W', '1', '192.168.3.10']);
        // ping exits 0 on a single reply: wait until all three come back (routes may still be settling)
        return / 3 received/.test(r.stdout) ? r : undefined;
      },
      60,
      2000,
    );
    expect(ping.stdout).toMatch(/3 received/);
    expect(await namesMatchLinks(T, spec)).toBe(15);
    // checks know the lab's own addresses (from its exec lines): a ping and a path by node name
    const v = await call<{ passed: boolean; checks: Array<{ ok: boolean; observed: string }> }>(lab, 'lab_check', {
      checks: [
        { check: 'ping', from: `${T}-pc1`, to: `${T}-pc2` },
        { check: 'path', from: `${T}-pc1`, to: '192.168.3.10', via: [`${T}-r1`, `${T}-r3`] },
      ],
      wait_s: 30,
    });
    expect(v.passed, JSON.stringify(v.checks)).toBe(true);
  });

  it('export to containerlab and import again gives the same lab', async () => {
    const out = await call<{ text: string; files: Record<string, string>; warnings: string[] }>(lab, 'topology_export', {
      name: 'chain-lab',
      format: 'containerlab',
    });
    expect(out.text).toMatch(/quay\.io\/frrouting\/frr:8\.4\.0/);
    expect(Object.keys(out.files).sort()).toEqual(expect.arrayContaining(['r1/frr.conf', 'r2/frr.conf', 'r3/frr.conf']));
    const again = await call<{ name: string }>(lab, 'topology_import', {
      format: 'containerlab',
      yaml: out.text,
      files: out.files,
      name: 'chain-again',
    });
    const a = (await call<{ spec: Spec }>(lab, 'topology_get', { name: 'chain-lab' })).spec;
    const b = (await call<{ spec: Spec }>(lab, 'topology_get', { name: again.name })).spec;
    expect(Object.keys(b.networks).sort()).toEqual(Object.keys(a.networks).sort());
    expect(b.nodes).toEqual(a.nodes);
    // our own YAML too
    const yaml = await call<{ text: string }>(lab, 'topology_export', { name: 'chain-lab', format: 'yaml' });
    expect(yaml.text).toMatch(/interface_names/);
  });

  it('hostile files are refused by field and change nothing; the CLI never reads outside the lab folder', async () => {
    const before = await call<{ topologies: unknown[] }>(lab, 'topology_list', {});
    const shadow = `name: evil
topology:
  nodes:
    r1: { kind: linux, image: quay.io/frrouting/frr:8.4.0, binds: ["../../etc/shadow:/etc/frr/frr.conf"] }
`;
    const e1 = await callError(lab, 'topology_import', { format: 'containerlab', yaml: shadow });
    expect(e1.code).toBe('INVALID_INPUT');
    expect(e1.toText()).toMatch(/topology\.nodes\.r1\.binds\.0/);
    const dir = labFolder({ 'evil.clab.yml': shadow });
    const viaCli = cli('topology', 'import', join(dir, 'evil.clab.yml'), '--json');
    expect(viaCli.status).toBe(1);
    expect(viaCli.stderr).toMatch(/topology\.nodes\.r1\.binds\.0/);

    // a symbolic link inside the folder that leads out of it is not read
    const linked = labFolder({
      'l.clab.yml':
        'name: linked\ntopology:\n  nodes:\n    r1: { kind: linux, image: quay.io/frrouting/frr:8.4.0, binds: ["r1/frr.conf:/etc/frr/frr.conf"] }\n',
    });
    mkdirSync(join(linked, 'r1'));
    symlinkSync('/etc/passwd', join(linked, 'r1', 'frr.conf'));
    const l = cli('topology', 'import', join(linked, 'l.clab.yml'), '--json');
    expect(l.status, l.stderr).toBe(0);
    expect((JSON.parse(l.stdout) as { warnings: string[] }).warnings.join('\n')).toMatch(/r1\/frr\.conf leads outside the lab's folder/);
    const ls = (await call<{ spec: Spec }>(lab, 'topology_get', { name: 'linked' })).spec;
    expect(ls.nodes.r1?.config ?? '').not.toMatch(/root:/);
    await call(lab, 'topology_delete', { name: 'linked' });

    const bomb = `name: bomb
a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
topology: { nodes: { r1: { kind: linux, image: x } } }
`;
    expect((await callError(lab, 'topology_import', { format: 'containerlab', yaml: bomb })).code).toBe('INVALID_INPUT');
    const many = `name: many\ntopology:\n  nodes:\n${Array.from({ length: 10_000 }, (_, i) => `    n${i}: { kind: linux }`).join('\n')}\n`;
    const big = await callError(lab, 'topology_import', { format: 'containerlab', yaml: many });
    expect(big.code).toBe('INVALID_INPUT');
    expect(big.toText()).toMatch(/at most 1000/);
    // `__proto__` as a node name is a name like any other: mapped to ours with a warning, nothing polluted
    const proto = await call<{ name: string; warnings: string[] }>(lab, 'topology_import', {
      format: 'containerlab',
      yaml: 'name: p\ntopology:\n  nodes:\n    __proto__: { kind: linux }\n',
    });
    expect(proto.warnings.join('\n')).toMatch(/topology\.nodes\.__proto__: named proto__/);
    expect(({} as Record<string, unknown>).kind).toBeUndefined();
    await call(lab, 'topology_delete', { name: proto.name });
    expect(await call<{ topologies: unknown[] }>(lab, 'topology_list', {})).toEqual(before);
  });
});
