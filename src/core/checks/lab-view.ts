/**
 * The lab as checks see it, from the store: each node's addresses (interfaces, tunnel inner
 * addresses, a host's loopback, a router's id), which node owns an address (to name traceroute
 * hops), and the address space that is the lab's own (checks send traffic nowhere else).
 */

import { ownAddresses } from '../nodes/own.js';
import type { StoreState } from '../store/schema.js';
import { inSubnet, subnetOfCidr } from '../subnets.js';

export interface ViewNode {
  name: string;
  role: 'daemon' | 'host';
  kind: string;
  /** interface addresses first (in the record's order), then tunnel inner addresses, loopback, router id */
  addresses: string[];
  /** the address a ping or traceroute to this node goes to: its first interface's */
  primary: string | undefined;
}

export interface LabView {
  nodes: Map<string, ViewNode>;
  /** address -> node name */
  owner: Map<string, string>;
  /** CIDRs that belong to the lab: its networks' subnets, tunnels' inner subnets, hosts' loopbacks */
  space: string[];
}

const bare = (cidr: string): string => cidr.split('/')[0] ?? cidr;

export function labView(state: StoreState): LabView {
  const nodes = new Map<string, ViewNode>();
  const add = (name: string, role: ViewNode['role'], kind: string, ips: string[]) => {
    const addresses = [...new Set(ips.filter(Boolean))];
    nodes.set(name, { name, role, kind, addresses, primary: addresses[0] });
  };
  const tunnelIps = new Map<string, string[]>();
  const space = Object.values(state.networks).map((n) => n.subnet);
  for (const t of Object.values(state.tunnels)) {
    const ends = 'container' in t.b ? [t.a, t.b] : [t.a];
    for (const e of ends) {
      tunnelIps.set(e.container, [...(tunnelIps.get(e.container) ?? []), bare(e.tunnel_ip)]);
      space.push(e.tunnel_ip);
    }
  }
  // A node's own addresses (its exec lines and config put them on) come first: they are what
  // the lab it came from addresses it by, and they are the lab's own space too.
  const own = (rec: { own?: Parameters<typeof ownAddresses>[0] }) => {
    const cidrs = ownAddresses(rec.own);
    space.push(...cidrs);
    return cidrs.map(bare);
  };
  for (const d of Object.values(state.daemons)) {
    add(d.name, 'daemon', d.kind, [...own(d), ...d.interfaces.map((i) => i.ip), ...(tunnelIps.get(d.name) ?? []), d.router_id]);
  }
  for (const h of Object.values(state.hosts)) {
    add(h.name, 'host', 'host', [
      ...own(h),
      ...h.interfaces.map((i) => i.ip),
      ...(tunnelIps.get(h.name) ?? []),
      ...(h.loopback ? [bare(h.loopback)] : []),
    ]);
    if (h.loopback) space.push(h.loopback);
  }
  const owner = new Map<string, string>();
  for (const n of nodes.values()) for (const ip of n.addresses) if (!owner.has(ip)) owner.set(ip, n.name);
  return { nodes, owner, space };
}

/** Whether traffic to `ip` stays inside the lab's own address space. */
export function insideLab(view: LabView, ip: string): boolean {
  return view.owner.has(ip) || view.space.some((cidr) => cidr.includes('/') && inSubnet(ip, subnetOfCidr(cidr)));
}
