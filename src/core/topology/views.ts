/** What the Topologies service takes and returns, and a stored topology as it is listed. */
import type { TopologyRecord } from '../store/schema.js';
import type { Established } from './live.js';
import type { Plan, PlanItem } from './plan.js';
import type { TopologySpec } from './spec.js';

export interface TopologyInput {
  spec?: unknown;
  yaml?: string | undefined;
}

export interface TopologyView {
  name: string;
  description?: string | undefined;
  networks: number;
  nodes: number;
  sessions: number;
  tunnels: number;
  deployed: boolean;
  active: boolean;
  created_at: string;
  updated_at: string;
  last_standup?: TopologyRecord['last_standup'];
}

export interface StandupResult {
  name: string;
  dry_run: boolean;
  plan: { items: PlanItem[]; summary: Plan['summary'] };
  warnings?: string[];
  /** with wait_established_s: whether every session came up, and which did not */
  established?: Established;
  duration_s: number;
}

export function view(r: TopologyRecord): TopologyView {
  const spec = r.spec as TopologySpec;
  return {
    name: r.name,
    description: spec.description,
    networks: Object.keys(spec.networks ?? {}).length,
    nodes: Object.keys(spec.nodes ?? {}).length,
    sessions: spec.bgp?.sessions?.length ?? 0,
    tunnels: spec.tunnels?.length ?? 0,
    deployed: r.deployed,
    active: r.active ?? false,
    created_at: r.created_at,
    updated_at: r.updated_at,
    ...(r.last_standup ? { last_standup: r.last_standup } : {}),
  };
}

/** A new record for `spec`, keeping what the one it replaces (if any) says about its history. */
export function newRecord(spec: TopologySpec, yaml: string | undefined, old: TopologyRecord | undefined, at: string): TopologyRecord {
  return {
    name: spec.name,
    spec: spec as unknown as Record<string, unknown>,
    ...(yaml !== undefined ? { yaml } : {}),
    created_at: old?.created_at ?? at,
    updated_at: at,
    deployed: old?.deployed ?? false,
    ...(old?.active ? { active: true } : {}),
    ...(old?.last_standup ? { last_standup: old.last_standup } : {}),
  };
}
