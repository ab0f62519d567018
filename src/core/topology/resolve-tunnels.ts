/** Resolving a topology's tunnels: ends and underlay, inner addresses, VXLAN VNIs, MTU. */
import { innerAddressProblem, overlaps, parseCidr, type Subnet } from '../ipam.js';
import type { StoreState } from '../store/schema.js';
import { overhead } from '../tunnels/render.js';
import { type DesiredNode, type DesiredTunnel, fullName, type ResolveContext } from './resolve-types.js';
import type { TopologySpec } from './spec.js';

type TunnelSpec = NonNullable<TopologySpec['tunnels']>[number];
type Iface = { network: string; ip: string };

export function resolveTunnels(ctx: ResolveContext, subnets: Map<string, Subnet>, byKey: Map<string, DesiredNode>): DesiredTunnel[] {
  const tunnels: DesiredTunnel[] = [];
  const reservedVnis = reserveVnis(ctx);
  for (const [i, t] of (ctx.spec.tunnels ?? []).entries()) {
    const path = `tunnels.${i}`;
    const ends = tunnelEnds(ctx, t, path, tunnels, byKey);
    if (!ends) continue;
    const { a, b, underlay, aU, bU } = ends;
    const ai = parseCidr(t.a_ip);
    const bi = parseCidr(t.b_ip);
    if (typeof ai === 'string' || typeof bi === 'string') continue;
    checkInnerAddresses(ctx, t, path, ai, bi, subnets, tunnels, [a.name, b.name]);
    const mode = t.mode ?? 'gre';
    const key = mode === 'vxlan' ? assignVni(ctx, t, path, tunnels, reservedVnis, [a.name, b.name]) : t.key;
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
  return tunnels;
}

/** VNIs named in the file or held by tunnels that stay are taken before any is allocated. */
function reserveVnis({ spec, state, topo }: ResolveContext): Set<number> {
  const reservedVnis = new Set<number>();
  for (const t of spec.tunnels ?? []) {
    if (t.mode !== 'vxlan') continue;
    const existing = state.tunnels?.[t.name];
    const kept = t.key ?? (existing?.topology === topo && existing.mode === 'vxlan' ? existing.key : undefined);
    if (kept !== undefined) reservedVnis.add(kept);
  }
  return reservedVnis;
}

/** The tunnel's name checked, its two nodes, and the network under it with each end's address there. */
function tunnelEnds(
  ctx: ResolveContext,
  t: TunnelSpec,
  path: string,
  tunnels: DesiredTunnel[],
  byKey: Map<string, DesiredNode>,
): { a: DesiredNode; b: DesiredNode; underlay: string; aU: Iface; bU: Iface } | undefined {
  const { state, topo, bad } = ctx;
  if (tunnels.some((x) => x.name === t.name)) bad(`${path}.name`, `tunnel '${t.name}' is named twice`);
  const existing = state.tunnels?.[t.name];
  if (existing && existing.topology !== topo) bad(`${path}.name`, `tunnel '${t.name}' already exists outside this topology`);
  const a = byKey.get(t.a);
  const b = byKey.get(t.b);
  if (!a) bad(`${path}.a`, `no node '${t.a}' in this file`);
  if (!b) bad(`${path}.b`, `no node '${t.b}' in this file`);
  if (!a || !b) return undefined;
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
    return undefined;
  }
  return { a, b, underlay, aU, bU };
}

/** Inner addresses: one subnet, two addresses, clear of the lab's networks and the ends' other tunnels. */
function checkInnerAddresses(
  ctx: ResolveContext,
  t: TunnelSpec,
  path: string,
  ai: Subnet,
  bi: Subnet,
  subnets: Map<string, Subnet>,
  tunnels: DesiredTunnel[],
  ends: [string, string],
): void {
  const { state, owned, bad } = ctx;
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
    const shared = [other.a.container, other.b.container].filter((c) => c === ends[0] || c === ends[1]);
    const o = parseCidr(other.a.tunnel_ip);
    if (shared.length && typeof o !== 'string' && overlaps(o, ai))
      bad(`${path}.a_ip`, `${t.a_ip} overlaps tunnel '${other.name}' (${o.cidr}) of ${shared[0]}`);
  }
}

/** A VXLAN tunnel's VNI: the one named, else the one it holds, else a free one; unique per node. */
function assignVni(
  ctx: ResolveContext,
  t: TunnelSpec,
  path: string,
  tunnels: DesiredTunnel[],
  reservedVnis: Set<number>,
  ends: [string, string],
): number {
  const { state, topo, bad } = ctx;
  let key = t.key;
  if (key === 0 || (key ?? 0) > 16_777_215) bad(`${path}.key`, 'a VXLAN VNI is between 1 and 16777215');
  const existing = state.tunnels?.[t.name];
  const kept = existing?.topology === topo && existing.mode === 'vxlan' ? existing.key : undefined;
  key ??= kept ?? freeVni(state, tunnels, topo, reservedVnis);
  reservedVnis.add(key);
  const clash = tunnels.find(
    (x) => x.mode === 'vxlan' && x.key === key && [x.a.container, x.b.container].some((c) => c === ends[0] || c === ends[1]),
  );
  if (clash) bad(`${path}.key`, `VNI ${key} is also tunnel '${clash.name}' on a node it shares with it`);
  return key;
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
