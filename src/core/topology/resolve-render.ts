/** The last resolving step: whatever each router's configuration language cannot say is a problem. */
import { drivers } from '../bgp/index.js';
import { parseCidr, type Subnet } from '../ipam.js';
import type { DesiredNetwork, DesiredNode, DesiredTunnel, ResolveContext } from './resolve-types.js';

/** Render each router's configuration (and throw it away), reporting what its driver refuses. */
export function checkRendering(ctx: ResolveContext, networks: DesiredNetwork[], nodes: DesiredNode[], tunnels: DesiredTunnel[]): void {
  for (const n of nodes) {
    // a kind that cannot be a route server is reported at its field by resolveNodes; a node with
    // its own config is not rendered at all
    if (n.role !== 'daemon' || (n.route_server && drivers[n.kind].noRouteServer) || n.own?.config !== undefined) continue;
    const tunnelSubnets = tunnels.flatMap((t) =>
      [t.a, t.b]
        .filter((e) => e.container === n.name)
        .map((e) => ({
          network: `tunnel:${t.name}`,
          ip: e.tunnel_ip.split('/')[0] ?? '',
          subnet: (parseCidr(e.tunnel_ip) as Subnet).cidr,
        })),
    );
    try {
      drivers[n.kind].render({
        name: n.name,
        kind: n.kind,
        asn: n.asn,
        router_id: n.router_id,
        interfaces: [
          ...n.interfaces.map((i) => ({ ...i, subnet: networks.find((x) => x.name === i.network)?.subnet ?? `${i.ip}/32` })),
          ...tunnelSubnets,
        ],
        neighbors: n.neighbors,
        advertise: n.advertise,
        route_server: n.route_server,
      });
    } catch (err) {
      ctx.bad(`nodes.${n.key}`, (err as Error).message);
    }
  }
}
