/**
 * Where each node of a topology runs (NSLAB_ENGINES), and so which networks span engines. Pure:
 * given the engines, their free memory and what runs where already, it decides; the caller reads
 * those facts. A node named with `engine` goes there; a node that already runs stays where it is
 * (moving it would recreate it); the others go to the first engine (`pack`) or, one by one, to the
 * engine with the most memory left after the nodes placed so far (`spread`).
 */
import type { FieldIssue } from '../errors.js';
import { checkAddress, contains, overlayProblem, parseSubnet, type Subnet, swarmRange } from '../ipam.js';
import type { StoreState } from '../store/schema.js';
import { invalidInput } from '../validation.js';
import type { Desired } from './resolve.js';
import type { TopologySpec } from './spec.js';

export interface PlacementInput {
  /** the engines, the default first */
  engines: string[];
  placement: 'pack' | 'spread';
  /** topology node key -> the engine its spec names */
  requested: Map<string, string | undefined>;
  /** topology node key -> the engine its running node is recorded on */
  current: Map<string, string>;
  /** engine -> free memory in MB (spread only; an engine missing here counts as 0) */
  freeMb?: Map<string, number>;
  /** memory one node takes, MB */
  nodeMb: number;
}

/** Node key -> engine, or the issues (an engine name that is not in NSLAB_ENGINES). */
export function placeNodes(input: PlacementInput): { engines: Map<string, string>; issues: FieldIssue[] } {
  const out = new Map<string, string>();
  const issues: FieldIssue[] = [];
  const first = input.engines[0] as string;
  const free = new Map(input.engines.map((e) => [e, input.freeMb?.get(e) ?? 0]));
  const take = (key: string, engine: string) => {
    out.set(key, engine);
    free.set(engine, (free.get(engine) ?? 0) - input.nodeMb);
  };
  const open: string[] = [];
  for (const [key, want] of input.requested) {
    if (want !== undefined) {
      if (input.engines.includes(want)) take(key, want);
      else issues.push({ path: `nodes.${key}.engine`, message: `no engine named '${want}' (the engines are ${input.engines.join(', ')})` });
      continue;
    }
    const now = input.current.get(key);
    if (now !== undefined && input.engines.includes(now)) take(key, now);
    else open.push(key);
  }
  for (const key of open) {
    if (input.placement === 'pack') {
      take(key, first);
      continue;
    }
    // The most memory left wins; a tie goes to the earlier engine (stable, deterministic).
    let best = first;
    for (const e of input.engines) if ((free.get(e) ?? 0) > (free.get(best) ?? 0)) best = e;
    take(key, best);
  }
  return { engines: out, issues };
}

/** Network key -> the engines of the nodes on it (one: a bridge there; several: an overlay). */
export function networkEngines(nodes: Array<{ engine: string; networks: string[] }>): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const n of nodes) {
    for (const net of n.networks) {
      const s = out.get(net) ?? new Set<string>();
      s.add(n.engine);
      out.set(net, s);
    }
  }
  return out;
}

/**
 * Put every node of a resolved topology on an engine, and mark each network a bridge on one
 * engine or an overlay (several). With one engine nothing is recorded, as before engines existed;
 * an engine name that is not configured is INVALID_INPUT naming the node's field.
 */
export function placeTopology(
  desired: Desired,
  spec: TopologySpec,
  state: StoreState,
  engines: string[],
  opts: { freeMb?: Map<string, number>; nodeMb: number },
): void {
  const requested = new Map(desired.nodes.map((n) => [n.key, spec.nodes[n.key]?.engine]));
  const current = new Map<string, string>();
  for (const n of desired.nodes) {
    const rec = state.daemons[n.name] ?? state.hosts[n.name];
    if (rec && rec.topology === desired.topology) current.set(n.key, rec.engine ?? (engines[0] as string));
  }
  const { engines: placed, issues } = placeNodes({
    engines,
    placement: spec.placement ?? 'pack',
    requested,
    current,
    ...(opts.freeMb ? { freeMb: opts.freeMb } : {}),
    nodeMb: opts.nodeMb,
  });
  if (issues.length) throw invalidInput(`topology '${desired.topology}'`, issues);
  if (engines.length < 2) {
    for (const n of desired.nodes) n.engine = undefined;
    return;
  }
  for (const n of desired.nodes) n.engine = placed.get(n.key);
  const spans = networkEngines(desired.nodes.map((n) => ({ engine: n.engine as string, networks: n.interfaces.map((i) => i.network) })));
  for (const net of desired.networks) {
    const on = [...(spans.get(net.name) ?? new Set([engines[0] as string]))];
    if (on.length > 1) net.overlay = true;
    else net.engine = on[0];
  }
  const overlayIssues = overlayAddressIssues(desired, spec, engines.length);
  if (overlayIssues.length) throw invalidInput(`topology '${desired.topology}'`, overlayIssues);
}

/**
 * An overlay keeps its top block for Docker's per-engine load balancers: its subnet must leave
 * room for them, and no address given in the file may fall in that block.
 */
function overlayAddressIssues(desired: Desired, spec: TopologySpec, engines: number): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const net of desired.networks) {
    if (!net.overlay) continue;
    const subnet = parseSubnet(net.subnet) as Subnet;
    const problem = overlayProblem(subnet, net.gateway, engines);
    if (problem) {
      issues.push({ path: `networks.${net.key}.subnet`, message: `its nodes span engines, so it is an overlay: ${problem}` });
      continue;
    }
    const docker = swarmRange(subnet) as Subnet;
    for (const node of desired.nodes) {
      const given = spec.nodes[node.key]?.interfaces[net.key];
      const ip = node.interfaces.find((i) => i.network === net.name)?.ip;
      if (given && given !== 'auto' && ip && contains(docker, ip))
        issues.push({ path: `nodes.${node.key}.interfaces.${net.key}`, message: checkAddress(subnet, '', {}, ip, docker) as string });
    }
  }
  return issues;
}
