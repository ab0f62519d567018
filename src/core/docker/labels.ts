/** Ownership labels: the only way the lab recognises what it made. Everything created carries them. */

import { LabError } from '../errors.js';

export const LABEL_PREFIX = 'netstream-lab';
export const LABELS = {
  managed: `${LABEL_PREFIX}.managed`,
  /** daemon | host | network | image | helper */
  role: `${LABEL_PREFIX}.role`,
  /** frr | gobgp | exabgp | bird | openbgpd | host, on node containers */
  nodeKind: `${LABEL_PREFIX}.kind`,
  topology: `${LABEL_PREFIX}.topology`,
  /** the random id of the store that owns the object (kept in its state.json), so two stores on one
   * engine, even two with the same file path in different containers, never adopt each other's objects */
  store: `${LABEL_PREFIX}.store`,
  /** on networks: the Linux bridge name, whose forwarding rule goes with the network */
  bridge: `${LABEL_PREFIX}.bridge`,
  /** on containers and networks: the object's store record as JSON (see recordLabel) */
  record: `${LABEL_PREFIX}.record`,
  /** on lab images only. Not `managed`: containers inherit image labels, and a container someone
   * else starts from a lab image is still not ours. */
  image: `${LABEL_PREFIX}.image`,
} as const;

/** `helper`: a short-lived container the lab runs for itself (reading another engine's routes). */
export type Role = 'daemon' | 'host' | 'network' | 'helper';

export interface LabelContext {
  extra: Record<string, string>;
  /** this store's id; known once the engine is ready (DockerEngine.ready reads it) */
  store: string;
}

export function ownershipLabels(ctx: LabelContext, role: Role, more: Record<string, string | undefined> = {}): Record<string, string> {
  if (!ctx.store) throw new Error('bug: labels asked for before the store id is known (call engine.ready() first)');
  const labels: Record<string, string> = {
    ...ctx.extra,
    [LABELS.managed]: 'true',
    [LABELS.role]: role,
    [LABELS.store]: ctx.store,
  };
  for (const [k, v] of Object.entries(more)) if (v !== undefined) labels[k] = v;
  return labels;
}

/** Made by netstream-lab: the managed label and a role (a bare image label is not enough). */
export function isManaged(labels: Record<string, string> | null | undefined): boolean {
  return labels?.[LABELS.managed] === 'true' && !!labels[LABELS.role];
}

export type Ownership = 'ours' | 'other-store' | 'foreign';

/**
 * Whose object this is: this store's, another netstream-lab store's, or not netstream-lab's at all.
 * An object without a store id is nobody's the lab can prove, so it is not ours.
 */
export function ownership(labels: Record<string, string> | null | undefined, ctx: LabelContext): Ownership {
  if (!isManaged(labels)) return 'foreign';
  const store = labels?.[LABELS.store];
  if (!store) return 'foreign';
  return store === ctx.store ? 'ours' : 'other-store';
}

/** The refusal to change an object by that name that is not this store's. */
export function notOurs(what: 'container' | 'network', name: string, owner: Ownership): LabError {
  if (owner === 'other-store') {
    // Which store it is (a path or id of someone else's lab) is not said.
    return new LabError('CONFLICT', `${what} '${name}' belongs to another netstream-lab store`, {
      hint: 'use that store (NSLAB_DATA_DIR) to change it, or pick another name',
    });
  }
  return new LabError('CONFLICT', `${what} '${name}' exists but was not created by netstream-lab`, {
    hint: `netstream-lab never modifies a ${what} without its labels; pick another name or remove it yourself`,
  });
}

/** A docker `filters` value that selects only lab objects (optionally of one role). */
export function managedFilter(role?: Role): { label: string[] } {
  const label = [`${LABELS.managed}=true`];
  if (role) label.push(`${LABELS.role}=${role}`);
  return { label };
}

/**
 * Larger records are not put in a label: a node's is then rebuilt from its record file alone (a
 * daemon with thousands of prefixes or peers, which later calls can give it; see rebuild.ts).
 */
export const MAX_RECORD_LABEL = 64 * 1024;

/**
 * Fields never put in a label, at any depth: labels are shown to anyone who may `docker inspect`
 * or list containers (a read-only Docker user, a monitoring agent), who could not read the files
 * inside the container. The BGP MD5 passwords stay in the store (0600) and in the node's own files.
 */
export const SECRET_FIELDS: ReadonlySet<string> = new Set(['password']);

/**
 * The record label of a new container or network: its store record as JSON, without what Docker
 * itself knows (ids, addresses in use), what is only under way, or secrets (SECRET_FIELDS), so
 * that a lost store can be rebuilt from the objects (sync_run apply).
 */
export function recordLabel(rec: object, omit: readonly string[]): Record<string, string> {
  const kept = Object.fromEntries(Object.entries(rec).filter(([k, v]) => !omit.includes(k) && v !== undefined));
  const json = JSON.stringify(kept, (k, v) => (SECRET_FIELDS.has(k) ? undefined : v));
  return json.length <= MAX_RECORD_LABEL ? { [LABELS.record]: json } : {};
}
