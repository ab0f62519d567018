/**
 * From a topology file to the exact lab it describes: full names, every address (auto ones
 * allocated, kept stable across standups by reusing what the store already holds), ASNs, BGP
 * neighbors on both ends of each session, tunnels. Every problem is reported with its field path,
 * all at once. Pure: reads the store state it is given, changes nothing.
 *
 * Each part has its own step (resolve-networks, -nodes, -tunnels, -sessions, -render); the types
 * are in resolve-types.ts and are re-exported here.
 */
import type { StoreState } from '../store/schema.js';
import { invalidInput } from '../validation.js';
import { resolveChecks } from './resolve-checks.js';
import { resolveNetworks } from './resolve-networks.js';
import { resolveNodes } from './resolve-nodes.js';
import { ownSessions } from './resolve-own.js';
import { checkRendering } from './resolve-render.js';
import { resolveSessions } from './resolve-sessions.js';
import { resolveTunnels } from './resolve-tunnels.js';
import { type Desired, resolveContext } from './resolve-types.js';
import type { TopologySpec } from './spec.js';

export {
  type Desired,
  type DesiredDaemon,
  type DesiredHost,
  type DesiredNetwork,
  type DesiredNode,
  type DesiredSession,
  type DesiredTunnel,
  fullName,
  PRIVATE_ASN,
} from './resolve-types.js';

/**
 * Resolve a parsed spec against the store; throws one INVALID_INPUT listing every problem.
 * `swarm` (several engines): any network may become an overlay once placed, so auto addresses
 * stay out of the block Docker keeps on overlays (ipam.ts swarmRange).
 */
export function resolveTopology(spec: TopologySpec, state: StoreState, opts: { swarm?: boolean } = {}): Desired {
  const ctx = resolveContext(spec, state, !!opts.swarm);
  const nets = resolveNetworks(ctx);
  const nodes = resolveNodes(ctx, nets);
  const byKey = new Map(nodes.map((n) => [n.key, n]));
  const tunnels = resolveTunnels(ctx, nets.subnets, byKey);
  const fileSessions = resolveSessions(ctx, byKey, tunnels);
  const sessions = [...fileSessions, ...ownSessions(nodes, fileSessions)];
  checkRendering(ctx, nets.networks, nodes, tunnels);
  resolveChecks(ctx, byKey, tunnels);
  if (ctx.issues.length) throw invalidInput('topology', ctx.issues);
  return { topology: spec.name, networks: nets.networks, nodes, tunnels, sessions };
}
