import type { FileEntry } from '../docker/archive.js';
import type { DaemonRecord, HostRecord, StoreState } from '../store/schema.js';

/** Daemons and hosts are both "nodes": a lab container with interfaces on lab networks. */
export type NodeCollection = 'daemons' | 'hosts';
export type NodeRecord = DaemonRecord | HostRecord;
/** The store record of one node of a collection. */
export type RecordOf<C extends NodeCollection> = StoreState[C][string];
export type ContainerState = 'running' | 'paused' | 'stopped' | 'restarting' | 'missing';

export interface InterfaceRequest {
  network: string;
  ip?: string | undefined;
}

/** Fields of a node record that its label and record file leave out: Docker knows them, or they are only under way. */
export const NODE_RECORD_OMIT = ['container_id', 'image', 'pending'] as const;
/** The label leaves out the node's own files too (up to megabytes); the record file keeps them. */
export const NODE_LABEL_OMIT = [...NODE_RECORD_OMIT, 'own'] as const;
/**
 * The node's current record inside its container (the label keeps the one it was created with;
 * a daemon's peers and prefixes change later, and this file follows them). Read back by sync_run
 * to rebuild a lost store; it holds MD5 passwords, as the daemon's own config beside it does.
 */
export const RECORD_FILE = '/etc/nslab/record.json';
export function recordFile(rec: NodeRecord): FileEntry {
  const kept = Object.fromEntries(Object.entries(rec).filter(([k]) => !(NODE_RECORD_OMIT as readonly string[]).includes(k)));
  return { path: RECORD_FILE, content: `${JSON.stringify(kept)}\n`, mode: 0o600 };
}

export function containerState(info: { State: { Running: boolean; Restarting: boolean; Paused?: boolean } } | undefined): ContainerState {
  if (!info) return 'missing';
  if (info.State.Restarting) return 'restarting';
  if (info.State.Paused) return 'paused';
  return info.State.Running ? 'running' : 'stopped';
}
