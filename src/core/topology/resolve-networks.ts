/** Resolving a topology's networks: full names, subnets, gateways, and overlaps with what exists. */
import { checkAddress, defaultGateway, overlaps, parseCidr, parseSubnet, type Subnet } from '../ipam.js';
import { type DesiredNetwork, fullName, type ResolveContext } from './resolve-types.js';

export interface ResolvedNetworks {
  networks: DesiredNetwork[];
  /** network key -> its subnet, in file order */
  subnets: Map<string, Subnet>;
}

export function resolveNetworks(ctx: ResolveContext): ResolvedNetworks {
  const { spec, state, topo, owned, bad } = ctx;
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
  return { networks, subnets };
}
