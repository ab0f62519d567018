/** Resolving a topology's BGP sessions: the addresses each end peers on, and neighbors on both ends. */
import { neighborRefusals } from '../bgp/refusals.js';
import { timersProblem } from '../bgp/states.js';
import type { BgpNeighbor } from '../bgp/types.js';
import type { DesiredDaemon, DesiredNode, DesiredSession, DesiredTunnel, ResolveContext } from './resolve-types.js';
import { fullName } from './resolve-types.js';
import type { SessionSpec } from './spec.js';

type Session = Exclude<SessionSpec, [string, string]>;

/** Each session resolved, with a neighbor added to both routers. */
export function resolveSessions(ctx: ResolveContext, byKey: Map<string, DesiredNode>, tunnels: DesiredTunnel[]): DesiredSession[] {
  const { bad } = ctx;
  const sessions: DesiredSession[] = [];
  for (const [i, raw] of (ctx.spec.bgp?.sessions ?? []).entries()) {
    const s = normalizeSession(raw);
    const path = `bgp.sessions.${i}`;
    const routers = sessionRouters(ctx, s, path, byKey);
    if (!routers) continue;
    const [a, b] = routers;
    const { aIp, bIp, via } = sessionAddresses(ctx, s, path, a, b, tunnels);
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
      ...(s.bfd !== undefined ? { bfd: s.bfd } : {}),
      ...(s.hold_s !== undefined ? { hold_s: s.hold_s } : {}),
      ...(s.keepalive_s !== undefined ? { keepalive_s: s.keepalive_s } : {}),
    };
    if (
      !sessionOptionsFit(
        ctx,
        path,
        [
          [s.a, a],
          [s.b, b],
        ],
        extra,
      )
    )
      continue;
    const described = s.description !== undefined ? { description: s.description } : {};
    // The client of a route server accepts paths that do not start with the server's AS.
    a.neighbors.push({ address: bIp, asn: b.asn, ...extra, ...described, ...(b.route_server ? { route_server: true } : {}) });
    b.neighbors.push({ address: aIp, asn: a.asn, ...extra, ...described, ...(a.route_server ? { route_server: true } : {}) });
    sessions.push({ a: a.name, b: b.name, a_ip: aIp, b_ip: bIp, via });
  }
  return sessions;
}

/** The session's timers are ones BGP allows, and the kinds of both ends can configure what it sets. */
function sessionOptionsFit(
  { bad }: ResolveContext,
  path: string,
  ends: Array<[key: string, end: DesiredDaemon]>,
  options: Omit<BgpNeighbor, 'address' | 'asn'>,
): boolean {
  const timers = timersProblem(options);
  if (timers) {
    bad(`${path}.keepalive_s`, timers);
    return false;
  }
  const said = new Set<string>();
  for (const [key, end] of ends) {
    for (const { field, why } of neighborRefusals(end.kind, { address: '0.0.0.0', asn: 1, ...options })) {
      // Both ends of one kind: said once.
      if (!said.has(`${field} ${end.kind}`)) bad(`${path}.${field}`, `${key} is ${end.kind}: ${why}`);
      said.add(`${field} ${end.kind}`);
    }
  }
  return said.size === 0;
}

/** Both ends: nodes of the file, routers, and not the same one. */
function sessionRouters(
  { bad }: ResolveContext,
  s: Session,
  path: string,
  byKey: Map<string, DesiredNode>,
): [DesiredDaemon, DesiredDaemon] | undefined {
  const a = byKey.get(s.a);
  const b = byKey.get(s.b);
  if (!a) bad(`${path}.a`, `no node '${s.a}' in this file`);
  if (!b) bad(`${path}.b`, `no node '${s.b}' in this file`);
  if (!a || !b) return undefined;
  if (a.role !== 'daemon') bad(`${path}.a`, `'${s.a}' is a host; only routers take BGP sessions`);
  if (b.role !== 'daemon') bad(`${path}.b`, `'${s.b}' is a host; only routers take BGP sessions`);
  if (a.role !== 'daemon' || b.role !== 'daemon') return undefined;
  if (a === b) {
    bad(`${path}.b`, 'a router cannot peer with itself');
    return undefined;
  }
  for (const [end, n] of [
    ['a', a],
    ['b', b],
  ] as const) {
    if (n.own?.config !== undefined) {
      bad(`${path}.${end}`, `'${n.key}' runs its own config: its sessions are the neighbors its config names, not bgp.sessions`);
      return undefined;
    }
  }
  return [a, b];
}

/** The addresses the two routers peer on: inside the named tunnel, else on a (named or shared) network. */
function sessionAddresses(
  { topo, bad }: ResolveContext,
  s: Session,
  path: string,
  a: DesiredDaemon,
  b: DesiredDaemon,
  tunnels: DesiredTunnel[],
): { aIp: string | undefined; bIp: string | undefined; via: string } {
  if (s.tunnel !== undefined) {
    const t = tunnels.find((x) => x.name === s.tunnel);
    const ends = t ? [t.a, t.b] : [];
    const ea = ends.find((e) => e.container === a.name);
    const eb = ends.find((e) => e.container === b.name);
    if (!t || !ea || !eb) bad(`${path}.tunnel`, `no tunnel '${s.tunnel}' between ${s.a} and ${s.b} in this file`);
    return { aIp: ea?.tunnel_ip.split('/')[0], bIp: eb?.tunnel_ip.split('/')[0], via: `tunnel ${s.tunnel}` };
  }
  const net =
    s.network !== undefined
      ? fullName(topo, s.network)
      : a.interfaces.find((x) => b.interfaces.some((y) => y.network === x.network))?.network;
  const aIp = a.interfaces.find((x) => x.network === net)?.ip;
  const bIp = b.interfaces.find((x) => x.network === net)?.ip;
  if (!net || !aIp || !bIp) {
    bad(
      s.network !== undefined ? `${path}.network` : path,
      s.network !== undefined
        ? `${s.a} and ${s.b} are not both on network ${s.network}`
        : `${s.a} and ${s.b} share no network; name a tunnel or connect them`,
    );
  }
  return { aIp, bIp, via: `network ${net}` };
}

function normalizeSession(s: SessionSpec): Session {
  return Array.isArray(s) ? { a: s[0], b: s[1] } : s;
}
