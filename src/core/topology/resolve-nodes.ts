/**
 * Resolving a topology's nodes: names, interface addresses (explicit ones checked, auto ones
 * allocated, kept stable across standups), ASNs, router ids, and host gateways.
 */
import { drivers } from '../bgp/index.js';
import { allocate, checkAddress, contains, isIpv4, parseCidr, swarmRange } from '../ipam.js';
import { type NodeOwn, ownAsn } from '../nodes/own.js';
import type { ResolvedNetworks } from './resolve-networks.js';
import { type DesiredNetwork, type DesiredNode, fullName, PRIVATE_ASN, type ResolveContext } from './resolve-types.js';
import type { TopologySpec } from './spec.js';

/** network key -> ip -> who holds it (a node key, or the full name of someone else) */
type Taken = Map<string, Record<string, string>>;

/** Auto addresses and ASNs that nodes which stay already hold. */
interface Kept {
  /** `${key}/${net}` -> ip */
  auto: Map<string, string>;
  /** node key -> ASN */
  asn: Map<string, number>;
  /** every ASN named in the file or kept; allocation adds to it */
  usedAsns: Set<number>;
}

export function resolveNodes(ctx: ResolveContext, nets: ResolvedNetworks): DesiredNode[] {
  const taken = takenByOthers(ctx, nets);
  claimExplicitAddresses(ctx, nets, taken);
  const usedAsns = new Set<number>();
  for (const node of Object.values(ctx.spec.nodes)) if (node.kind !== 'host' && typeof node.asn === 'number') usedAsns.add(node.asn);
  const kept: Kept = { auto: keepAutoAddresses(ctx, nets, taken), asn: keepAutoAsns(ctx, usedAsns), usedAsns };
  const nodes: DesiredNode[] = [];
  for (const [key, node] of Object.entries(ctx.spec.nodes)) nodes.push(buildNode(ctx, nets, taken, kept, key, node));
  resolveHostGateways(ctx, nets.networks, nodes);
  return nodes;
}

/** Addresses others hold on a network of this topology (e.g. a container connected by hand). */
function takenByOthers(ctx: ResolveContext, { networks, subnets }: ResolvedNetworks): Taken {
  const { spec, state, topo, owned } = ctx;
  const taken: Taken = new Map();
  for (const key of subnets.keys()) taken.set(key, {});
  for (const n of networks) {
    const rec = state.networks[n.name];
    if (!owned(rec)) continue;
    for (const [ip, who] of Object.entries(rec?.allocations ?? {})) {
      const ours = Object.keys(spec.nodes).some((k) => fullName(topo, k) === who);
      if (!ours) (taken.get(n.key) as Record<string, string>)[ip] = who;
    }
  }
  return taken;
}

/** Node names free of clashes, and explicit addresses checked and taken. */
function claimExplicitAddresses(ctx: ResolveContext, { networks, subnets }: ResolvedNetworks, taken: Taken): void {
  const { spec, state, topo, owned, bad } = ctx;
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
}

/**
 * Auto addresses a node already holds are kept first, so a node added anywhere in the file
 * never takes the address of one that stays.
 */
function keepAutoAddresses(ctx: ResolveContext, { networks, subnets }: ResolvedNetworks, taken: Taken): Map<string, string> {
  const { spec, state, topo, owned } = ctx;
  const keptAuto = new Map<string, string>();
  for (const [key, node] of Object.entries(spec.nodes)) {
    const current = state.daemons[fullName(topo, key)] ?? state.hosts[fullName(topo, key)];
    if (!owned(current)) continue;
    for (const [net, ip] of Object.entries(node.interfaces)) {
      const subnet = subnets.get(net);
      const desiredNet = networks.find((n) => n.key === net);
      if (ip !== 'auto' || !subnet || !desiredNet) continue;
      const t = taken.get(net) as Record<string, string>;
      const kept = current?.interfaces.find((i) => i.network === desiredNet.name)?.ip;
      if (kept && !checkAddress(subnet, desiredNet.gateway, t, kept, ctx.swarm ? swarmRange(subnet) : undefined)) {
        t[kept] = key;
        keptAuto.set(`${key}/${net}`, kept);
      }
    }
  }
  return keptAuto;
}

/** Likewise auto ASNs: a router that stays keeps its own, whatever is added before it. */
function keepAutoAsns(ctx: ResolveContext, usedAsns: Set<number>): Map<string, number> {
  const { spec, state, topo, owned } = ctx;
  const keptAsn = new Map<string, number>();
  for (const [key, node] of Object.entries(spec.nodes)) {
    const current = state.daemons[fullName(topo, key)];
    if (node.kind === 'host' || node.asn !== 'auto' || !owned(current) || !current) continue;
    if (current.asn >= PRIVATE_ASN.first && current.asn <= PRIVATE_ASN.last && !usedAsns.has(current.asn)) {
      keptAsn.set(key, current.asn);
      usedAsns.add(current.asn);
    }
  }
  return keptAsn;
}

/** One node with its addresses (auto ones allocated), and for a router its ASN and router id. */
function buildNode(
  ctx: ResolveContext,
  { networks, subnets }: ResolvedNetworks,
  taken: Taken,
  kept: Kept,
  key: string,
  node: TopologySpec['nodes'][string],
): DesiredNode {
  const { topo, bad } = ctx;
  const name = fullName(topo, key);
  const interfaces: Array<{ network: string; ip: string; name?: string }> = [];
  const names = node.interface_names ?? {};
  const seenNames = new Map<string, string>();
  for (const [net, ifname] of Object.entries(names)) {
    if (!Object.hasOwn(node.interfaces, net)) bad(`nodes.${key}.interface_names.${net}`, `${key} has no interface on '${net}'`);
    const other = seenNames.get(ifname);
    if (other) bad(`nodes.${key}.interface_names.${net}`, `'${ifname}' is already the name of the interface on '${other}'`);
    seenNames.set(ifname, net);
  }
  for (const [net, ip] of Object.entries(node.interfaces)) {
    const subnet = subnets.get(net);
    const desiredNet = networks.find((n) => n.key === net);
    if (!subnet || !desiredNet) continue;
    const t = taken.get(net) as Record<string, string>;
    let addr = ip;
    if (ip === 'auto') {
      addr = kept.auto.get(`${key}/${net}`) ?? allocate(subnet, desiredNet.gateway, t, ctx.swarm ? swarmRange(subnet) : undefined) ?? '';
      if (!addr) {
        bad(`nodes.${key}.interfaces.${net}`, `network ${net} (${subnet.cidr}) has no free address left`);
        continue;
      }
      t[addr] = key;
    }
    const ifname = Object.hasOwn(names, net) ? names[net] : undefined;
    interfaces.push({ network: desiredNet.name, ip: addr, ...(ifname ? { name: ifname } : {}) });
  }
  const own = ownOf(node);
  if (node.kind === 'host')
    return {
      key,
      name,
      role: 'host',
      interfaces,
      gateway: node.gateway,
      loopback: node.loopback,
      engine: node.engine,
      ...(own ? { own } : {}),
    };
  const noRs = drivers[node.kind].noRouteServer;
  if (node.route_server && noRs) bad(`nodes.${key}.route_server`, noRs);
  if (node.config !== undefined) {
    if (node.advertise?.length)
      bad(`nodes.${key}.advertise`, 'a node with its own config announces what its config says: put the prefixes there');
    if (node.route_server) bad(`nodes.${key}.route_server`, 'a node with its own config is a route server if its config makes it one');
  }
  let asn = node.asn ?? (node.config !== undefined ? ownAsn(node.kind, node.config) : undefined);
  if (asn === undefined) bad(`nodes.${key}.asn`, 'is required: an AS number, or auto (or give the node its own config)');
  if (asn === undefined || asn === 'auto') {
    asn = kept.asn.get(key) ?? nextAsn(kept.usedAsns);
    if (asn === 0) bad(`nodes.${key}.asn`, 'the private ASN range 64512-65534 is used up');
    kept.usedAsns.add(asn);
  }
  const rid = node.router_id === undefined || node.router_id === 'auto' ? (interfaces[0]?.ip ?? '') : node.router_id;
  return {
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
    ...(node.route_server ? { route_server: true } : {}),
    ...(own ? { own } : {}),
  };
}

/** What the node brings of its own, in record form (absent when nothing). */
function ownOf(node: TopologySpec['nodes'][string]): NodeOwn | undefined {
  const config = node.kind !== 'host' ? node.config : undefined;
  const files = node.files ? Object.entries(node.files).map(([path, content]) => ({ path, content })) : undefined;
  if (config === undefined && !files?.length && !node.exec?.length) return undefined;
  return {
    ...(config !== undefined ? { config } : {}),
    ...(files?.length ? { files } : {}),
    ...(node.exec?.length ? { exec: node.exec } : {}),
  };
}

/** A host's gateway: an on-link IPv4 address, or a node sharing a network (then its full name). */
function resolveHostGateways(ctx: ResolveContext, networks: DesiredNetwork[], nodes: DesiredNode[]): void {
  const { bad } = ctx;
  const byKey = new Map(nodes.map((n) => [n.key, n]));
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
}

function nextAsn(used: Set<number>): number {
  for (let a = PRIVATE_ASN.first; a <= PRIVATE_ASN.last; a++) if (!used.has(a)) return a;
  return 0;
}
