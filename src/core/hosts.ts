import type { FileEntry } from './docker/archive.js';
import { invalid } from './errors.js';
import { contains, isIpv4, parseCidr, parseSubnet } from './ipam.js';
import { type ContainerState, type InterfaceRequest, NodeBase, NodeService } from './nodes.js';
import type { OpContext } from './progress.js';
import type { HostRecord, StoreState } from './store/schema.js';

export interface HostCreateInput {
  name: string;
  interfaces: InterfaceRequest[];
  /** an IP, or the name of a daemon or host on a shared network */
  gateway?: string | undefined;
  loopback?: string | undefined;
  topology?: string | undefined;
  engine?: string | undefined;
}

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

export class Hosts extends NodeService<'hosts', HostView> {
  protected readonly coll = 'hosts';
  protected readonly role = 'host';
  protected imageKind() {
    return 'host' as const;
  }

  protected files(rec: HostRecord, state: StoreState): FileEntry[] {
    const files: FileEntry[] = [];
    if (rec.gateway) files.push({ path: '/etc/nslab/gateway', content: `${resolveGateway(state, rec.interfaces, rec.gateway)}\n` });
    if (rec.loopback) files.push({ path: '/etc/nslab/loopback', content: `${rec.loopback}\n` });
    return files;
  }

  protected view(rec: HostRecord, state: ContainerState): HostView {
    const { name, interfaces, gateway, loopback, image, topology } = rec;
    return { name, interfaces, gateway, loopback, state, image, topology, ...(rec.engine ? { engine: rec.engine } : {}) };
  }

  async create(input: HostCreateInput, ctx: OpContext = {}): Promise<HostView> {
    const loopback = input.loopback === undefined ? undefined : parseCidr(input.loopback);
    if (typeof loopback === 'string') throw invalid('loopback', loopback);
    return this.createNode(
      input.name,
      this.placement.recordName(input.engine),
      (s) => {
        const interfaces = NodeBase.reserveInterfaces(s, input.name, input.interfaces);
        if (input.gateway) resolveGateway(s, interfaces, input.gateway);
        return {
          name: input.name,
          interfaces,
          ...(input.gateway ? { gateway: input.gateway } : {}),
          ...(input.loopback ? { loopback: input.loopback } : {}),
          ...(input.topology ? { topology: input.topology } : {}),
          desired: 'running',
          created_at: new Date().toISOString(),
        };
      },
      ctx,
    );
  }
}
