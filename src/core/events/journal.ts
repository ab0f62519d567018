import { closeSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { appendFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { isEventType, type StreamEvent } from './types.js';

/** The journal file grows to this, then becomes events.1.jsonl (the one before is dropped). */
export const JOURNAL_MAX_BYTES = 1024 * 1024;

const CURRENT = 'events.jsonl';
const PREVIOUS = 'events.1.jsonl';

/**
 * The stream's recent history on disk, in the data folder: JSON lines, rotated at maxBytes, so at
 * most two files of that size. A restarted server reads it back and numbers on from the last seq.
 * One process writes it at a time (a lock beside it): a second server on the same data folder
 * keeps its stream in memory only.
 */
export class Journal {
  #size = 0;
  #pending: string[] = [];
  #flushing: Promise<void> = Promise.resolve();
  #scheduled = false;
  #broken = false;

  private constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
    private readonly release: () => Promise<void>,
    private readonly onError: (err: unknown) => void,
  ) {
    try {
      this.#size = statSync(join(dir, CURRENT)).size;
    } catch {
      this.#size = 0;
    }
  }

  /**
   * Take the journal of `dir` and read back its last `keep` events; `journal` is undefined when
   * another process holds it (then nothing is read: its numbers are that process's).
   */
  static async open(
    dir: string,
    keep: number,
    opts: { maxBytes?: number; onError?: (err: unknown) => void } = {},
  ): Promise<{ journal?: Journal; history: StreamEvent[]; why?: string }> {
    const maxBytes = opts.maxBytes ?? JOURNAL_MAX_BYTES;
    const onError = opts.onError ?? (() => {});
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    let release: () => Promise<void>;
    let journal: Journal | undefined;
    try {
      release = await lockfile.lock(join(dir, CURRENT), {
        realpath: false,
        lockfilePath: join(dir, 'events.lock'),
        stale: 30_000,
        update: 10_000,
        retries: 0,
        // Another process took it over (this one hung past `stale`): stop writing, never throw.
        onCompromised: (err) => {
          if (journal) journal.#broken = true;
          onError(err);
        },
      });
    } catch (err) {
      return { history: [], why: `the event journal in ${dir} is held by another process (${(err as Error).message})` };
    }
    const history = [PREVIOUS, CURRENT].flatMap((f) => readLines(join(dir, f), 2 * maxBytes));
    const rising: StreamEvent[] = [];
    for (const e of history) if (!rising.length || e.seq > (rising[rising.length - 1] as StreamEvent).seq) rising.push(e);
    journal = new Journal(dir, maxBytes, release, onError);
    return { journal, history: rising.slice(-keep) };
  }

  append(e: StreamEvent): void {
    if (this.#broken) return;
    this.#pending.push(`${JSON.stringify(e)}\n`);
    if (this.#scheduled) return;
    this.#scheduled = true;
    // Lines heard in the same turn go out in one write; writes stay in order.
    setImmediate(() => {
      this.#scheduled = false;
      this.#flushing = this.#flushing.then(() => this.#flush());
    });
  }

  async #flush(): Promise<void> {
    if (this.#pending.length === 0 || this.#broken) return;
    const lines = this.#pending;
    this.#pending = [];
    try {
      // Line by line into chunks, so that no file grows past maxBytes (but by one line longer than it).
      let chunk = '';
      let bytes = 0;
      for (const line of lines) {
        const n = Buffer.byteLength(line);
        if (this.#size + bytes + n > this.maxBytes && this.#size + bytes > 0) {
          if (chunk) await appendFile(join(this.dir, CURRENT), chunk, { mode: 0o600 });
          await rename(join(this.dir, CURRENT), join(this.dir, PREVIOUS));
          this.#size = 0;
          chunk = '';
          bytes = 0;
        }
        chunk += line;
        bytes += n;
      }
      if (chunk) await appendFile(join(this.dir, CURRENT), chunk, { mode: 0o600 });
      this.#size += bytes;
    } catch (err) {
      this.onError(err);
      // The file may have moved under us: learn its size again.
      this.#size = await stat(join(this.dir, CURRENT)).then(
        (s) => s.size,
        () => 0,
      );
    }
  }

  /** Write what is queued and let another process take the journal. */
  async close(): Promise<void> {
    await new Promise((r) => setImmediate(r));
    await this.#flushing;
    await this.#flush();
    this.#broken = true;
    await this.release().catch(() => undefined);
  }
}

/** The events of one journal file, its last `maxBytes` only; damaged or foreign lines are skipped. */
function readLines(file: string, maxBytes: number): StreamEvent[] {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return [];
  }
  try {
    const size = statSync(file).size;
    const len = Math.min(size, maxBytes);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    const lines = buf.toString('utf8').split('\n');
    if (size > len) lines.shift(); // cut mid-line
    const out: StreamEvent[] = [];
    for (const line of lines) {
      const e = parseEvent(line);
      if (e) out.push(e);
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

export function parseEvent(line: string): StreamEvent | undefined {
  if (!line.trim()) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!v || typeof v !== 'object') return undefined;
  const e = v as Record<string, unknown>;
  if (!Number.isSafeInteger(e.seq) || (e.seq as number) < 1 || typeof e.time !== 'string' || !isEventType(e.type)) return undefined;
  if (!e.detail || typeof e.detail !== 'object' || Array.isArray(e.detail)) return undefined;
  for (const k of ['topology', 'node', 'engine'] as const) if (e[k] !== undefined && typeof e[k] !== 'string') return undefined;
  return {
    seq: e.seq as number,
    time: e.time,
    type: e.type,
    ...(e.topology !== undefined ? { topology: e.topology as string } : {}),
    ...(e.node !== undefined ? { node: e.node as string } : {}),
    ...(e.engine !== undefined ? { engine: e.engine as string } : {}),
    detail: e.detail as Record<string, unknown>,
  };
}
