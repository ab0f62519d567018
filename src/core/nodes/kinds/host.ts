/** What makes a node a host: the host image, its gateway and loopback files, how it is shown. */
import type { FileEntry } from '../../docker/archive.js';
import { invalid } from '../../errors.js';
import { contains, isIpv4, parseSubnet } from '../../ipam.js';
import type { StoreState } from '../../store/schema.js';
import type { NodeKind } from '../lifecycle.js';
import { ifnamesFile, ownFiles } from '../own.js';
import type { ContainerState } from '../records.js';

export interface HostView {
  name: string;
  interfaces: Array<{ network: string; ip: string }>;
  gateway?: string | undefined;
  loopback?: string | undefined;
  state: ContainerState;
  image?: string | undefined;
  topology?: string | undefined;
  engine?: string | undefined;
}

/** The default-route address: an IP on one of the host's networks, or a node's address on a shared one. */
export function resolveGateway(s: StoreState, ifaces: Array<{ network: string; ip: string }>, gateway: string): string {
  if (isIpv4(gateway)) {
    const onLink = ifaces.some((i) => {
      const subnet = parseSubnet(s.networks[i.network]?.subnet ?? '');
      return typeof subnet !== 'string' && contains(subnet, gateway);
    });
    if (!onLink) throw invalid('gateway', `${gateway} is not on any of the host's networks (${ifaces.map((i) => i.network).join(', ')})`);
    return gateway;
  }
  const node = s.daemons[gateway] ?? s.hosts[gateway];
  if (!node) throw invalid('gateway', `'${gateway}' is neither an IPv4 address nor an existing daemon or host`);
  const shared = node.interfaces.find((ni) => ifaces.some((hi) => hi.network === ni.network));
  if (!shared) throw invalid('gateway', `'${gateway}' shares no network with this host`, 'connect them to a common network');
  return shared.ip;
}

/** A host counts as up once its container runs: nothing in it answers a question. */
export const hostKind: NodeKind<'hosts', HostView> = {
  coll: 'hosts',
  role: 'host',
  image: () => 'host',
  files(rec, state) {
    const files: FileEntry[] = [];
    if (rec.gateway) files.push({ path: '/etc/nslab/gateway', content: `${resolveGateway(state, rec.interfaces, rec.gateway)}\n` });
    if (rec.loopback) files.push({ path: '/etc/nslab/loopback', content: `${rec.loopback}\n` });
    return [...files, ...ownFiles(rec.own), ...ifnamesFile(rec.interfaces)];
  },
  view(rec, state) {
    const { name, interfaces, gateway, loopback, image, topology } = rec;
    return { name, interfaces, gateway, loopback, state, image, topology, ...(rec.engine ? { engine: rec.engine } : {}) };
  },
};
