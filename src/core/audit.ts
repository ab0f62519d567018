/**
 * The audit log: one JSON line per call that changes anything (or was refused), appended to
 * audit.jsonl in the data folder: when, which front end and caller, which tool, its arguments with
 * secrets redacted, the outcome and how long it took. Append-only; audit_list reads it back.
 */
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

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

const SECRET_KEYS = /^(password|secret|token|auth[-_]?password|md5[-_]?password)$/i;
/** Bytes read from the end of the log by audit_list: the most recent entries. */
const TAIL_BYTES = 4 * 1024 * 1024;

/** A copy of `value` with secrets replaced: keys that name one, and `password: x` lines in YAML text. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 20) return '[too deep]';
  if (typeof value === 'string') {
    const clipped = value.length > 4096 ? `${value.slice(0, 4096)}... (${value.length} characters)` : value;
    return clipped.replace(/(\bpassword\s*:\s*)[^,}\n]+/gi, '$1***');
  }
  if (Array.isArray(value)) return value.slice(0, 200).map((v) => redact(v, depth + 1));
  if (value && typeof value === 'object') {
    // At most 200 keys a level, so that a huge (refused) argument cannot make a huge log line.
    const out: Record<string, unknown> = {};
    let n = 0;
    for (const k in value) {
      if (n++ === 200) {
        out['(more)'] = `${Object.keys(value).length - 200} more keys left out`;
        break;
      }
      out[k] = SECRET_KEYS.test(k) ? '***' : redact((value as Record<string, unknown>)[k], depth + 1);
    }
    return out;
  }
  return value;
}

export class AuditLog {
  readonly file: string;

  constructor(dataDir: string) {
    this.file = join(dataDir, 'audit.jsonl');
  }

  /** Append one entry; a failure to write is reported to the caller's log, never to the user. */
  async record(entry: AuditEntry): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
    const fh = await open(this.file, 'a', 0o600);
    try {
      await fh.write(`${JSON.stringify({ ...entry, args: redact(entry.args) })}\n`);
    } finally {
      await fh.close();
    }
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
