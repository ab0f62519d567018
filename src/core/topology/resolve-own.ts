/**
 * Sessions between routers that bring their own configuration (an imported containerlab lab):
 * read from each config's neighbor addresses (ownPeers) and the addresses the lab's own exec lines
 * and configs give its nodes (ownAddresses), so that status, checks, the graph and waiting for
 * Established see them as they see the file's sessions. They are not the lab's to make: the plan
 * leaves them out.
 */
import { contains, parseCidr, type Subnet } from '../ipam.js';
import { ownAddresses, ownPeers } from '../nodes/own.js';
import type { DesiredNode, DesiredSession } from './resolve-types.js';

export function ownSessions(nodes: DesiredNode[], existing: DesiredSession[]): DesiredSession[] {
  // every address of every node: its own (CIDRs) and Docker's
  const cidrsOf = new Map(nodes.map((n) => [n.name, ownAddresses(n.own)]));
  const owner = new Map<string, string>();
  for (const n of nodes) {
    for (const c of cidrsOf.get(n.name) ?? []) if (!owner.has(c.split('/')[0] as string)) owner.set(c.split('/')[0] as string, n.name);
    for (const i of n.interfaces) if (!owner.has(i.ip)) owner.set(i.ip, n.name);
  }
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const seen = new Set(existing.map((s) => [s.a, s.b].sort().join('~')));
  const out: DesiredSession[] = [];
  for (const n of nodes) {
    if (n.role !== 'daemon' || n.own?.config === undefined) continue;
    for (const peer of ownPeers(n.kind, n.own.config)) {
      const other = byName.get(owner.get(peer) ?? '');
      if (other?.role !== 'daemon' || other === n) continue;
      const key = [n.name, other.name].sort().join('~');
      if (seen.has(key)) continue;
      // this end's address on the peer's subnet: one of its own, else Docker's on a shared network
      const mine =
        (cidrsOf.get(n.name) ?? []).find((c) => {
          const s = parseCidr(c);
          return typeof s !== 'string' && contains(s as Subnet, peer);
        }) ?? n.interfaces.find((i) => other.interfaces.some((o) => o.ip === peer && o.network === i.network))?.ip;
      if (!mine) continue;
      seen.add(key);
      out.push({ a: n.name, b: other.name, a_ip: mine.split('/')[0] as string, b_ip: peer, via: 'own config', own: true });
    }
  }
  return out;
}
