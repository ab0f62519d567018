import { randomUUID } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Low } from 'lowdb';
import { TextFile } from 'lowdb/node';
import lockfile from 'proper-lockfile';
import { LabError } from '../errors.js';
import { bareRecords, emptyState, STORE_VERSION, StoreState } from './schema.js';

/** lowdb adapter that refuses a file it cannot parse or validate, and never rewrites it. */
class ValidatedFile {
  readonly #file: TextFile;
  /** the text of the last read that passed validation */
  lastGood: string | undefined;
  constructor(readonly path: string) {
    this.#file = new TextFile(path);
  }

  async read(): Promise<StoreState | null> {
    let text: string | null;
    try {
      text = await this.#file.read();
    } catch (err) {
      throw storeError(this.path, `cannot read it: ${(err as Error).message}`, undefined, err);
    }
    // #init made the file before the first read: missing now means someone deleted it while this
    // process runs. Starting over from an empty store would forget the lab, so refuse.
    if (text === null) {
      throw storeError(this.path, 'it was deleted while netstream-lab was running', `${this.path}.bak`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw storeError(this.path, `it is not valid JSON (${(err as Error).message})`, undefined, err);
    }
    const version = (json as { version?: unknown } | null)?.version;
    if (typeof version === 'number' && version > STORE_VERSION) {
      throw storeError(this.path, `it was written by a newer netstream-lab (store version ${version}; this one reads ${STORE_VERSION})`);
    }
    const parsed = StoreState.safeParse(json);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      const where = first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'unknown';
      throw storeError(this.path, `it does not match the store schema (${where})`);
    }
    // Kept as the last good copy an update saves as .bak, without reading the file again.
    this.lastGood = text;
    return bareRecords(parsed.data);
  }

  async write(data: StoreState): Promise<void> {
    await writeAtomic(this.path, `${JSON.stringify(data, null, 2)}\n`);
  }
}

/**
 * A temporary file beside it, then a rename. The store holds MD5 passwords, so the temporary file
 * is created 0600 (never readable by others, not even for the moment before a chmod), and synced
 * before the rename so that a crash leaves the old file or the new one.
 */
export async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

function storeError(path: string, why: string, backup?: string, cause?: unknown): LabError {
  return new LabError('STORE_ERROR', `the store ${path} is unusable: ${why}`, {
    hint: `it was left untouched. The last good copy is ${backup ?? `${path}.bak`} (if it exists): copy it over ${path} to go back to it, or move ${path} aside to start an empty store with the same id (kept in store-id beside it) and rebuild the records of the running lab from its labels with sync_run apply`,
    cause,
  });
}

/**
 * The JSON store. Every change runs under a cross-process file lock on a fresh read, so an editor's
 * stdio server and the Slack bot can share one file without losing each other's writes.
 */
export class Store {
  readonly file: string;
  /** the store id again, beside state.json (see id()) */
  readonly idFile: string;
  readonly #adapter: ValidatedFile;
  #ready: Promise<void> | undefined;

  constructor(readonly dataDir: string) {
    this.file = join(dataDir, 'state.json');
    this.idFile = join(dataDir, 'store-id');
    this.#adapter = new ValidatedFile(this.file);
  }

  #init(): Promise<void> {
    this.#ready ??= (async () => {
      try {
        // Only its owner may read the store (it holds MD5 passwords): a folder it makes is 0700.
        const made = await mkdir(this.dataDir, { recursive: true, mode: 0o700 });
        if (made !== undefined) await chmod(this.dataDir, 0o700);
        // The lock needs an existing file; 'wx' never overwrites one that is there. A new file
        // takes the id kept beside it, if any: a lost state.json keeps its identity, so the lab's
        // labelled objects stay this store's and sync_run apply can rebuild their records.
        const id = (await this.#keptId()) ?? randomUUID();
        await writeFile(this.file, `${JSON.stringify({ ...emptyState(), id }, null, 2)}\n`, {
          flag: 'wx',
          mode: 0o600,
        }).catch((err) => {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        });
      } catch (err) {
        this.#ready = undefined;
        throw storeError(this.file, `cannot create it: ${(err as Error).message}`, undefined, err);
      }
    })();
    return this.#ready;
  }

  async #load(): Promise<Low<StoreState>> {
    const db = new Low<StoreState>(this.#adapter, emptyState());
    await db.read();
    return db;
  }

  /** The id kept in `store-id` beside state.json, if there is one. */
  async #keptId(): Promise<string | undefined> {
    let text: string;
    try {
      text = (await readFile(this.idFile, 'utf8')).trim();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    if (!/^[A-Za-z0-9-]{8,64}$/.test(text)) {
      throw storeError(this.file, `${this.idFile} does not hold a store id (8 to 64 letters, digits or dashes)`);
    }
    return text;
  }

  /**
   * This store's random id (given to a store made before ids existed on first use), also kept in
   * `store-id` beside state.json so that a lost state.json is made again with the same id. The two
   * must agree: a mismatch is refused rather than guessed.
   */
  async id(): Promise<string> {
    const s = await this.read();
    const id =
      s.id ??
      (await this.update((st) => {
        st.id ??= randomUUID();
        return st.id;
      }));
    const kept = await this.#keptId();
    if (kept === undefined) await writeFile(this.idFile, `${id}\n`, { mode: 0o600 });
    else if (kept !== id) {
      throw new LabError('STORE_ERROR', `the store ${this.file} has id ${id}, but ${this.idFile} says ${kept}`, {
        hint: `the labels of the lab's containers and networks carry the id of the store that made them. Keep the one they carry: remove ${this.idFile} to keep ${id}, or, if state.json was made new and is empty, remove it to start again with ${kept}`,
      });
    }
    return id;
  }

  /**
   * A consistent snapshot (writes are atomic renames, so no lock is needed to read). The file is
   * validated against the schema again only when it changed: every write renames a new file into
   * place, so its inode, size and times say whether this process has already checked this very
   * text. Each caller gets its own copy (callers may change what they read), made from the
   * validated data kept as JSON, which costs a JSON.parse instead of a schema check.
   */
  async read(): Promise<StoreState> {
    await this.#init();
    const key = await stat(this.file, { bigint: true }).then(
      (st) => `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`,
      () => undefined,
    );
    if (key !== undefined && key === this.#cached?.key) return bareRecords(JSON.parse(this.#cached.json) as StoreState);
    const state = (await this.#load()).data;
    this.#cached = key === undefined ? undefined : { key, json: JSON.stringify(state) };
    return state;
  }

  /** The last state read and validated, as JSON, and which file it was read from (see read()). */
  #cached: { key: string; json: string } | undefined;

  /** Run fn on a fresh copy under the lock; what it leaves in the state is written atomically. */
  async update<T>(fn: (state: StoreState) => T | Promise<T>): Promise<T> {
    await this.#init();
    let release: () => Promise<void>;
    try {
      release = await lockfile.lock(this.file, {
        retries: { retries: 200, factor: 1.2, minTimeout: 10, maxTimeout: 200 },
        stale: 15_000,
        realpath: false,
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw storeError(this.file, 'it was deleted while netstream-lab was running');
      throw new LabError('STORE_ERROR', `cannot lock the store ${this.file}: ${(err as Error).message}`, {
        hint: 'another netstream-lab process holds it; try again, or remove a stale state.json.lock',
        cause: err,
      });
    }
    try {
      const db = await this.#load();
      const result = await fn(db.data);
      // The file just read (under this lock) passed validation: it is the last good copy.
      await writeAtomic(`${this.file}.bak`, this.#adapter.lastGood ?? (await readFile(this.file, 'utf8')));
      await db.write();
      return result;
    } finally {
      await release().catch(() => undefined);
    }
  }
}
