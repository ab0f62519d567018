/**
 * Snapshots on disk: `<data>/snapshots/<topology>/<id>.json`, one file each, written atomically
 * and 0600 (they hold the sessions' MD5 passwords), at most SNAPSHOT_LIMITS.perTopology per
 * topology. A path is only ever joined from a topology name and an id that passed their regexes
 * here, whatever the caller checked before.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { invalid, LabError } from '../errors.js';
import { NeighborRecord, OwnRecord } from '../store/schema.js';
import { writeAtomic } from '../store/store.js';

export const SNAPSHOT_LIMITS = { perTopology: 50, labelChars: 100 } as const;

/** `20261206-231500-ab12`: the time it was taken (UTC) and 16 random bits. */
export const SNAPSHOT_ID = /^\d{8}-\d{6}-[0-9a-f]{4}$/;
/** The same rule as spec.ts TopologyName, checked again here before any path is built from it. */
const TOPOLOGY_DIR = /^[a-z0-9][a-z0-9-]{0,29}$/;

export const SnapshotId = z
  .string()
  .regex(SNAPSHOT_ID, 'must be a snapshot id like 20261206-231500-ab12 (topology_snapshot_list shows them)')
  .describe('a snapshot id, as topology_snapshot and topology_snapshot_list give it');

export const SnapshotLabel = z
  .string()
  .max(SNAPSHOT_LIMITS.labelChars)
  .regex(/^[^\p{C}]*$/u, 'must be plain text on one line (no control or format characters)')
  .describe(`a few words to recognise it by (at most ${SNAPSHOT_LIMITS.labelChars} characters)`);

/** One node as it was: what its record held that the file alone does not say. */
export const SnapshotNode = z.object({
  name: z.string(),
  role: z.enum(['daemon', 'host']),
  kind: z.string(),
  container_id: z.string().optional(),
  asn: z.number().int().optional(),
  neighbors: z.array(NeighborRecord).optional(),
  advertise: z.array(z.string()).optional(),
  route_server: z.boolean().optional(),
  own: OwnRecord.optional(),
});
export type SnapshotNode = z.infer<typeof SnapshotNode>;

export const SnapshotFile = z.object({
  version: z.literal(1),
  id: z.string().regex(SNAPSHOT_ID),
  topology: z.string().regex(TOPOLOGY_DIR),
  label: z.string().optional(),
  created_at: z.string(),
  /** whether the lab was stood up when it was taken */
  deployed: z.boolean(),
  /** the topology's file as stored */
  file: z.object({ spec: z.record(z.string(), z.unknown()), yaml: z.string().optional() }),
  nodes: z.array(SnapshotNode),
  /** daemons whose peers or prefixes differed from the file when it was taken */
  changed: z.array(z.string()).optional(),
});
export type SnapshotFile = z.infer<typeof SnapshotFile>;

const checkTopology = (name: string, field = 'name'): string => {
  if (!TOPOLOGY_DIR.test(name)) throw invalid(field, 'must be a topology name (lower-case letters, digits and "-", at most 30)');
  return name;
};
const checkId = (id: string, field = 'snapshot'): string => {
  if (!SNAPSHOT_ID.test(id)) throw invalid(field, 'must be a snapshot id like 20261206-231500-ab12');
  return id;
};

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** A new id for `at` (random part: 4 hex digits). */
export function newSnapshotId(at: Date): string {
  const d = `${at.getUTCFullYear()}${pad(at.getUTCMonth() + 1)}${pad(at.getUTCDate())}`;
  const t = `${pad(at.getUTCHours())}${pad(at.getUTCMinutes())}${pad(at.getUTCSeconds())}`;
  return `${d}-${t}-${randomBytes(2).toString('hex')}`;
}

const newestFirst = (a: SnapshotFile, b: SnapshotFile) => b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id);

export class SnapshotFiles {
  readonly root: string;

  constructor(dataDir: string) {
    this.root = join(dataDir, 'snapshots');
  }

  #dir(topology: string): string {
    return join(this.root, checkTopology(topology));
  }

  #path(topology: string, id: string): string {
    return join(this.#dir(topology), `${checkId(id)}.json`);
  }

  /** Write a new snapshot; drop the oldest beyond the limit and return their ids. */
  async write(snap: SnapshotFile): Promise<{ dropped: string[] }> {
    const dir = this.#dir(snap.topology);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeAtomic(this.#path(snap.topology, snap.id), `${JSON.stringify(snap, null, 2)}\n`);
    const all = (await this.list(snap.topology)).snapshots;
    const dropped = all.slice(SNAPSHOT_LIMITS.perTopology).filter((s) => s.id !== snap.id);
    for (const s of dropped) await unlink(this.#path(s.topology, s.id)).catch(() => undefined);
    return { dropped: dropped.map((s) => s.id) };
  }

  /** Whether an id is free under a topology (ids carry 16 random bits per second). */
  async free(topology: string, id: string): Promise<boolean> {
    return (await this.read(topology, id)) === undefined;
  }

  /** A snapshot, or undefined when there is no file of that id (a damaged file is an error naming it). */
  async read(topology: string, id: string): Promise<SnapshotFile | undefined> {
    const path = this.#path(topology, id);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    return parseSnapshot(text, path);
  }

  /** The topologies that have a snapshot of this id (to tell "of another topology" from "unknown"). */
  async holders(id: string): Promise<string[]> {
    checkId(id);
    const out: string[] = [];
    for (const t of await this.topologies()) if (await this.read(t, id).catch(() => undefined)) out.push(t);
    return out;
  }

  /** Topology folders present (names that pass the rule only). */
  async topologies(): Promise<string[]> {
    const names = await readdir(this.root).catch(() => [] as string[]);
    return names.filter((n) => TOPOLOGY_DIR.test(n)).sort();
  }

  /** Snapshots of one topology (or all), newest first; files that do not parse are named in `unreadable`. */
  async list(topology?: string): Promise<{ snapshots: SnapshotFile[]; unreadable: string[] }> {
    const topologies = topology !== undefined ? [checkTopology(topology)] : await this.topologies();
    const snapshots: SnapshotFile[] = [];
    const unreadable: string[] = [];
    for (const t of topologies) {
      const files = await readdir(this.#dir(t)).catch(() => [] as string[]);
      for (const f of files) {
        const id = f.endsWith('.json') ? f.slice(0, -5) : '';
        if (!SNAPSHOT_ID.test(id)) continue;
        try {
          const s = await this.read(t, id);
          if (s) snapshots.push(s);
        } catch {
          unreadable.push(`${t}/${f}`);
        }
      }
    }
    return { snapshots: snapshots.sort(newestFirst), unreadable };
  }
}

function parseSnapshot(text: string, path: string): SnapshotFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new LabError('STORE_ERROR', `the snapshot ${path} is not valid JSON: ${(err as Error).message}`);
  }
  const r = SnapshotFile.safeParse(raw);
  if (!r.success) {
    const first = r.error.issues[0];
    throw new LabError('STORE_ERROR', `the snapshot ${path} is damaged: ${first?.path.join('.') || '(file)'}: ${first?.message ?? ''}`);
  }
  return r.data;
}
