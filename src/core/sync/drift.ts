/** The drift sync_run reports: its kinds, the objects a kind may name, and one item of it. */
export const DRIFT_KINDS = [
  'missing_record',
  'refused_record',
  'missing_topology',
  'unfinished_create',
  'unfinished_delete',
  'missing_container',
  'stopped_container',
  'recreated_container',
  'missing_network',
  'orphan_container',
  'orphan_network',
  'unknown_address',
  'missing_rule',
  'stale_rule',
] as const;
export type DriftKind = (typeof DRIFT_KINDS)[number];

export const DRIFT_OBJECTS = ['network', 'daemon', 'host', 'tunnel'] as const;
export type DriftObject = (typeof DRIFT_OBJECTS)[number];

export interface Drift {
  kind: DriftKind;
  name: string;
  /** what `name` names, where a kind covers several */
  object?: DriftObject;
  detail: string;
  /** what apply does about it (nothing: report only) */
  repair: string;
  /** with apply: whether the repair worked, and why not */
  repaired?: boolean;
  error?: string;
}

/** A create or delete whose process died before the store and Docker agreed again. */
export function unfinished(op: 'create' | 'delete', object: DriftObject, name: string, exists: boolean): Drift {
  const what = object === 'network' ? `Docker network '${name}'` : `the container of '${name}'`;
  return op === 'create'
    ? {
        kind: 'unfinished_create',
        name,
        object,
        detail: `the create of ${object} '${name}' stopped part way (its process is gone); ${what} ${exists ? 'exists but may be half made' : 'was not made'}`,
        repair:
          object === 'network'
            ? 'finish it: make or keep the network, with its forwarding rule'
            : 'finish it: make the container again from the store',
      }
    : {
        kind: 'unfinished_delete',
        name,
        object,
        detail: `the delete of ${object} '${name}' stopped part way (its process is gone); ${what} ${exists ? 'is still there' : 'is gone'}`,
        repair: 'finish it: remove what is left and the record',
      };
}
