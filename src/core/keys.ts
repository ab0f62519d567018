/**
 * Object keys are input too. A caller's `__proto__` written through `obj[key] = ...` changes the
 * prototype of every object in the process; `constructor` or `toString` read through `obj[key]`
 * finds what Object.prototype has. Maps keyed by what callers name (records by name, arguments by
 * field) are therefore built without a prototype, and looked up by own property only.
 */

/** Segments of a key path that reach a prototype instead of a field. */
export const UNSAFE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'prototype', 'constructor']);

export const isUnsafeKey = (key: string): boolean => UNSAFE_KEYS.has(key);

/** An empty map with no prototype: `m.constructor` is undefined, `m.__proto__ = x` an own key. */
export const bareMap = <T>(): Record<string, T> => Object.create(null) as Record<string, T>;

/** The same entries on a map with no prototype (the input is not changed). */
export function toBareMap<T>(map: Record<string, T>): Record<string, T> {
  const out = bareMap<T>();
  for (const key of Object.keys(map)) out[key] = map[key] as T;
  return out;
}

/** `map[key]` when the map itself holds the key, never something inherited. */
export function ownValue<T>(map: Record<string, T> | undefined, key: string): T | undefined {
  return map !== undefined && Object.hasOwn(map, key) ? map[key] : undefined;
}

/**
 * The path of the first `__proto__` key anywhere in a JSON-like value (JSON.parse and YAML make it
 * an own key, harmless until something copies it with `obj[key] = ...`), or undefined.
 */
export function protoKeyPath(value: unknown, path: string[] = [], depth = 0): string | undefined {
  if (depth > 64 || value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const found = protoKeyPath(v, [...path, String(i)], depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (key === '__proto__') return [...path, key].join('.');
    const found = protoKeyPath((value as Record<string, unknown>)[key], [...path, key], depth + 1);
    if (found) return found;
  }
  return undefined;
}

/**
 * A copy of a JSON-like value with every string replaced by `text(string, key)` (key: the field it
 * sits under, if any). Objects are plain (renderers print them) and filled by definition, so that
 * a `__proto__` key that a container wrote into its JSON stays a key and never becomes the copy's
 * prototype. Past 64 levels a value is kept as it is.
 */
export function mapStrings(value: unknown, text: (s: string, key: string | undefined) => unknown, key?: string, depth = 0): unknown {
  if (typeof value === 'string') return text(value, key);
  if (depth > 64 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, text, key, depth + 1));
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value)) {
    const v = mapStrings((value as Record<string, unknown>)[k], text, k, depth + 1);
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}
