/**
 * Reading a containerlab file: bounded (size, aliases, counts checked before any work) and with
 * field-path errors. Values are read through small typed getters that name the field they read.
 */
import { posix } from 'node:path';
import { isScalar, isMap as isYamlMap, parseDocument, visit } from 'yaml';
import type { FieldIssue, LabError } from '../errors.js';
import { bareMap } from '../keys.js';
import { invalidInput } from '../validation.js';

export const CLAB_LIMITS = { yamlBytes: 1_000_000, aliases: 100, nodes: 1000, links: 2000, files: 500, fileBytes: 262_144 } as const;

export type RawMap = Record<string, unknown>;

export const refuse = (path: string, message: string): LabError => invalidInput('containerlab topology', [{ path, message }]);
export const refuseAll = (issues: FieldIssue[]): LabError => invalidInput('containerlab topology', issues);

export const isMap = (v: unknown): v is RawMap => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An own entry of a parsed map (YAML makes `__proto__` an own key; nothing inherited is read). */
export const entry = (m: RawMap | undefined, key: string): unknown => (m && Object.hasOwn(m, key) ? m[key] : undefined);

/** A scalar field as text (YAML may read `1` or `true` where containerlab reads a string). */
export function str(v: unknown, path: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw refuse(path, 'must be a string');
}

export function strList(v: unknown, path: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw refuse(path, 'must be a list of strings');
  return v.map((x, i) => {
    const s = str(x, `${path}.${i}`);
    if (s === undefined) throw refuse(`${path}.${i}`, 'must be a string');
    return s;
  });
}

export function mapOf(v: unknown, path: string): RawMap | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isMap(v)) throw refuse(path, 'must be a mapping');
  return v;
}

export interface ParsedClab {
  root: RawMap;
  topology: RawMap;
  nodes: RawMap;
  links: unknown[];
}

/** Parse and shape-check the file; counts are checked before anything looks at an entry. */
export function parseClab(text: string): ParsedClab {
  if (Buffer.byteLength(text) > CLAB_LIMITS.yamlBytes) throw refuse('yaml', `is larger than ${CLAB_LIMITS.yamlBytes} bytes`);
  let root: unknown;
  try {
    // The library's own duplicate-key check is quadratic in a map's size; ours (below) is linear.
    const doc = parseDocument(text, { uniqueKeys: false, merge: true, logLevel: 'error' });
    const first = doc.errors[0];
    if (first) throw first;
    const dup = duplicateKey(doc);
    if (dup) throw new Error(`the key ${dup} appears twice in one mapping`);
    // Aliases are capped: a "billion laughs" file fails here, before it can expand.
    root = doc.toJS({ maxAliasCount: CLAB_LIMITS.aliases });
  } catch (err) {
    throw refuse('yaml', `is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!isMap(root)) throw refuse('yaml', 'must be a mapping with name and topology.nodes (a containerlab .clab.yml file)');
  const topology = mapOf(entry(root, 'topology'), 'topology');
  if (!topology) throw refuse('topology', 'is required: a containerlab file has topology.nodes');
  const nodes = mapOf(entry(topology, 'nodes'), 'topology.nodes');
  if (!nodes || Object.keys(nodes).length === 0) throw refuse('topology.nodes', 'is required: give at least one node');
  const count = Object.keys(nodes).length;
  if (count > CLAB_LIMITS.nodes) throw refuse('topology.nodes', `at most ${CLAB_LIMITS.nodes} nodes (${count} given)`);
  const rawLinks = entry(topology, 'links');
  if (rawLinks !== undefined && rawLinks !== null && !Array.isArray(rawLinks)) throw refuse('topology.links', 'must be a list');
  const links = (rawLinks ?? []) as unknown[];
  if (links.length > CLAB_LIMITS.links) throw refuse('topology.links', `at most ${CLAB_LIMITS.links} links (${links.length} given)`);
  return { root, topology, nodes, links };
}

/** A key written twice in one mapping (YAML says keys are unique; containerlab refuses such a file), if any. */
function duplicateKey(doc: ReturnType<typeof parseDocument>): string | undefined {
  let found: string | undefined;
  visit(doc, {
    Map(_, map) {
      if (!isYamlMap(map)) return undefined;
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        const key = isScalar(pair.key) ? pair.key.value : pair.key;
        if (key === '<<' || typeof key === 'object') continue;
        if (seen.has(key)) {
          found = String(key).slice(0, 64);
          return visit.BREAK;
        }
        seen.add(key);
      }
      return undefined;
    },
  });
  return found;
}

/** A path inside the lab's folder, normalised (no leading './', no trailing '/'), or undefined when it leaves it. */
export function labPath(p: string): string | undefined {
  if (p.startsWith('/') || p.startsWith('~') || /^[A-Za-z]:[\\/]/.test(p) || p.includes('\0')) return undefined;
  const n = posix.normalize(p).replace(/\/+$/, '');
  if (n === '..' || n.startsWith('../')) return undefined;
  return n === '' ? '.' : n;
}

/** The bound files, checked (count, size) and keyed by their normalised path on a map with no prototype. */
export function labFiles(files: Record<string, string> | undefined, warn: (w: string) => void): Record<string, string> {
  const out = bareMap<string>();
  if (!files) return out;
  const keys = Object.keys(files);
  if (keys.length > CLAB_LIMITS.files) throw refuse('files', `at most ${CLAB_LIMITS.files} files (${keys.length} given)`);
  for (const key of keys) {
    const text = files[key];
    if (typeof text !== 'string') throw refuse(`files.${key}`, 'must be the text of the file');
    if (Buffer.byteLength(text) > CLAB_LIMITS.fileBytes) throw refuse(`files.${key}`, `is larger than ${CLAB_LIMITS.fileBytes} bytes`);
    const path = labPath(key);
    if (path === undefined || path === '.') {
      warn(`files.${key}: is outside the lab's folder; ignored`);
      continue;
    }
    out[path] = text;
  }
  return out;
}
