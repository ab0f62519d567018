import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LabError } from '../../src/core/errors.js';
import { emptyState, type StoreState } from '../../src/core/store/schema.js';
import { toDot, toMermaid } from '../../src/core/topology/graph.js';
import { type DockerFacts, planTopology } from '../../src/core/topology/plan.js';
import { type Desired, resolveTopology } from '../../src/core/topology/resolve.js';
import { parseTopology, type TopologySpec } from '../../src/core/topology/spec.js';
import { networkRecord, nodeRecord } from '../../src/core/topology/standup.js';

const example = (f: string) => readFileSync(new URL(`../../examples/${f}`, import.meta.url), 'utf8');
const triangle = () => parseTopology({ yaml: example('triangle.yaml') });

/** The store and Docker as a standup of `d` leaves them. */
function deployed(d: Desired): { state: StoreState; facts: DockerFacts } {
  const s = emptyState();
  for (const n of d.networks) s.networks[n.name] = { ...networkRecord(n, d.topology), id: `net-${n.name}` };
  for (const n of d.nodes) {
    const rec = { ...nodeRecord(n, d.topology), container_id: `id-${n.name}` };
    if ('kind' in rec) s.daemons[n.name] = rec;
    else s.hosts[n.name] = rec;
    for (const i of n.interfaces) (s.networks[i.network] as { allocations: Record<string, string> }).allocations[i.ip] = n.name;
  }
  for (const t of d.tunnels) s.tunnels[t.name] = { ...t, topology: d.topology, created_at: '' };
  return {
    state: s,
    facts: { containers: new Map(d.nodes.map((n) => [n.name, 'running' as const])), networks: new Set(d.networks.map((n) => n.name)) },
  };
}

/** The field paths of every problem resolve reports. */
function problems(spec: unknown, state: StoreState = emptyState()): string[] {
  try {
    resolveTopology(parseTopology({ spec }), state);
    return [];
  } catch (err) {
    if (!(err instanceof LabError)) throw err;
    return (err.issues ?? []).map((i) => `${i.path}: ${i.message}`);
  }
}

/** The error parseTopology throws for `spec` (the test fails if it throws none). */
function parseError(spec: unknown): LabError {
  try {
    parseTopology({ spec });
  } catch (err) {
    return err as LabError;
  }
  throw new Error('no error');
}

const base = (): TopologySpec => JSON.parse(JSON.stringify(triangle())) as TopologySpec;

describe('topology files', () => {
  it('resolves the triangle of docs/interfaces.md: names, addresses, sessions on both ends, tunnel', () => {
    const d = resolveTopology(triangle(), emptyState());
    expect(d.networks.map((n) => [n.name, n.subnet, n.gateway])).toEqual([
      ['triangle-core', '10.10.0.0/24', '10.10.0.1'],
      ['triangle-lan1', '10.11.1.0/24', '10.11.1.1'],
    ]);
    const r1 = d.nodes.find((n) => n.key === 'r1');
    const r2 = d.nodes.find((n) => n.key === 'r2');
    const r3 = d.nodes.find((n) => n.key === 'r3');
    expect(r1).toMatchObject({
      name: 'triangle-r1',
      role: 'daemon',
      router_id: '10.10.0.11',
      interfaces: [
        { network: 'triangle-core', ip: '10.10.0.11' },
        { network: 'triangle-lan1', ip: '10.11.1.2' },
      ],
    });
    // auto addresses: the lowest free, skipping the gateway and explicit ones
    expect(r2?.interfaces).toEqual([{ network: 'triangle-core', ip: '10.10.0.2' }]);
    expect(r3?.interfaces).toEqual([{ network: 'triangle-core', ip: '10.10.0.3' }]);
    expect(r1?.role === 'daemon' && r1.neighbors).toEqual([
      { address: '10.10.0.2', asn: 65002 },
      { address: '10.10.0.3', asn: 65003, password: 's3cret' },
    ]);
    expect(r3?.role === 'daemon' && r3.neighbors).toEqual([{ address: '10.10.0.11', asn: 65001, password: 's3cret' }]);
    expect(d.nodes.find((n) => n.key === 'h1')).toMatchObject({ role: 'host', gateway: 'triangle-r1' });
    expect(d.tunnels).toEqual([
      {
        name: 't12',
        mode: 'vxlan',
        underlay: 'triangle-core',
        a: { container: 'triangle-r1', tunnel_ip: '172.31.0.1/30', underlay_ip: '10.10.0.11' },
        b: { container: 'triangle-r2', tunnel_ip: '172.31.0.2/30', underlay_ip: '10.10.0.2' },
        key: 42,
        ttl: 64,
        mtu: 1450,
      },
    ]);
  });

  it('allocates asn: auto from the private range and keeps it on the next standup', () => {
    const spec = parseTopology({ yaml: example('ring.yaml') });
    const d = resolveTopology(spec, emptyState());
    const asns = d.nodes.flatMap((n) => (n.role === 'daemon' ? [n.asn] : []));
    expect(asns).toEqual([64512, 64513, 64514, 64515, 64516, 64517]);
    const again = resolveTopology(spec, deployed(d).state);
    expect(again).toEqual(d);
  });

  it('keeps the auto ASNs and VNIs of what stays when something is added before it', () => {
    const spec = parseTopology({ yaml: example('ring.yaml') });
    spec.tunnels = [{ name: 'tb', mode: 'vxlan', a: 'r1', b: 'r2', a_ip: '172.31.9.1/30', b_ip: '172.31.9.2/30' }];
    const d = resolveTopology(spec, emptyState());
    const grown = JSON.parse(JSON.stringify(spec)) as TopologySpec;
    grown.nodes = { r0: { kind: 'frr', asn: 'auto', interfaces: { lan1: 'auto' } }, ...grown.nodes };
    grown.tunnels = [
      { name: 'ta', mode: 'vxlan', a: 'r1', b: 'r2', a_ip: '172.31.8.1/30', b_ip: '172.31.8.2/30' },
      ...(grown.tunnels ?? []),
    ];
    const d2 = resolveTopology(grown, deployed(d).state);
    const asn = (x: Desired, k: string) => x.nodes.find((n) => n.key === k && n.role === 'daemon') as { asn: number } | undefined;
    for (const k of ['r1', 'r2', 'r3', 'r4', 'r5', 'r6']) expect(asn(d2, k)?.asn, k).toBe(asn(d, k)?.asn);
    expect(asn(d2, 'r0')?.asn).toBe(64518);
    expect(d2.tunnels.map((t) => [t.name, t.key])).toEqual([
      ['ta', 2],
      ['tb', 1],
    ]);
  });

  it('refuses tunnels a kernel would refuse: network or broadcast inner addresses, overlapping inner subnets, one VNI twice on a node', () => {
    const spec = base() as unknown as Record<string, any>;
    spec.tunnels = [
      { name: 'ta', mode: 'vxlan', key: 5, a: 'r1', b: 'r2', a_ip: '172.31.0.0/30', b_ip: '172.31.0.3/30' },
      { name: 'tb', mode: 'vxlan', key: 5, a: 'r1', b: 'r2', a_ip: '172.31.0.1/29', b_ip: '172.31.0.2/29' },
    ];
    const found = problems(spec);
    expect(found).toEqual(
      expect.arrayContaining([
        'tunnels.0.a_ip: 172.31.0.0 is the network or broadcast address of 172.31.0.0/30',
        'tunnels.0.b_ip: 172.31.0.3 is the network or broadcast address of 172.31.0.0/30',
        "tunnels.1.a_ip: 172.31.0.1/29 overlaps tunnel 'ta' (172.31.0.0/30) of triangle-r1",
        "tunnels.1.key: VNI 5 is also tunnel 'ta' on a node it shares with it",
      ]),
    );
    spec.tunnels = [{ name: 'tc', a: 'r1', b: 'r2', a_ip: '172.31.1.1/09', b_ip: '172.31.1.2/30' }];
    expect(problems(spec)).toEqual(['tunnels.0.a_ip: must be an IPv4 prefix like 10.0.0.0/24']);
  });

  it('keeps the auto addresses of nodes that stay when a node is added before them', () => {
    const d = resolveTopology(triangle(), emptyState());
    const spec = base();
    spec.nodes = { r0: { kind: 'frr', asn: 65000, interfaces: { core: 'auto' } }, ...spec.nodes };
    const d2 = resolveTopology(spec, deployed(d).state);
    expect(d2.nodes.find((n) => n.key === 'r2')?.interfaces).toEqual(d.nodes.find((n) => n.key === 'r2')?.interfaces);
    expect(d2.nodes.find((n) => n.key === 'r0')?.interfaces[0]?.ip).toBe('10.10.0.4');
  });

  it('names the exact field of every problem, all at once', () => {
    const spec = base() as unknown as Record<string, any>;
    spec.nodes.r2.interfaces.core = '10.10.1.5';
    spec.nodes.r3.interfaces.core = '10.10.0.11';
    spec.nodes.h1.gateway = 'r9';
    spec.bgp.sessions.push(['r1', 'nobody']);
    spec.networks.lan2 = { subnet: '10.10.0.0/25' };
    expect(problems(spec)).toEqual([
      'networks.lan2.subnet: 10.10.0.0/25 overlaps networks.core (10.10.0.0/24)',
      'nodes.r2.interfaces.core: 10.10.1.5 is not in 10.10.0.0/24',
      'nodes.r3.interfaces.core: 10.10.0.11 is also the address of nodes.r1',
      "nodes.h1.gateway: 'r9' is neither an IPv4 address nor a node of this file",
      "bgp.sessions.2.b: no node 'nobody' in this file",
    ]);
  });

  it('refuses a host gateway on no shared network, sessions with hosts, tunnels without an underlay', () => {
    const spec = base() as unknown as Record<string, any>;
    spec.nodes.h1.gateway = 'r2';
    spec.bgp.sessions = [['r1', 'h1'], { a: 'r2', b: 'r3', network: 'lan1' }];
    spec.tunnels = [{ name: 't13', a: 'r3', b: 'h1', a_ip: '172.31.1.1/30', b_ip: '172.31.1.2/30' }];
    expect(problems(spec)).toEqual([
      "nodes.h1.gateway: 'r2' shares no network with h1",
      'tunnels.0: r3 and h1 share no network to carry the tunnel',
      "bgp.sessions.0.b: 'h1' is a host; only routers take BGP sessions",
      'bgp.sessions.1.network: r2 and r3 are not both on network lan1',
    ]);
  });

  it('checks the file shape with field paths: tunnel names, kinds, unknown fields', () => {
    const spec = base() as unknown as Record<string, any>;
    spec.tunnels[0].name = 'a-very-long-name';
    spec.nodes.r2.kind = 'quagga';
    spec.nodes.r1.colour = 'red';
    const e = parseError(spec);
    const paths = (e.issues ?? []).map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['tunnels.0.name', 'nodes.r2.kind', 'nodes.r1.colour']));
    expect(e.message).toMatch(/tunnels\.0\.name: a-very-long-name is 16 characters/);
  });

  it('refuses names that already exist outside the topology, duplicate keys and bad YAML', () => {
    const s = emptyState();
    s.daemons['triangle-r2'] = {
      name: 'triangle-r2',
      kind: 'frr',
      asn: 1,
      router_id: '10.9.9.9',
      interfaces: [],
      neighbors: [],
      advertise: [],
      desired: 'running',
      created_at: '',
    };
    s.networks.other = {
      name: 'other',
      subnet: '10.11.0.0/16',
      gateway: '10.11.0.1',
      driver: 'bridge',
      internal: true,
      created_at: '',
      allocations: {},
    };
    expect(problems(base(), s)).toEqual([
      "networks.lan1.subnet: 10.11.1.0/24 overlaps the lab network 'other' (10.11.0.0/16)",
      "nodes.r2: 'triangle-r2' already exists as a daemon outside this topology",
    ]);
    expect(() => parseTopology({ yaml: 'name: x\nnodes: {}\nnodes: {}\n' })).toThrow(/yaml: is not valid YAML: Map keys must be unique/);
    expect(() => parseTopology({ yaml: 'name: [unclosed' })).toThrow(/^invalid input for topology: yaml: is not valid YAML/);
  });

  it('refuses public subnets, names that are not names, and files that are not mappings', () => {
    const spec = base() as unknown as Record<string, any>;
    spec.networks.core.subnet = '8.8.8.0/24';
    spec.nodes['r1;rm'] = spec.nodes.r1;
    const e = parseError(spec);
    expect(e.issues).toEqual([
      { path: 'networks.core.subnet', message: expect.stringMatching(/^8\.8\.8\.0\/24 is outside the ranges a lab may use/) },
      { path: 'nodes.r1;rm', message: expect.stringMatching(/^is not a valid name: must be 1-30 characters/) },
    ]);
    expect(() => parseTopology({ yaml: '- a\n- b\n' })).toThrow(/yaml: must be a mapping with name, networks and nodes/);
  });

  it('refuses an oversized file by counting, before it checks each entry', () => {
    const nodes = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`n${i}`, { kind: 'host', interfaces: { core: 'auto' } }]));
    expect(() => parseTopology({ spec: { name: 'x', networks: {}, nodes } })).toThrow(/nodes: at most 1000 entries \(100000 given\)/);
    expect(() => parseTopology({ spec: { name: 'x', networks: {}, nodes: {}, bgp: { sessions: Array(6000).fill(['a', 'b']) } } })).toThrow(
      /bgp\.sessions: at most 5000 entries/,
    );
  });

  it('takes a lab of 1,000 nodes on 2,000 networks (a ring of 500 routers, each with a host on its own LAN), and no more', () => {
    const n = 500;
    const networks: Record<string, unknown> = {};
    const nodes: Record<string, unknown> = {};
    const sessions: string[][] = [];
    for (let i = 0; i < n; i++) {
      const next = (i + 1) % n;
      // 10.128.0.0/9 holds 500 links (/29) and 500 LANs (/24); 1,000 more spare networks fill the count
      networks[`l${i}`] = { subnet: `10.${128 + Math.floor(i / 32)}.${(i % 32) * 8}.0/29` };
      networks[`lan${i}`] = { subnet: `10.${200 + Math.floor(i / 250)}.${i % 250}.0/24` };
      nodes[`r${i}`] = {
        kind: i % 2 ? 'gobgp' : 'frr',
        asn: 'auto',
        interfaces: { [`l${i}`]: 'auto', [`l${(i + n - 1) % n}`]: 'auto', [`lan${i}`]: 'auto' },
      };
      nodes[`h${i}`] = { kind: 'host', interfaces: { [`lan${i}`]: 'auto' }, gateway: `r${i}` };
      sessions.push([`r${i}`, `r${next}`]);
    }
    for (let i = 0; i < 1000; i++) networks[`spare${i}`] = { subnet: `172.${16 + Math.floor(i / 256)}.${i % 256}.0/24` };
    const spec = { name: 'big', networks, nodes, bgp: { sessions } };
    const d = resolveTopology(parseTopology({ spec }), emptyState());
    expect([d.nodes.length, d.networks.length, d.sessions.length]).toEqual([1000, 2000, 500]);
    // every bridge name is distinct and fits Linux's 15 characters
    const bridges = new Set(d.networks.map((x) => networkRecord(x, 'big').bridge));
    expect(bridges.size).toBe(2000);
    expect([...bridges].every((b) => typeof b === 'string' && b.length <= 15)).toBe(true);
    const more = { ...spec, nodes: { ...nodes, extra: { kind: 'host', interfaces: { lan0: 'auto' } } } };
    expect(() => parseTopology({ spec: more })).toThrow(/nodes: at most 1000 entries \(1001 given\)/);
    const moreNets = { ...spec, networks: { ...networks, extra: { subnet: '192.168.250.0/24' } } };
    expect(() => parseTopology({ spec: moreNets })).toThrow(/networks: at most 2000 entries \(2001 given\)/);
  });

  it('carries BFD and timers of a session onto the neighbors of both ends', () => {
    const spec = base() as unknown as Record<string, any>;
    spec.nodes.r4 = { kind: 'frr', asn: 65004, interfaces: { core: 'auto' } };
    spec.bgp.sessions = [{ a: 'r1', b: 'r4', bfd: true, hold_s: 3, keepalive_s: 1 }, { a: 'r1', b: 'r2', hold_s: 6 }, ['r1', 'r3']];
    const d = resolveTopology(parseTopology({ spec }), emptyState());
    const neighbors = (key: string) => (d.nodes.find((n) => n.key === key) as { neighbors: object[] }).neighbors;
    expect(neighbors('r1')).toEqual([
      { address: '10.10.0.4', asn: 65004, bfd: true, hold_s: 3, keepalive_s: 1 },
      { address: '10.10.0.2', asn: 65002, hold_s: 6 },
      { address: '10.10.0.3', asn: 65003 },
    ]);
    expect(neighbors('r4')).toEqual([{ address: '10.10.0.11', asn: 65001, bfd: true, hold_s: 3, keepalive_s: 1 }]);
    expect(neighbors('r2')).toEqual([{ address: '10.10.0.11', asn: 65001, hold_s: 6 }]);
  });

  it('refuses BFD on a session with a GoBGP or ExaBGP end, and timers BGP does not allow, naming the field', () => {
    const spec = base() as unknown as Record<string, any>;
    spec.nodes.r4 = { kind: 'frr', asn: 65004, interfaces: { core: 'auto' } };
    spec.bgp.sessions = [
      { a: 'r1', b: 'r4', bfd: true },
      { a: 'r1', b: 'r3', keepalive_s: 2, hold_s: 30 },
      { a: 'r1', b: 'r2', bfd: true },
      { a: 'r4', b: 'r2', hold_s: 6, keepalive_s: 3 },
      { a: 'r2', b: 'r4', hold_s: 0 },
    ];
    expect(problems(spec)).toEqual([
      'bgp.sessions.1.keepalive_s: r3 is exabgp: ExaBGP 4.2 has no keepalive setting: it sends one every third of the hold time (10 s here); leave keepalive_s out, or set hold_s to 6',
      'bgp.sessions.2.bfd: r2 is gobgp: GoBGP 3.10 has no BFD; only frr does',
      'bgp.sessions.3.keepalive_s: 3 is more than a third of hold_s (6): give at most 2',
      'bgp.sessions.4.hold_s: r2 is gobgp: GoBGP 3.10 cannot turn the hold timer off (it takes 0 as its default, 90 s); give 3 or more',
    ]);
    // what BGP never allows is refused by the file's schema
    spec.bgp.sessions = [{ a: 'r1', b: 'r4', hold_s: 2, keepalive_s: 0 }];
    expect(parseError(spec).issues).toEqual([
      { path: 'bgp.sessions.0.hold_s', message: expect.stringMatching(/must be 0 \(no hold timer\) or between 3 and 65535 seconds/) },
      { path: 'bgp.sessions.0.keepalive_s', message: expect.stringMatching(/must be between 1 and 21845 seconds/) },
    ]);
  });

  it('refuses what a daemon configuration cannot say, before anything runs', () => {
    const spec = base() as unknown as Record<string, any>;
    spec.bgp.sessions = [{ a: 'r1', b: 'r3', description: 'it"s' }];
    expect(problems(spec)[0]).toMatch(/^bgp\.sessions\.0\.description: /);
  });
});

describe('plans', () => {
  it('creates everything on an empty lab and keeps everything once deployed', () => {
    const d = resolveTopology(triangle(), emptyState());
    const first = planTopology(d, emptyState(), { containers: new Map(), networks: new Set() });
    expect(first.summary).toEqual({ create: 9, keep: 0, update: 0, recreate: 0, delete: 0 });
    const { state, facts } = deployed(d);
    const again = planTopology(resolveTopology(triangle(), state), state, facts);
    expect(again.summary).toEqual({ create: 0, keep: 9, update: 0, recreate: 0, delete: 0 });
  });

  it('plans exactly the difference: a node added, a peer removed, an address changed', () => {
    const d = resolveTopology(triangle(), emptyState());
    const { state, facts } = deployed(d);
    const spec = base() as unknown as Record<string, any>;
    spec.nodes.r4 = { kind: 'frr', asn: 65004, interfaces: { core: 'auto' } };
    spec.nodes.r3.interfaces.core = '10.10.0.33';
    spec.bgp.sessions = [['r1', 'r2']];
    const p = planTopology(resolveTopology(parseTopology({ spec }), state), state, facts);
    const changed = p.items
      .filter((i) => i.action !== 'keep')
      .map((i) => `${i.action} ${i.kind} ${i.name}${i.reason ? `: ${i.reason}` : ''}`);
    expect(changed).toEqual([
      'update node triangle-r1: remove peers 10.10.0.3',
      'recreate node triangle-r3: interfaces change; router id changes from 10.10.0.3 to 10.10.0.33',
      'create node triangle-r4',
      'delete session triangle-r1 <-> triangle-r3: no longer in the file',
    ]);
    expect(p.updates).toEqual([
      { name: 'triangle-r1', start: false, addPeers: [], removePeers: ['10.10.0.3'], advertise: [], withdraw: [] },
    ]);
  });

  it('updates the peers of both ends in place when a session gains BFD or new timers', () => {
    const d = resolveTopology(triangle(), emptyState());
    const { state, facts } = deployed(d);
    const spec = base() as unknown as Record<string, any>;
    spec.bgp.sessions[0] = { a: 'r1', b: 'r2', hold_s: 3, keepalive_s: 1 };
    const p = planTopology(resolveTopology(parseTopology({ spec }), state), state, facts);
    expect(p.updates.map((u) => [u.name, u.removePeers, u.addPeers])).toEqual([
      ['triangle-r1', ['10.10.0.2'], [{ address: '10.10.0.2', asn: 65002, hold_s: 3, keepalive_s: 1 }]],
      ['triangle-r2', ['10.10.0.11'], [{ address: '10.10.0.11', asn: 65001, hold_s: 3, keepalive_s: 1 }]],
    ]);
    // bfd: false is what no bfd means: nothing to change
    spec.bgp.sessions[0] = { a: 'r1', b: 'r2', bfd: false };
    expect(planTopology(resolveTopology(parseTopology({ spec }), state), state, facts).summary.update).toBe(0);
  });

  it('recreates a node whose container is gone, starts a stopped one, deletes what left the file', () => {
    const d = resolveTopology(triangle(), emptyState());
    const { state, facts } = deployed(d);
    facts.containers.delete('triangle-r2');
    facts.containers.set('triangle-r3', 'stopped');
    const spec = base() as unknown as Record<string, any>;
    delete spec.nodes.h1;
    const p = planTopology(resolveTopology(parseTopology({ spec }), state), state, facts);
    const changed = p.items.filter((i) => i.action !== 'keep').map((i) => `${i.action} ${i.name}: ${i.reason}`);
    expect(changed).toEqual([
      'recreate triangle-r2: its container is gone',
      'update triangle-r3: start the stopped container',
      'delete triangle-h1: no longer in the file',
      'create triangle-r1 <-> triangle-r2 (network triangle-core): an end is created or recreated',
    ]);
  });
});

describe('plans that follow what a change touches', () => {
  it("recreates a host whose gateway router's address changes, and a node whose container was left without a record", () => {
    const d = resolveTopology(triangle(), emptyState());
    const { state, facts } = deployed(d);
    const spec = base() as unknown as Record<string, any>;
    spec.nodes.r1.interfaces.lan1 = '10.11.1.9';
    delete state.daemons['triangle-r3'];
    const p = planTopology(resolveTopology(parseTopology({ spec }), state), state, facts);
    const items = p.items.filter((i) => i.kind === 'node' && i.action !== 'keep').map((i) => `${i.action} ${i.name}: ${i.reason}`);
    expect(items).toEqual([
      'recreate triangle-r1: interfaces change',
      'recreate triangle-r3: a container of that name is left from an earlier run',
      "recreate triangle-h1: its gateway's address changes (10.11.1.2 -> 10.11.1.9)",
    ]);
  });
});

describe('plans after an interrupted standup', () => {
  it('makes again what a killed standup reserved but did not finish, and a container the lab did not make', () => {
    const d = resolveTopology(triangle(), emptyState());
    const { state, facts } = deployed(d);
    delete (state.daemons['triangle-r2'] as { container_id?: string }).container_id;
    delete (state.networks['triangle-lan1'] as { id?: string }).id;
    const ids = new Map(d.nodes.map((n) => [n.name, `id-${n.name}`]));
    ids.set('triangle-r3', 'someone-elses');
    const p = planTopology(resolveTopology(triangle(), state), state, { ...facts, containerIds: ids });
    expect(p.items.filter((i) => i.action !== 'keep' && i.kind !== 'session').map((i) => `${i.action} ${i.name}: ${i.reason}`)).toEqual([
      'recreate triangle-lan1: an interrupted standup did not finish it',
      'recreate triangle-r1: network triangle-lan1 is recreated',
      'recreate triangle-r2: an interrupted standup did not finish it',
      'recreate triangle-r3: its container is not the one the lab made',
      'recreate triangle-h1: network triangle-lan1 is recreated',
    ]);
  });
});

describe('graphs', () => {
  it('draws mermaid with nodes by kind, networks, sessions and tunnels, coloured by live state', () => {
    const d = resolveTopology(triangle(), emptyState());
    const plain = toMermaid(d);
    expect(plain.split('\n')[0]).toBe('flowchart LR');
    expect(plain).toContain('node_r1(("r1<br/>frr AS65001")):::frr');
    expect(plain).toContain('node_h1["h1<br/>host"]:::host');
    expect(plain).toContain('net_core[["core<br/>10.10.0.0/24"]]');
    expect(plain).toContain('node_r1 ===|BGP| node_r2');
    expect(plain).toContain('node_r1 -.-|t12 vxlan| node_r2');
    const live = toMermaid(d, {
      nodes: d.nodes.map((n) => ({ name: n.name, state: 'running' })),
      sessions: [
        { a: 'triangle-r1', b: 'triangle-r2', via: 'network triangle-core', a_state: 'Established', b_state: 'Established' },
        { a: 'triangle-r1', b: 'triangle-r3', via: 'network triangle-core', a_state: 'Active', b_state: 'Idle' },
      ],
      tunnels: [{ name: 't12', state: 'up' }],
    });
    expect(live).toContain('node_r1 ===|BGP Established| node_r2');
    expect(live).toContain('node_r1 ===|BGP Active/Idle| node_r3');
    const lines = live.split('\n');
    const edges = lines.filter((l) => /---|===|-\.-/.test(l));
    const styleOf = (needle: string) => lines.find((l) => l.startsWith(`  linkStyle ${edges.findIndex((e) => e.includes(needle))} `));
    expect(styleOf('BGP Established')).toContain('stroke:#2b9348');
    expect(styleOf('BGP Active/Idle')).toContain('stroke:#d00000');
  });

  it('draws dot with every node and edge', () => {
    const dot = toDot(resolveTopology(triangle(), emptyState()));
    expect(dot).toMatch(/^graph "triangle" \{/);
    for (const id of ['net_core', 'net_lan1', 'node_r1', 'node_r2', 'node_r3', 'node_h1']) expect(dot).toContain(`  ${id} [`);
    expect(dot.match(/ -- /g)).toHaveLength(5 + 2 + 1);
  });
});

describe('route_server on a router', () => {
  const ix = (rs: boolean, kind = 'bird') => ({
    name: 'ixp',
    networks: { ix: { subnet: '10.178.0.0/24' } },
    nodes: {
      rs: { kind, asn: 65000, route_server: rs, interfaces: { ix: '10.178.0.10' } },
      c1: { kind: 'frr', asn: 65001, interfaces: { ix: '10.178.0.11' } },
      c2: { kind: 'openbgpd', asn: 65002, interfaces: { ix: '10.178.0.12' } },
    },
    bgp: {
      sessions: [
        ['rs', 'c1'],
        ['rs', 'c2'],
      ],
    },
  });

  it('is carried to the record, and each client marks its route server peer', () => {
    const d = resolveTopology(parseTopology({ spec: ix(true) }), emptyState());
    const node = (k: string) => d.nodes.find((n) => n.key === k) as Extract<Desired['nodes'][number], { role: 'daemon' }>;
    expect(node('rs').route_server).toBe(true);
    expect(nodeRecord(node('rs'), 'ixp')).toMatchObject({ route_server: true });
    expect(node('rs').neighbors.every((n) => n.route_server === undefined)).toBe(true);
    expect(node('c1').neighbors).toEqual([{ address: '10.178.0.10', asn: 65000, route_server: true }]);
    expect(node('c2').neighbors).toEqual([{ address: '10.178.0.10', asn: 65000, route_server: true }]);
    expect(node('c1').route_server).toBeUndefined();
    expect('route_server' in nodeRecord(node('c1'), 'ixp')).toBe(false);
  });

  it('refuses exabgp as a route server, naming the field', () => {
    expect(problems(ix(true, 'exabgp'))).toEqual([expect.stringMatching(/^nodes\.rs\.route_server: exabgp cannot be a route server/)]);
    expect(problems(ix(false, 'exabgp'))).toEqual([]);
  });

  it('is changed in place (peers of the clients re-made), except GoBGP which is recreated', () => {
    for (const [kind, action, how] of [
      ['bird', 'update', /route_server turns on \(birdc configure/],
      ['frr', 'update', /route_server turns on \(live through vtysh/],
      ['openbgpd', 'update', /route_server turns on \(bgpctl reload/],
      ['gobgp', 'recreate', /route_server turns on \(GoBGP cannot change it in a running daemon/],
    ] as const) {
      const { state, facts } = deployed(resolveTopology(parseTopology({ spec: ix(false, kind) }), emptyState()));
      const plan = planTopology(resolveTopology(parseTopology({ spec: ix(true, kind) }), state), state, facts);
      const rs = plan.items.find((i) => i.name === 'ixp-rs');
      expect(rs?.action, kind).toBe(action);
      expect(rs?.reason, kind).toMatch(how);
      // the clients' neighbor changes too: removed and added again with route_server
      const c1 = plan.updates.find((u) => u.name === 'ixp-c1');
      expect(c1?.addPeers, kind).toEqual([{ address: '10.178.0.10', asn: 65000, route_server: true }]);
      if (action === 'update') expect(plan.updates.find((u) => u.name === 'ixp-rs')?.routeServer).toBe(true);
    }
  });
});
