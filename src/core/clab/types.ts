/** What the containerlab import and export take and give (see index.ts). */
import type { DaemonKind } from '../bgp/types.js';
import type { TopologySpec } from '../topology/spec.js';

export interface ClabImportInput {
  /** the .clab.yml text */
  yaml: string;
  /** lab-folder-relative path (as written in binds, normalised, no leading './') -> text */
  files?: Record<string, string>;
  /** our topology name (else derived from the containerlab `name`) */
  name?: string;
  /** CIDRs already used (store networks, other topologies): link subnets must not overlap them */
  avoidSubnets?: string[];
}

export interface ClabImportResult {
  spec: TopologySpec;
  warnings: string[];
}

export interface ExportNode {
  key: string;
  kind: DaemonKind | 'host';
  interfaces: Array<{ network: string; ip: string; prefixLen: number; name?: string }>;
  /** the daemon's configuration files (own or rendered by us), already text */
  config?: { path: string; content: string }[];
  /** its own files (container path -> text) */
  files?: Record<string, string>;
  exec?: string[];
  /** host default route (an IPv4), if any */
  gateway?: string;
  /** true for an imported node: its addresses come from its own config/exec, so export adds no `ip addr add` lines */
  addressesFromLab?: boolean;
}

export interface ClabExportInput {
  name: string;
  nodes: ExportNode[];
  networks: Array<{ key: string; subnet: string }>;
}

export interface ClabExportResult {
  yaml: string;
  files: Record<string, string>;
  warnings: string[];
}

/** Warnings of one import or export, capped so that a hostile file cannot make a huge answer. */
export class Warnings {
  readonly list: string[] = [];
  readonly #seen = new Set<string>();
  #dropped = 0;
  constructor(readonly max = 500) {}
  add(text: string): void {
    if (this.#seen.has(text)) return;
    this.#seen.add(text);
    if (this.list.length < this.max) this.list.push(text);
    else this.#dropped++;
  }
  done(): string[] {
    return this.#dropped ? [...this.list, `... and ${this.#dropped} more warnings`] : this.list;
  }
}
