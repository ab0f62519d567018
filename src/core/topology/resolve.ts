/**
 * From a topology file to the exact lab it describes: full names, every address (auto ones
 * allocated, kept stable across standups by reusing what the store already holds), ASNs, BGP
 * neighbors on both ends of each session, tunnels. Every problem is reported with its field path,
 * all at once. Pure: reads the store state it is given, changes nothing.
 */
import { drivers } from '../bgp/index.js';
import type { BgpNeighbor, DaemonKind } from '../bgp/types.js';
import type { FieldIssue } from '../errors.js';
import {
  allocate,
  checkAddress,
  contains,
  defaultGateway,
  innerAddressProblem,
  isIpv4,
  overlaps,
  parseCidr,
  parseSubnet,
  type Subnet,
  swarmRange,
} from '../ipam.js';
import type { StoreState, TunnelMode } from '../store/schema.js';
import { overhead } from '../tunnels/render.js';
import { invalidInput } from '../validation.js';
import type { SessionSpec, TopologySpec } from './spec.js';

export const PRIVATE_ASN = { first: 64512, last: 65534 } as const;

export interface DesiredNetwork {
  key: string;
  name: string;
  subnet: string;
  gateway: string;
  /** several engines (set by placement): a swarm overlay network */
  overlay?: boolean | undefined;
  /** one engine of several (set by placement): the bridge is there */
  engine?: string | undefined;
}

interface NodeBaseDesired {
  key: string;
  name: string;
  interfaces: Array<{ network: string; ip: string }>;
  engine?: string | undefined;
}

export interface DesiredDaemon extends NodeBaseDesired {
  role: 'daemon';
  kind: DaemonKind;
  asn: number;
  router_id: string;
  neighbors: BgpNeighbor[];
  advertise: string[];
}

export interface DesiredHost extends NodeBaseDesired {
  role: 'host';
  /** the full name of a gateway node, or an IPv4 address */
  gateway?: string | undefined;
  loopback?: string | undefined;
}

export type DesiredNode = DesiredDaemon | DesiredHost;

export interface DesiredTunnel {
  name: string;
  mode: TunnelMode;
  underlay: string;
  a: { container: string; tunnel_ip: string; underlay_ip: string };
  b: { container: string; tunnel_ip: string; underlay_ip: string };
  key?: number | undefined;
  ttl: number;
  mtu: number;
}

export interface DesiredSession {
  a: string;
  b: string;
  a_ip: string;
  b_ip: string;
  /** "network triangle-core" or "tunnel t12" */
  via: string;
}

export interface Desired {
  topology: string;
  networks: DesiredNetwork[];
  nodes: DesiredNode[];
  tunnels: DesiredTunnel[];
  sessions: DesiredSession[];
}

export const fullName = (topology: string, key: string): string => `${topology}-${key}`;

/**
 * Resolve a parsed spec against the store; throws one INVALID_INPUT listing every problem.
 * `swarm` (several engines): any network may become an overlay once placed, so auto addresses
 * stay out of the block Docker keeps on overlays (ipam.ts swarmRange).
 */
export function resolveTopology(spec: TopologySpec, state: StoreState, opts: { swarm?: boolean } = {}): Desired {
  const issues: FieldIssue[] = [];
  const bad = (path: string, message: string) => issues.push({ path, message });
  const topo = spec.name;
  const owned = (rec: { topology?: string | undefined } | undefined) => rec?.topology === topo;

  // --- networks -------------------------------------------------------------------------------
  const networks: DesiredNetwork[] = [];
  const subnets = new Map<string, Subnet>();
  for (const [key, n] of Object.entries(spec.networks)) {
    const name = fullName(topo, key);
    const subnet = parseSubnet(n.subnet) as Subnet;
    const gateway = n.gateway ?? defaultGateway(subnet);
    const gwProblem = checkAddress(subnet, '', {}, gateway);
    if (gwProblem) bad(`networks.${key}.gateway`, gwProblem);
    for (const [other, s] of subnets)
      if (overlaps(s, subnet)) bad(`networks.${key}.subnet`, `${n.subnet} overlaps networks.${other} (${s.cidr})`);
    for (const rec of Object.values(state.networks)) {
      if (owned(rec)) continue;
      const s = parseCidr(rec.subnet);
      if (typeof s !== 'string' && overlaps(s, subnet))
        bad(`networks.${key}.subnet`, `${n.subnet} overlaps the lab network '${rec.name}' (${rec.subnet})`);
      if (rec.name === name) bad(`networks.${key}`, `a network named '${name}' already exists outside this topology`);
    }
    subnets.set(key, subnet);
    networks.push({ key, name, subnet: subnet.cidr, gateway });
  }

  // --- node names and explicit addresses --------------------------------------------------------
  const taken = new Map<string, Record<string, string>>(); // network key -> ip -> node key
  for (const key of subnets.keys()) taken.set(key, {});
  for (const n of networks) {
    // Addresses others hold on a network of this topology (e.g. a container connected by hand).
    const rec = state.networks[n.name];
    if (!owned(rec)) continue;
    for (const [ip, who] of Object.entries(rec?.allocations ?? {})) {
      const ours = Object.keys(spec.nodes).some((k) => fullName(topo, k) === who);
      if (!ours) (taken.get(n.key) as Record<string, string>)[ip] = who;
    }
  }
  for (const [key, node] of Object.entries(spec.nodes)) {
    const name = fullName(topo, key);
    const other = state.daemons[name] ?? state.hosts[name];
    if (other && !owned(other))
      bad(`nodes.${key}`, `'${name}' already exists as a ${state.daemons[name] ? 'daemon' : 'host'} outside this topology`);
    for (const [net, ip] of Object.entries(node.interfaces)) {
      const subnet = subnets.get(net);
      if (!subnet) {
        bad(`nodes.${key}.interfaces.${net}`, `no network '${net}' in this file (networks: ${[...subnets.keys()].join(', ') || 'none'})`);
        continue;
      }
      if (ip === 'auto') continue;
      const gw = networks.find((n) => n.key === net)?.gateway ?? '';
      const t = taken.get(net) as Record<string, string>;
      const problem = checkAddress(subnet, gw, {}, ip);
      if (problem) bad(`nodes.${key}.interfaces.${net}`, problem);
      else if (t[ip] !== undefined)
        bad(
          `nodes.${key}.interfaces.${net}`,
          `${ip} is also the address of ${Object.keys(spec.nodes).includes(t[ip]) ? `nodes.${t[ip]}` : `'${t[ip]}'`}`,
        );
      else t[ip] = key;
    }
  }

  // --- auto addresses, ASNs, router ids ------------------------------------------------------------
  const usedAsns = new Set<number>();
  for (const node of Object.values(spec.nodes)) if (node.kind !== 'host' && node.asn !== 'auto') usedAsns.add(node.asn);
  // Auto addresses a node already holds are kept first, so a node added anywhere in the file
  // never takes the address of one that stays.
  const keptAuto = new Map<string, string>(); // `${key}/${net}` -> ip
  for (const [key, node] of Object.entries(spec.nodes)) {
    const current = state.daemons[fullName(topo, key)] ?? state.hosts[fullName(topo, key)];
    if (!owned(current)) continue;
    for (const [net, ip] of Object.entries(node.interfaces)) {
      const subnet = subnets.get(net);
      const desiredNet = networks.find((n) => n.key === net);
      if (ip !== 'auto' || !subnet || !desiredNet) continue;
      const t = taken.get(net) as Record<string, string>;
      const kept = current?.interfaces.find((i) => i.network === desiredNet.name)?.ip;
      if (kept && !checkAddress(subnet, desiredNet.gateway, t, kept, opts.swarm ? swarmRange(subnet) : undefined)) {
        t[kept] = key;
        keptAuto.set(`${key}/${net}`, kept);
      }
    }
  }
  // Likewise auto ASNs: a router that stays keeps its own, whatever is added before it.
  const keptAsn = new Map<string, number>();
  for (const [key, node] of Object.entries(spec.nodes)) {
    const current = state.daemons[fullName(topo, key)];
    if (node.kind === 'host' || node.asn !== 'auto' || !owned(current) || !current) continue;
    if (current.asn >= PRIVATE_ASN.first && current.asn <= PRIVATE_ASN.last && !usedAsns.has(current.asn)) {
      keptAsn.set(key, current.asn);
      usedAsns.add(current.asn);
    }
  }
  const nodes: DesiredNode[] = [];
  for (const [key, node] of Object.entries(spec.nodes)) {
    const name = fullName(topo, key);
    const interfaces: Array<{ network: string; ip: string }> = [];
    for (const [net, ip] of Object.entries(node.interfaces)) {
      const subnet = subnets.get(net);
      const desiredNet = networks.find((n) => n.key === net);
      if (!subnet || !desiredNet) continue;
      const t = taken.get(net) as Record<string, string>;
      let addr = ip;
      if (ip === 'auto') {
        addr = keptAuto.get(`${key}/${net}`) ?? allocate(subnet, desiredNet.gateway, t, opts.swarm ? swarmRange(subnet) : undefined) ?? '';
        if (!addr) {
          bad(`nodes.${key}.interfaces.${net}`, `network ${net} (${subnet.cidr}) has no free address left`);
          continue;
        }
        t[addr] = key;
      }
      interfaces.push({ network: desiredNet.name, ip: addr });
    }
    if (node.kind === 'host') {
      nodes.push({ key, name, role: 'host', interfaces, gateway: node.gateway, loopback: node.loopback, engine: node.engine });
      continue;
    }
    let asn = node.asn;
    if (asn === 'auto') {
      asn = keptAsn.get(key) ?? nextAsn(usedAsns);
      if (asn === 0) bad(`nodes.${key}.asn`, 'the private ASN range 64512-65534 is used up');
      usedAsns.add(asn);
    }
    const rid = node.router_id === undefined || node.router_id === 'auto' ? (interfaces[0]?.ip ?? '') : node.router_id;
    nodes.push({
      key,
      name,
      role: 'daemon',
      kind: node.kind,
      asn,
      router_id: rid,
      interfaces,
      neighbors: [],
      advertise: node.advertise ?? [],
      engine: node.engine,
    });
  }
  const byKey = new Map(nodes.map((n) => [n.key, n]));

  // --- host gateways --------------------------------------------------------------------------------
  for (const n of nodes) {
    if (n.role !== 'host' || n.gateway === undefined) continue;
    const path = `nodes.${n.key}.gateway`;
    if (isIpv4(n.gateway)) {
      const onLink = n.interfaces.some((i) => {
        const s = parseCidr(networks.find((x) => x.name === i.network)?.subnet ?? '');
        return typeof s !== 'string' && contains(s, n.gateway as string);
      });
      if (!onLink) bad(path, `${n.gateway} is on none of the host's networks`);
      continue;
    }
    const gw = byKey.get(n.gateway);
    if (!gw) bad(path, `'${n.gateway}' is neither an IPv4 address nor a node of this file`);
    else if (!gw.interfaces.some((i) => n.interfaces.some((h) => h.network === i.network)))
      bad(path, `'${n.gateway}' shares no network with ${n.key}`);
    else n.gateway = gw.name;
  }

  // --- tunnels -------------------------------------------------------------------------------------
  const tunnels: DesiredTunnel[] = [];
  // VNIs named in the file or held by tunnels that stay are taken before any is allocated.
  const reservedVnis = new Set<number>();
  for (const t of spec.tunnels ?? []) {
    if (t.mode !== 'vxlan') continue;
    const existing = state.tunnels?.[t.name];
    const kept = t.key ?? (existing?.topology === topo && existing.mode === 'vxlan' ? existing.key : undefined);
    if (kept !== undefined) reservedVnis.add(kept);
  }
  for (const [i, t] of (spec.tunnels ?? []).entries()) {
    const path = `tunnels.${i}`;
    if (tunnels.some((x) => x.name === t.name)) bad(`${path}.name`, `tunnel '${t.name}' is named twice`);
    const existing = state.tunnels?.[t.name];
    if (existing && existing.topology !== topo) bad(`${path}.name`, `tunnel '${t.name}' already exists outside this topology`);
    const a = byKey.get(t.a);
    const b = byKey.get(t.b);
    if (!a) bad(`${path}.a`, `no node '${t.a}' in this file`);
    if (!b) bad(`${path}.b`, `no node '${t.b}' in this file`);
    if (!a || !b) continue;
    if (a === b) bad(`${path}.b`, 'both ends are the same node');
    const underlay =
      t.underlay !== undefined
        ? fullName(topo, t.underlay)
        : a.interfaces.find((x) => b.interfaces.some((y) => y.network === x.network))?.network;
    const aU = a.interfaces.find((x) => x.network === underlay);
    const bU = b.interfaces.find((x) => x.network === underlay);
    if (!underlay || !aU || !bU) {
      bad(
        t.underlay !== undefined ? `${path}.underlay` : path,
        t.underlay !== undefined
          ? `${t.a} and ${t.b} are not both on network ${t.underlay}`
          : `${t.a} and ${t.b} share no network to carry the tunnel`,
      );
      continue;
    }
    const ai = parseCidr(t.a_ip);
    const bi = parseCidr(t.b_ip);
    if (typeof ai === 'string' || typeof bi === 'string') continue;
    if (ai.cidr !== bi.cidr) bad(`${path}.b_ip`, `${t.b_ip} is not in the subnet of a_ip (${ai.cidr})`);
    if (t.a_ip.split('/')[0] === t.b_ip.split('/')[0]) bad(`${path}.b_ip`, 'both ends have the same inner address');
    for (const [k, s] of subnets) if (overlaps(s, ai)) bad(`${path}.a_ip`, `${t.a_ip} overlaps networks.${k} (${s.cidr})`);
    for (const rec of Object.values(state.networks)) {
      const o = parseCidr(rec.subnet);
      if (!owned(rec) && typeof o !== 'string' && overlaps(o, ai))
        bad(`${path}.a_ip`, `${t.a_ip} overlaps the lab network '${rec.name}' (${rec.subnet})`);
    }
    for (const [end, cidr] of [
      ['a_ip', t.a_ip],
      ['b_ip', t.b_ip],
    ] as const) {
      const host = innerAddressProblem(cidr);
      if (host) bad(`${path}.${end}`, host);
    }
    for (const other of tunnels) {
      const shared = [other.a.container, other.b.container].filter((c) => c === a.name || c === b.name);
      const o = parseCidr(other.a.tunnel_ip);
      if (shared.length && typeof o !== 'string' && overlaps(o, ai))
        bad(`${path}.a_ip`, `${t.a_ip} overlaps tunnel '${other.name}' (${o.cidr}) of ${shared[0]}`);
    }
    const mode = t.mode ?? 'gre';
    let key = t.key;
    if (mode === 'vxlan') {
      if (key === 0 || (key ?? 0) > 16_777_215) bad(`${path}.key`, 'a VXLAN VNI is between 1 and 16777215');
      const kept = existing?.topology === topo && existing.mode === 'vxlan' ? existing.key : undefined;
      key ??= kept ?? freeVni(state, tunnels, topo, reservedVnis);
      reservedVnis.add(key);
      const clash = tunnels.find(
        (x) => x.mode === 'vxlan' && x.key === key && [x.a.container, x.b.container].some((c) => c === a.name || c === b.name),
      );
      if (clash) bad(`${path}.key`, `VNI ${key} is also tunnel '${clash.name}' on a node it shares with it`);
    }
    tunnels.push({
      name: t.name,
      mode,
      underlay,
      a: { container: a.name, tunnel_ip: t.a_ip, underlay_ip: aU.ip },
      b: { container: b.name, tunnel_ip: t.b_ip, underlay_ip: bU.ip },
      key,
      ttl: t.ttl ?? 64,
      mtu: t.mtu ?? 1500 - overhead(mode, key),
    });
  }

  // --- BGP sessions ----------------------------------------------------------------------------------
  const sessions: DesiredSession[] = [];
  for (const [i, raw] of (spec.bgp?.sessions ?? []).entries()) {
    const s = normalizeSession(raw);
    const path = `bgp.sessions.${i}`;
    const a = byKey.get(s.a);
    const b = byKey.get(s.b);
    if (!a) bad(`${path}.a`, `no node '${s.a}' in this file`);
    if (!b) bad(`${path}.b`, `no node '${s.b}' in this file`);
    if (!a || !b) continue;
    if (a.role !== 'daemon') bad(`${path}.a`, `'${s.a}' is a host; only routers take BGP sessions`);
    if (b.role !== 'daemon') bad(`${path}.b`, `'${s.b}' is a host; only routers take BGP sessions`);
    if (a.role !== 'daemon' || b.role !== 'daemon') continue;
    if (a === b) {
      bad(`${path}.b`, 'a router cannot peer with itself');
      continue;
    }
    let aIp: string | undefined;
    let bIp: string | undefined;
    let via = '';
    if (s.tunnel !== undefined) {
      const t = tunnels.find((x) => x.name === s.tunnel);
      const ends = t ? [t.a, t.b] : [];
      const ea = ends.find((e) => e.container === a.name);
      const eb = ends.find((e) => e.container === b.name);
      if (!t || !ea || !eb) bad(`${path}.tunnel`, `no tunnel '${s.tunnel}' between ${s.a} and ${s.b} in this file`);
      aIp = ea?.tunnel_ip.split('/')[0];
      bIp = eb?.tunnel_ip.split('/')[0];
      via = `tunnel ${s.tunnel}`;
    } else {
      const net =
        s.network !== undefined
          ? fullName(topo, s.network)
          : a.interfaces.find((x) => b.interfaces.some((y) => y.network === x.network))?.network;
      aIp = a.interfaces.find((x) => x.network === net)?.ip;
      bIp = b.interfaces.find((x) => x.network === net)?.ip;
      if (!net || !aIp || !bIp) {
        bad(
          s.network !== undefined ? `${path}.network` : path,
          s.network !== undefined
            ? `${s.a} and ${s.b} are not both on network ${s.network}`
            : `${s.a} and ${s.b} share no network; name a tunnel or connect them`,
        );
      }
      via = `network ${net}`;
    }
    if (!aIp || !bIp) continue;
    if (sessions.some((x) => (x.a === a.name && x.b === b.name) || (x.a === b.name && x.b === a.name))) {
      if (sessions.some((x) => x.a_ip === aIp && x.b_ip === bIp)) bad(path, `${s.a} and ${s.b} already have this session`);
    }
    if (a.neighbors.some((n) => n.address === bIp) || b.neighbors.some((n) => n.address === aIp)) {
      bad(path, `${s.a} and ${s.b} already peer over these addresses`);
      continue;
    }
    const extra = {
      ...(s.password !== undefined ? { password: s.password } : {}),
      ...(s.multihop !== undefined ? { multihop: s.multihop } : {}),
    };
    a.neighbors.push({ address: bIp, asn: b.asn, ...extra, ...(s.description !== undefined ? { description: s.description } : {}) });
    b.neighbors.push({ address: aIp, asn: a.asn, ...extra, ...(s.description !== undefined ? { description: s.description } : {}) });
    sessions.push({ a: a.name, b: b.name, a_ip: aIp, b_ip: bIp, via });
  }

  // --- what the daemons' configuration languages can say ---------------------------------------------
  for (const n of nodes) {
    if (n.role !== 'daemon') continue;
    const tunnelSubnets = tunnels.flatMap((t) =>
      [t.a, t.b]
        .filter((e) => e.container === n.name)
        .map((e) => ({
          network: `tunnel:${t.name}`,
          ip: e.tunnel_ip.split('/')[0] ?? '',
          subnet: (parseCidr(e.tunnel_ip) as Subnet).cidr,
        })),
    );
    try {
      drivers[n.kind].render({
        name: n.name,
        kind: n.kind,
        asn: n.asn,
        router_id: n.router_id,
        interfaces: [
          ...n.interfaces.map((i) => ({ ...i, subnet: networks.find((x) => x.name === i.network)?.subnet ?? `${i.ip}/32` })),
          ...tunnelSubnets,
        ],
        neighbors: n.neighbors,
        advertise: n.advertise,
      });
    } catch (err) {
      bad(`nodes.${n.key}`, (err as Error).message);
    }
  }

  if (issues.length) throw invalidInput('topology', issues);
  return { topology: topo, networks, nodes, tunnels, sessions };
}

function normalizeSession(s: SessionSpec): Exclude<SessionSpec, [string, string]> {
  return Array.isArray(s) ? { a: s[0], b: s[1] } : s;
}

function nextAsn(used: Set<number>): number {
  for (let a = PRIVATE_ASN.first; a <= PRIVATE_ASN.last; a++) if (!used.has(a)) return a;
  return 0;
}

function freeVni(state: StoreState, planned: DesiredTunnel[], topo: string, reserved: Set<number>): number {
  const used = new Set<number | undefined>([
    ...reserved,
    ...Object.values(state.tunnels ?? {})
      .filter((t) => t.mode === 'vxlan' && t.topology !== topo)
      .map((t) => t.key),
    ...planned.filter((t) => t.mode === 'vxlan').map((t) => t.key),
  ]);
  let v = 1;
  while (used.has(v)) v++;
  return v;
}
