/** Ownership labels: the only way the lab recognises what it made. Everything created carries them. */

export const LABEL_PREFIX = 'netstream-lab';
export const LABELS = {
  managed: `${LABEL_PREFIX}.managed`,
  /** daemon | host | network | image | helper */
  role: `${LABEL_PREFIX}.role`,
  /** frr | gobgp | exabgp | host, on node containers */
  nodeKind: `${LABEL_PREFIX}.kind`,
  topology: `${LABEL_PREFIX}.topology`,
  /** the store file that owns the object, so two stores on one engine do not adopt each other's objects */
  store: `${LABEL_PREFIX}.store`,
  /** on networks: the Linux bridge name, whose forwarding rule goes with the network */
  bridge: `${LABEL_PREFIX}.bridge`,
  /** on lab images only. Not `managed`: containers inherit image labels, and a container someone
   * else starts from a lab image is still not ours. */
  image: `${LABEL_PREFIX}.image`,
} as const;

export type Role = 'daemon' | 'host' | 'network';

export interface LabelContext {
  extra: Record<string, string>;
  storeFile: string;
}

export function ownershipLabels(ctx: LabelContext, role: Role, more: Record<string, string | undefined> = {}): Record<string, string> {
  const labels: Record<string, string> = {
    ...ctx.extra,
    [LABELS.managed]: 'true',
    [LABELS.role]: role,
    [LABELS.store]: ctx.storeFile,
  };
  for (const [k, v] of Object.entries(more)) if (v !== undefined) labels[k] = v;
  return labels;
}

/** Made by netstream-lab: the managed label and a role (a bare image label is not enough). */
export function isManaged(labels: Record<string, string> | null | undefined): boolean {
  return labels?.[LABELS.managed] === 'true' && !!labels[LABELS.role];
}

export type Ownership = 'ours' | 'other-store' | 'foreign';

/** Whose object this is: this store's, another netstream-lab store's, or not netstream-lab's at all. */
export function ownership(labels: Record<string, string> | null | undefined, ctx: LabelContext): Ownership {
  if (!isManaged(labels)) return 'foreign';
  const store = labels?.[LABELS.store];
  return !store || store === ctx.storeFile ? 'ours' : 'other-store';
}

/** A docker `filters` value that selects only lab objects (optionally of one role). */
export function managedFilter(role?: Role): { label: string[] } {
  const label = [`${LABELS.managed}=true`];
  if (role) label.push(`${LABELS.role}=${role}`);
  return { label };
}
