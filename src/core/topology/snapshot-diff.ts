/**
 * What differs between two states of a lab's nodes, pure: the peers and prefixes one daemon holds
 * against another set (for the live changes of a restore, and for what changed since standup), and
 * the per-node report of a restore (before against after).
 */
import type { BgpNeighbor } from '../bgp/types.js';
import type { StoreState } from '../store/schema.js';
import { neighborKey } from './plan.js';
import type { SnapshotNode } from './snapshot-files.js';

export interface PeerSet {
  neighbors: BgpNeighbor[];
  advertise: string[];
}

export interface PeerDiff {
  /** peers to add: absent, or present with other settings (those are removed first) */
  add: BgpNeighbor[];
  remove: string[];
  advertise: string[];
  withdraw: string[];
}

/** What turns `have` into `want`. */
export function peerDiff(have: PeerSet, want: PeerSet): PeerDiff {
  const haveK = new Map(have.neighbors.map((n) => [n.address, neighborKey(n)]));
  const wantK = new Map(want.neighbors.map((n) => [n.address, neighborKey(n)]));
  return {
    remove: [...haveK.keys()].filter((a) => wantK.get(a) !== haveK.get(a)),
    add: want.neighbors.filter((n) => haveK.get(n.address) !== neighborKey(n)),
    advertise: want.advertise.filter((p) => !have.advertise.includes(p)),
    withdraw: have.advertise.filter((p) => !want.advertise.includes(p)),
  };
}

export const isEmpty = (d: PeerDiff): boolean => d.add.length + d.remove.length + d.advertise.length + d.withdraw.length === 0;

/** A topology's nodes as records hold them now, as a snapshot keeps them. */
export function nodesOf(state: StoreState, topology: string): SnapshotNode[] {
  const daemons = Object.values(state.daemons)
    .filter((d) => d.topology === topology)
    .map(
      (d): SnapshotNode => ({
        name: d.name,
        role: 'daemon',
        kind: d.kind,
        ...(d.container_id ? { container_id: d.container_id } : {}),
        asn: d.asn,
        neighbors: d.neighbors,
        advertise: d.advertise,
        ...(d.route_server ? { route_server: true } : {}),
        ...(d.own ? { own: d.own } : {}),
      }),
    );
  const hosts = Object.values(state.hosts)
    .filter((h) => h.topology === topology)
    .map(
      (h): SnapshotNode => ({
        name: h.name,
        role: 'host',
        kind: 'host',
        ...(h.container_id ? { container_id: h.container_id } : {}),
        ...(h.own ? { own: h.own } : {}),
      }),
    );
  return [...daemons, ...hosts].sort((a, b) => a.name.localeCompare(b.name));
}

export interface NodeChange {
  name: string;
  /** kept: the same container; created, recreated (made again), removed */
  container: 'kept' | 'created' | 'recreated' | 'removed';
  peers_added?: string[];
  peers_removed?: string[];
  /** the same address with other settings (asn, password, timers, ...) */
  peers_changed?: string[];
  prefixes_advertised?: string[];
  prefixes_withdrawn?: string[];
}

const setOf = (n: SnapshotNode | undefined): PeerSet => ({ neighbors: n?.neighbors ?? [], advertise: n?.advertise ?? [] });
const some = <T>(key: string, list: T[]) => (list.length ? { [key]: list } : {});

/** Per node, what a restore changed (nodes where nothing did are left out). */
export function changesBetween(before: SnapshotNode[], after: SnapshotNode[]): NodeChange[] {
  const b = new Map(before.map((n) => [n.name, n]));
  const a = new Map(after.map((n) => [n.name, n]));
  const out: NodeChange[] = [];
  for (const name of [...new Set([...b.keys(), ...a.keys()])].sort()) {
    const was = b.get(name);
    const now = a.get(name);
    const container = !was ? 'created' : !now ? 'removed' : was.container_id !== now.container_id ? 'recreated' : 'kept';
    const d = peerDiff(setOf(was), setOf(now));
    const added = d.add.map((n) => n.address);
    const change: NodeChange = {
      name,
      container,
      ...some(
        'peers_added',
        added.filter((x) => !d.remove.includes(x)),
      ),
      ...some(
        'peers_removed',
        d.remove.filter((x) => !added.includes(x)),
      ),
      ...some(
        'peers_changed',
        added.filter((x) => d.remove.includes(x)),
      ),
      ...some('prefixes_advertised', d.advertise),
      ...some('prefixes_withdrawn', d.withdraw),
    };
    if (container !== 'kept' || Object.keys(change).length > 2) out.push(change);
  }
  return out;
}
