import { describe, expect, it } from 'vitest';
import { LABELS, MAX_RECORD_LABEL, recordLabel } from '../../src/core/docker/labels.js';
import { bridgeName } from '../../src/core/networks.js';
import { checkNetwork, checkNode, checkTunnel, type NetworkSeen, type NodeSeen, problemText } from '../../src/core/rebuild-check.js';

const engines = { names: ['default'], default: 'default' };
const at = '2026-01-31T12:00:00.000Z';
const paths = (r: { ok: boolean; problems?: Array<{ path: string }> }) => (r.ok ? [] : (r.problems ?? []).map((p) => p.path));

describe('record labels', () => {
  it('never carry a password, at any depth, and are left out when over 64 KiB', () => {
    const rec = { name: 'r1', neighbors: [{ address: '10.0.0.2', asn: 2, password: 'sekret' }], container_id: 'x' };
    const label = recordLabel(rec, ['container_id'])[LABELS.record] as string;
    expect(JSON.parse(label)).toEqual({ name: 'r1', neighbors: [{ address: '10.0.0.2', asn: 2 }] });
    expect(label).not.toContain('sekret');
    expect(recordLabel({ name: 'big', advertise: ['x'.repeat(MAX_RECORD_LABEL)] }, [])).toEqual({});
  });
});

describe('rebuilt network records', () => {
  const rec = {
    name: 'lab-a',
    subnet: '10.9.0.0/24',
    gateway: '10.9.0.1',
    driver: 'bridge',
    internal: true,
    bridge: bridgeName('lab-a'),
    created_at: at,
  };
  const seen = (over: Partial<NetworkSeen> = {}): NetworkSeen => ({
    name: 'lab-a',
    driver: 'bridge',
    internal: true,
    subnet: '10.9.0.0/24',
    gateway: '10.9.0.1',
    options: { 'com.docker.network.bridge.name': bridgeName('lab-a') },
    labels: { [LABELS.bridge]: bridgeName('lab-a') },
    engine: 'default',
    ...over,
  });
  const gate = { allowExternal: false, engines };

  it('accepts what network_create made, on the engine and bridge Docker has', () => {
    expect(checkNetwork(rec, seen(), gate)).toMatchObject({ ok: true, rec: { name: 'lab-a', bridge: bridgeName('lab-a') } });
  });

  it('refuses a bridge name not derived from the network name, even one Docker uses', () => {
    const docker0 = { ...rec, bridge: 'docker0' };
    const s = seen({ options: { 'com.docker.network.bridge.name': 'docker0' }, labels: { [LABELS.bridge]: 'docker0' } });
    expect(paths(checkNetwork(docker0, s, gate))).toEqual(['bridge']);
  });

  it('refuses internal: false without NSLAB_ALLOW_EXTERNAL, and takes it with', () => {
    const open = { ...rec, internal: false };
    expect(paths(checkNetwork(open, seen({ internal: false }), gate))).toEqual(['internal']);
    expect(checkNetwork(open, seen({ internal: false }), { allowExternal: true, engines }).ok).toBe(true);
    // A label that says internal while Docker's network is not.
    expect(paths(checkNetwork(rec, seen({ internal: false }), gate))).toEqual(['internal']);
  });

  it('refuses an engine it is not on, a subnet Docker does not have, a bad name', () => {
    expect(paths(checkNetwork({ ...rec, engine: 'elsewhere' }, seen({ engine: undefined }), gate))).toEqual(['engine']);
    expect(paths(checkNetwork(rec, seen({ engine: undefined }), gate))).toEqual(['engine']);
    expect(paths(checkNetwork({ ...rec, subnet: '10.9.1.0/24' }, seen(), gate))).toEqual(['subnet', 'gateway']);
    expect(paths(checkNetwork({ ...rec, subnet: '8.8.8.0/24' }, seen(), gate))).toEqual(['subnet']);
    expect(paths(checkNetwork({ ...rec, name: 'Lab A' }, seen(), gate))).toEqual(['name']);
    expect(paths(checkNetwork('[]', seen(), gate))).toEqual(['(record)']);
  });

  it('takes an overlay with no engine and no bridge, and refuses one naming either', () => {
    const overlay = { ...rec, driver: 'overlay', bridge: undefined };
    const s = seen({ driver: 'overlay', options: {}, labels: {} });
    expect(checkNetwork(overlay, s, gate).ok).toBe(true);
    expect(paths(checkNetwork({ ...overlay, engine: 'default' }, s, gate))).toEqual(['engine']);
    expect(paths(checkNetwork({ ...overlay, bridge: bridgeName('lab-a') }, s, gate))).toEqual(['bridge']);
  });
});

describe('rebuilt node records', () => {
  const daemon = {
    name: 'r1',
    kind: 'frr',
    asn: 65001,
    router_id: '10.9.0.2',
    interfaces: [{ network: 'lab-a', ip: '10.9.0.2' }],
    neighbors: [{ address: '10.9.0.3', asn: 65002, password: 'sekret', description: 'to r2' }],
    advertise: ['10.100.0.0/24'],
    desired: 'running',
    created_at: at,
  };
  const seen = (over: Partial<NodeSeen> = {}): NodeSeen => ({
    coll: 'daemons',
    name: 'r1',
    labels: { [LABELS.nodeKind]: 'frr' },
    engine: 'default',
    labelRecord: undefined,
    ...over,
  });

  it('accepts a daemon record with its password (the file keeps it; the label does not)', () => {
    const r = checkNode(daemon, seen(), engines);
    expect(r).toMatchObject({ ok: true, rec: { neighbors: [{ password: 'sekret' }] } });
  });

  it('refuses a description or password that would break out of the daemon config', () => {
    const crafted = { ...daemon, neighbors: [{ address: '10.9.0.3', asn: 65002, description: 'x\n neighbor 10.9.0.9 remote-as 1' }] };
    expect(paths(checkNode(crafted, seen(), engines))).toEqual(['neighbors.0.description']);
    const pw = { ...daemon, neighbors: [{ address: '10.9.0.3', asn: 65002, password: 'a b' }] };
    expect(paths(checkNode(pw, seen(), engines))).toEqual(['neighbors.0.password']);
  });

  it('refuses a bad name, another engine, another kind, a changed AS, duplicates, an option the kind lacks', () => {
    expect(paths(checkNode({ ...daemon, name: 'Bad Name!' }, seen(), engines))).toEqual(['name']);
    expect(paths(checkNode({ ...daemon, name: 'r9' }, seen(), engines))).toEqual(['name']);
    expect(paths(checkNode({ ...daemon, engine: 'elsewhere' }, seen(), engines))).toEqual(['engine']);
    expect(paths(checkNode({ ...daemon, engine: 'b' }, seen(), { names: ['default', 'b'], default: 'default' }))).toEqual(['engine']);
    expect(paths(checkNode({ ...daemon, kind: 'gobgp' }, seen(), engines))).toEqual(['kind']);
    expect(paths(checkNode({ ...daemon, asn: 65009 }, seen({ labelRecord: { ...daemon } }), engines))).toEqual(['asn']);
    expect(paths(checkNode({ ...daemon, advertise: ['10.100.0.0/24', '10.100.0.0/24'] }, seen(), engines))).toEqual(['advertise.1']);
    const gobgp = { ...daemon, kind: 'gobgp', neighbors: [{ address: '10.9.0.3', asn: 65002, next_hop_self: true }] };
    expect(paths(checkNode(gobgp, seen({ labels: { [LABELS.nodeKind]: 'gobgp' } }), engines))).toEqual(['neighbors.0.next_hop_self']);
  });

  it('refuses a host loopback or gateway that is not an address', () => {
    const host = { name: 'h1', interfaces: [{ network: 'lab-a', ip: '10.9.0.5' }], desired: 'running', created_at: at };
    const hs = seen({ coll: 'hosts', name: 'h1', labels: { [LABELS.nodeKind]: 'host' } });
    expect(checkNode({ ...host, gateway: 'r1', loopback: '192.0.2.1/32' }, hs, engines).ok).toBe(true);
    expect(paths(checkNode({ ...host, loopback: '192.0.2.1/32\nip link set eth0 down' }, hs, engines))).toEqual(['loopback']);
    expect(paths(checkNode({ ...host, gateway: '10.9.0.1 dev lo' }, hs, engines))).toEqual(['gateway']);
  });
});

describe('rebuilt tunnel records', () => {
  const t = {
    name: 't1',
    mode: 'vxlan',
    underlay: 'lab-b',
    a: { container: 'r1', tunnel_ip: '172.31.0.1/30', underlay_ip: '10.9.1.2' },
    b: { container: 'r2', tunnel_ip: '172.31.0.2/30', underlay_ip: '10.9.1.3' },
    key: 10,
    ttl: 64,
    mtu: 1450,
    created_at: at,
  };
  const where = { file: 't1', container: 'r2' };

  it('accepts what tunnel_create made', () => {
    expect(checkTunnel(t, where)).toMatchObject({ ok: true, rec: { name: 't1', b: { container: 'r2' } } });
    expect(checkTunnel({ ...t, b: { remote_ip: '192.0.2.9' } }, { file: 't1', container: 'r1' }).ok).toBe(true);
  });

  it("refuses an inner address that would add lines to the other end's ip -batch file", () => {
    const crafted = { ...t, a: { ...t.a, tunnel_ip: '172.31.0.1/30 dev lo\nlink set eth0 down #' } };
    expect(paths(checkTunnel(crafted, where))).toEqual(['a.tunnel_ip']);
    const b = { ...t, b: { ...t.b, underlay_ip: '10.9.1.3\nlink set eth0 down' } };
    expect(paths(checkTunnel(b, { file: 't1', container: 'r1' }))).toEqual(['b.underlay_ip']);
    expect(paths(checkTunnel({ ...t, b: { remote_ip: '127.0.0.1' } }, { file: 't1', container: 'r1' }))).toEqual(['b.remote_ip']);
  });

  it('refuses a tunnel found in a container that is neither end, under another file name, or with no VNI', () => {
    expect(paths(checkTunnel(t, { file: 't1', container: 'r3' }))).toEqual(['a.container']);
    expect(paths(checkTunnel(t, { file: 't2', container: 'r1' }))).toEqual(['name']);
    expect(paths(checkTunnel({ ...t, key: undefined }, where))).toEqual(['key']);
    expect(paths(checkTunnel({ ...t, b: { ...t.b, tunnel_ip: '172.31.0.5/30' } }, where))).toEqual(['b.tunnel_ip']);
    expect(paths(checkTunnel({ ...t, name: 'eth0' }, { file: 'eth0', container: 'r1' }))).toEqual(['name']);
  });

  it('reports problems on one line, whatever the container wrote', () => {
    const text = problemText([{ path: 'a.tunnel_ip\nx', message: 'bad\r\nline' }]);
    expect(text).toBe('a.tunnel_ip?x: bad??line');
  });
});
