/** The subnets a node reaches directly: its lab networks and the inner subnets of its tunnels. */

import type { z } from 'zod';
import { parseCidr } from './ipam.js';
import type { InterfaceRecord, StoreState } from './store/schema.js';
import { endIn } from './tunnels/render.js';

export interface Connected {
  /** "network core" or "tunnel t12" */
  via: string;
  subnet: string;
  /** the node's own address there */
  ip: string;
}

/** The network address of an address with a prefix length ("172.31.0.1/30" -> "172.31.0.0/30"). */
export function subnetOfCidr(cidr: string): string {
  const p = parseCidr(cidr);
  return typeof p === 'string' ? cidr : p.cidr;
}

export function inSubnet(ip: string, subnet: string): boolean {
  const s = parseCidr(subnet);
  const a = parseCidr(`${ip}/32`);
  if (typeof s === 'string' || typeof a === 'string') return false;
  return a.network >= s.network && a.network < s.network + s.size;
}

export function connectedSubnets(
  node: { name: string; interfaces: Array<z.infer<typeof InterfaceRecord>> },
  state: StoreState,
): Connected[] {
  const out: Connected[] = node.interfaces.map((i) => ({
    via: `network ${i.network}`,
    subnet: state.networks[i.network]?.subnet ?? `${i.ip}/32`,
    ip: i.ip,
  }));
  for (const t of Object.values(state.tunnels ?? {})) {
    const end = endIn(t, node.name);
    if (end) out.push({ via: `tunnel ${t.name}`, subnet: subnetOfCidr(end.address), ip: end.address.split('/')[0] ?? '' });
  }
  return out;
}
