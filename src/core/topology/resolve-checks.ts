/**
 * Resolving a file's `expect:` and `scenarios:`: every node they name is in the file (a router
 * where a session, route, daemon_kill or session_reset needs one), a link fault names a network
 * the node is on, and an address a check sends to lies in one of the file's networks.
 */
import type { Check } from '../checks/spec.js';
import { isIpv4 } from '../ipam.js';
import { inSubnet, subnetOfCidr } from '../subnets.js';
import type { DesiredNode, DesiredTunnel, ResolveContext } from './resolve-types.js';
import type { TopologySpec } from './spec.js';

type Steps = NonNullable<TopologySpec['scenarios']>[string];
type FaultIn = Extract<Steps[number], { fault: unknown }>['fault'];

export function resolveChecks(ctx: ResolveContext, byKey: Map<string, DesiredNode>, tunnels: DesiredTunnel[]): void {
  const { bad, spec } = ctx;
  const space = [
    ...Object.values(spec.networks).map((n) => n.subnet),
    ...tunnels.flatMap((t) => [t.a.tunnel_ip, t.b.tunnel_ip]),
    ...[...byKey.values()].flatMap((n) => (n.role === 'host' && n.loopback ? [n.loopback] : [])),
  ];
  const node = (path: string, key: string, router = false) => {
    const n = byKey.get(key);
    if (!n) return void bad(path, `no node '${key}' in this file`);
    if (router && n.role !== 'daemon') return void bad(path, `'${key}' is a host; a router is needed here`);
    return n;
  };
  const target = (path: string, to: string) => {
    if (!isIpv4(to)) return void node(path, to);
    if (!space.some((c) => inSubnet(to, subnetOfCidr(c)))) {
      bad(path, `${to} is outside this file's networks; checks send traffic only to the lab's own addresses`);
    }
  };
  const checks = (path: string, list: Check[]) => {
    for (const [i, c] of list.entries()) {
      const at = `${path}.${i}`;
      switch (c.check) {
        case 'session':
          node(`${at}.a`, c.a, true);
          node(`${at}.b`, c.b, true);
          if (c.a === c.b) bad(`${at}.b`, 'a router has no session with itself');
          break;
        case 'route':
          node(`${at}.node`, c.node, true);
          if (c.next_hop !== undefined) target(`${at}.next_hop`, c.next_hop);
          break;
        case 'ping':
        case 'path':
          node(`${at}.from`, c.from);
          target(`${at}.to`, c.to);
          if (c.check === 'path') for (const [j, v] of c.via.entries()) node(`${at}.via.${j}`, v);
          break;
      }
    }
  };
  const fault = (path: string, f: FaultIn) => {
    switch (f.kind) {
      case 'link_down':
      case 'link_up': {
        const n = node(`${path}.node`, f.node);
        if (n && !Object.hasOwn(spec.nodes[f.node]?.interfaces ?? {}, f.network)) {
          bad(`${path}.network`, `'${f.node}' has no interface on '${f.network}'`);
        }
        break;
      }
      case 'node_pause':
        node(`${path}.node`, f.node);
        break;
      case 'daemon_kill':
        node(`${path}.node`, f.node, true);
        break;
      case 'session_reset':
        node(`${path}.a`, f.a, true);
        node(`${path}.b`, f.b, true);
        break;
    }
  };
  checks('expect', spec.expect ?? []);
  for (const [name, steps] of Object.entries(spec.scenarios ?? {})) {
    for (const [i, step] of steps.entries()) {
      const at = `scenarios.${name}.${i}`;
      if ('fault' in step) fault(`${at}.fault`, step.fault);
      else if ('clear' in step && step.clear !== 'all') fault(`${at}.clear`, step.clear);
      else if ('verify' in step && step.verify !== 'all') checks(`${at}.verify`, step.verify);
    }
  }
}
