/**
 * Checks and reservations a node makes in the store before its container exists: its name, its
 * addresses, and networks its engine can reach. Each runs inside a store transaction.
 */
import { conflict, invalid, LabError } from '../errors.js';
import { Networks } from '../networks.js';
import type { StoreState } from '../store/schema.js';
import type { InterfaceRequest } from './records.js';

/** Refuse a name a daemon or host of the store already has. */
export function refuseTakenInStore(s: StoreState, name: string): void {
  if (s.daemons[name] || s.hosts[name]) {
    throw conflict(`'${name}' already exists as a ${s.daemons[name] ? 'daemon' : 'host'}`, 'pick another name');
  }
}

/** Reserve addresses for every requested interface. Mutates the state. */
export function reserveInterfaces(s: StoreState, owner: string, reqs: InterfaceRequest[]): Array<{ network: string; ip: string }> {
  const seen = new Set<string>();
  return reqs.map((r, i) => {
    if (seen.has(r.network)) {
      throw new LabError('INVALID_INPUT', `interfaces.${i}.network: '${r.network}' is listed twice`, {
        issues: [{ path: `interfaces.${i}.network`, message: 'listed twice' }],
      });
    }
    seen.add(r.network);
    return { network: r.network, ip: Networks.reserve(s, `interfaces.${i}`, r.network, owner, r.ip) };
  });
}

/**
 * A node joins only networks it can reach: an overlay from any engine, a bridge only from the
 * engine it is on (INVALID_INPUT naming the interface otherwise).
 */
export function refuseEngineSplit(s: StoreState, rec: { interfaces: Array<{ network: string }> }, engine: string, first: string): void {
  rec.interfaces.forEach((i, n) => {
    const net = s.networks[i.network];
    if (!net || net.driver === 'overlay') return;
    const on = net.engine ?? first;
    if (on !== engine) {
      throw invalid(
        `interfaces.${n}.network`,
        `network '${i.network}' is a ${net.driver} on engine '${on}', and this node would run on engine '${engine}'`,
        `put the node on engine '${on}', or use a network made with scope: swarm (an overlay that spans the engines)`,
      );
    }
  });
}
