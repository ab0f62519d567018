/**
 * The audit log: one JSON line per call that changes anything (or was refused), appended to
 * audit.jsonl in the data folder: when, which front end and caller, which tool, its arguments with
 * secrets redacted, the outcome and how long it took. Append-only; audit_list reads it back.
 */
import { mkdir, open, readFile, rename, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isSecretKey, MASK, maskText, scrub, secretsIn } from './secrets.js';

export interface Caller {
  /** mcp-stdio, mcp-http, rest, cli, slack, ... */
  front_end: string;
  /** who, where the front end knows (a Slack user, an HTTP client) */
  id?: string | undefined;
}

export interface AuditEntry {
  at: string;
  front_end: string;
  caller?: string | undefined;
  tool: string;
  args: unknown;
  ok: boolean;
  /** the error code when the call failed */
  error?: string | undefined;
  message?: string | undefined;
  duration_ms: number;
}

/** Bytes read from the end of the log by audit_list: the most recent entries. */
const TAIL_BYTES = 4 * 1024 * 1024;
/** One entry's line at most, and the log's size before it starts again. */
const MAX_LINE = 16 * 1024;
const MAX_FILE = 32 * 1024 * 1024;

/**
 * A copy of `value` fit for the log: secrets masked (src/core/secrets.ts decides what they are),
 * long strings clipped and at most 200 keys or items a level, so that a huge (refused) argument
 * cannot make a huge log line.
 */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 20) return '[too deep]';
  if (typeof value === 'string') {
    return maskText(value.length > 4096 ? `${value.slice(0, 4096)}... (${value.length} characters)` : value);
  }
  if (Array.isArray(value)) return value.slice(0, 200).map((v) => redact(v, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = Object.create(null);
    const keys = Object.keys(value);
    for (const k of keys.slice(0, 200)) {
      const v = (value as Record<string, unknown>)[k];
      out[k] = isSecretKey(k) && typeof v === 'string' ? MASK : redact(v, depth + 1);
    }
    if (keys.length > 200) out['(more)'] = `${keys.length - 200} more keys left out`;
    return out;
  }
  return value;
}

export class AuditLog {
  readonly file: string;

  constructor(
    dataDir: string,
    private readonly limits = { line: MAX_LINE, file: MAX_FILE },
  ) {
    this.file = join(dataDir, 'audit.jsonl');
  }

  /** Append one entry; a failure to write is reported to the caller's log, never to the user. */
  async record(entry: AuditEntry): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
    const message = entry.message === undefined ? {} : { message: scrub(entry.message, secretsIn(entry.args)) };
    let line = JSON.stringify({ ...entry, ...message, args: redact(entry.args) });
    if (line.length > this.limits.line) {
      // A huge (refused) argument is summarised: every caller can write here, so no line is big.
      line = JSON.stringify({ ...entry, ...message, args: `(${line.length} characters of arguments left out)` });
    }
    await this.#rotate();
    const fh = await open(this.file, 'a', 0o600);
    try {
      await fh.write(`${line}\n`);
    } finally {
      await fh.close();
    }
  }

  /**
   * Past its size limit the log starts again, the old one kept as audit.jsonl.1: a caller who
   * repeats refused calls all day fills at most twice that on disk.
   */
  async #rotate(): Promise<void> {
    const size = await stat(this.file).then(
      (s) => s.size,
      () => 0,
    );
    if (size >= this.limits.file) await rename(this.file, `${this.file}.1`).catch(() => undefined);
  }

  /** The newest entries first, filtered. */
  async list(filter: {
    tool?: string | undefined;
    ok?: boolean | undefined;
    since?: string | undefined;
    limit?: number | undefined;
  }): Promise<AuditEntry[]> {
    let text: string;
    try {
      const size = (await stat(this.file)).size;
      if (size > TAIL_BYTES) {
        const fh = await open(this.file, 'r');
        try {
          const buf = Buffer.alloc(TAIL_BYTES);
          await fh.read(buf, 0, TAIL_BYTES, size - TAIL_BYTES);
          text = buf.toString('utf8').slice(buf.indexOf(10) + 1);
        } finally {
          await fh.close();
        }
      } else text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: AuditEntry[] = [];
    const lines = text.split('\n');
    for (let i = lines.length - 1; i >= 0 && out.length < (filter.limit ?? 50); i--) {
      const line = lines[i];
      if (!line) continue;
      let e: AuditEntry;
      try {
        e = JSON.parse(line) as AuditEntry;
      } catch {
        continue; // a line cut by a crash mid-write
      }
      if (filter.tool && e.tool !== filter.tool) continue;
      if (filter.ok !== undefined && e.ok !== filter.ok) continue;
      if (filter.since && e.at < filter.since) continue;
      out.push(e);
    }
    return out;
  }
}
