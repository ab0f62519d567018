import { conflict, invalid } from '../errors.js';
import { allocate, checkAddress, swarmRange } from '../ipam.js';
import type { StoreState } from '../store/schema.js';
import { subnetOf } from './view.js';

// --- address allocation, used by daemons and hosts inside a store transaction -------------------

/** Reserve an address on `network` for `owner` (chosen, or the lowest free). Mutates the state. */
/** `field` prefixes the paths in errors: `interfaces.0` gives `interfaces.0.network` / `interfaces.0.ip`; '' gives `network` / `ip`. */
export function reserveAddress(state: StoreState, field: string, network: string, owner: string, ip?: string): string {
  const rec = state.networks[network];
  if (!rec)
    throw invalid(
      field ? `${field}.network` : 'network',
      `network '${network}' does not exist`,
      'create it first with network_create, or list them with network_list',
    );
  const subnet = subnetOf(rec);
  const docker = rec.driver === 'overlay' ? swarmRange(subnet) : undefined;
  if (ip === undefined || ip === 'auto') {
    const free = allocate(subnet, rec.gateway, rec.allocations, docker);
    if (!free) throw conflict(`network '${network}' (${rec.subnet}) has no free address left`);
    rec.allocations[free] = owner;
    return free;
  }
  const problem = checkAddress(subnet, rec.gateway, rec.allocations, ip, docker);
  if (problem) throw invalid(field ? `${field}.ip` : 'ip', problem);
  rec.allocations[ip] = owner;
  return ip;
}

/** Release every address held by `owner` (or one network's). Mutates the state. */
export function releaseAddresses(state: StoreState, owner: string, network?: string): void {
  for (const rec of Object.values(state.networks)) {
    if (network && rec.name !== network) continue;
    for (const [ip, who] of Object.entries(rec.allocations)) if (who === owner) delete rec.allocations[ip];
  }
}
