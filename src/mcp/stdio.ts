import process from 'node:process';
import type { Readable, Writable } from 'node:stream';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { type JSONRPCMessage, JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';

/**
 * Longest line (one JSON-RPC message) read on stdio. The largest valid request is host_exec with
 * 1 MiB of input (LIMITS.execBytes), which JSON escaping can make 6 MiB (\u0001 per byte); 8 MiB
 * keeps every valid request, and arguments up to 8 MB still reach the tool's own refusal.
 */
export const MAX_LINE_BYTES = 8 * 1024 * 1024;
/** Bytes kept from each end of an oversized line to find its request id. */
const EDGE_BYTES = 4096;

export type Line = { text: string } | { oversized: number; head: string; tail: string };

/**
 * Splits a byte stream into lines. Bytes are joined before decoding, so a UTF-8 character split
 * across chunks stays whole. A line over the limit is not kept: only its length and its first and
 * last few KB, so memory stays bounded whatever a client sends.
 */
export class LineSplitter {
  #parts: Buffer[] = [];
  #size = 0;
  #head: Buffer | undefined; // set while an oversized line is being skipped
  #tail: Buffer = Buffer.alloc(0);

  constructor(private readonly max = MAX_LINE_BYTES) {}

  push(chunk: Buffer): Line[] {
    const lines: Line[] = [];
    let start = 0;
    while (start <= chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      const piece = chunk.subarray(start, nl === -1 ? chunk.length : nl);
      this.#take(piece);
      if (nl === -1) break;
      lines.push(this.#finish());
      start = nl + 1;
    }
    return lines;
  }

  #take(piece: Buffer): void {
    this.#size += piece.length;
    if (this.#head) {
      this.#tail = lastBytes([this.#tail, piece]);
      return;
    }
    if (piece.length > 0) this.#parts.push(piece);
    // +1: a CR before the newline is not part of the message. Past the limit, keep the edges only.
    if (this.#size > this.max + 1) {
      this.#head = Buffer.concat(this.#parts, Math.min(this.#size, EDGE_BYTES));
      this.#tail = lastBytes(this.#parts);
      this.#parts = [];
    }
  }

  #finish(): Line {
    let line: Line;
    if (this.#head) {
      const tail = withoutCr(this.#tail);
      const size = this.#size - (this.#tail.length - tail.length);
      line = { oversized: size, head: this.#head.subarray(0, size).toString('utf8'), tail: tail.toString('utf8') };
    } else {
      const bytes = withoutCr(Buffer.concat(this.#parts));
      line =
        bytes.length > this.max
          ? { oversized: bytes.length, head: bytes.subarray(0, EDGE_BYTES).toString('utf8'), tail: lastBytes([bytes]).toString('utf8') }
          : { text: bytes.toString('utf8') };
    }
    this.#size = 0;
    this.#parts = [];
    this.#head = undefined;
    this.#tail = Buffer.alloc(0);
    return line;
  }
}

const withoutCr = (b: Buffer): Buffer => (b.at(-1) === 0x0d ? b.subarray(0, -1) : b);

/** The last EDGE_BYTES of a list of buffers, copied so that the big buffers they come from can be freed. */
function lastBytes(list: Buffer[]): Buffer {
  const out: Buffer[] = [];
  let n = 0;
  for (let i = list.length - 1; i >= 0 && n < EDGE_BYTES; i -= 1) {
    const b = list[i] as Buffer;
    out.unshift(b.subarray(Math.max(0, b.length - (EDGE_BYTES - n))));
    n += out[0]?.length ?? 0;
  }
  return Buffer.concat(out);
}

type Id = string | number;
const asId = (raw: string | undefined): Id | undefined => {
  if (raw === undefined) return undefined;
  if (/^-?\d{1,15}$/.test(raw)) return Number(raw);
  return raw.startsWith('"') ? (JSON.parse(raw) as string) : undefined;
};

/** The top-level members of a JSON object's beginning, each with its raw value when it is not an object or array. */
function members(text: string): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  const token = /\s*(?:("(?:[^"\\]|\\.)*")|([{}[\]:,])|(-?\d[\d.eE+-]*|true|false|null))/y;
  let depth = 0;
  let key: string | undefined;
  let pending: string | undefined; // a key whose value comes next
  for (let m = token.exec(text); m; m = token.exec(text)) {
    const [, str, punct, prim] = m;
    if (prim !== undefined && token.lastIndex === text.length) break; // may be cut short (12 of 1234)
    if (depth === 0 && punct !== '{') return out; // not a JSON object
    if (punct === '{' || punct === '[') {
      if (depth === 1 && pending !== undefined) out.set(pending, undefined);
      pending = undefined;
      depth += 1;
    } else if (punct === '}' || punct === ']') depth -= 1;
    else if (depth !== 1) continue;
    else if (punct === ':') pending = key;
    else if (pending !== undefined && (str ?? prim) !== undefined) {
      out.set(pending, str ?? prim);
      pending = undefined;
    } else if (str !== undefined) key = JSON.parse(str) as string;
  }
  return out;
}

/**
 * The id of an oversized request, where it can be told for sure: the line must start as a request
 * (a top-level "method"), and the id is a top-level member in the first few KB or the last member
 * (the SDK's client writes it last, after the params).
 */
export function oversizedId(head: string, tail: string): Id | undefined {
  try {
    const top = members(head);
    if (!top.has('method') || top.has('result') || top.has('error')) return undefined;
    if (top.has('id')) return asId(top.get('id'));
    return asId(/,\s*"id"\s*:\s*(-?\d{1,15}|"(?:[^"\\]|\\.){0,256}")\s*\}\s*$/.exec(tail)?.[1]);
  } catch {
    return undefined; // a string with a bad escape ("\x"): no id, rather than a guess
  }
}

type Log = { warn: (fields: object, message: string) => void };

/**
 * The SDK's StdioServerTransport, with its one fault mended: the SDK drops a line over 10 MiB part
 * way and then stops reading for good (the session hangs, and stdin's end is never seen, so the
 * process never exits). Here a line that is too long, not JSON or not JSON-RPC is answered with a
 * JSON-RPC error (with its id when it can be read), logged, and the next line is read as usual.
 */
export class BoundedStdioServerTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  readonly #lines = new LineSplitter();
  #closed = false;

  constructor(
    private readonly log: Log,
    private readonly stdin: Readable = process.stdin,
    private readonly stdout: Writable = process.stdout,
  ) {}

  readonly #onData = (chunk: Buffer) => {
    for (const line of this.#lines.push(chunk)) {
      // One bad message must not cost the ones after it in the same chunk.
      try {
        this.#read(line);
      } catch (err) {
        this.onerror?.(err as Error);
      }
    }
  };
  readonly #onError = (error: Error) => this.onerror?.(error);

  async start(): Promise<void> {
    this.stdin.on('data', this.#onData);
    this.stdin.on('error', this.#onError);
  }

  #read(line: Line): void {
    if ('oversized' in line) {
      const id = oversizedId(line.head, line.tail);
      const message = `message of ${line.oversized} bytes is over the limit of ${MAX_LINE_BYTES} bytes on stdio, so it was not read: send smaller arguments`;
      this.#refuse(-32600, message, id, { bytes: line.oversized, id });
      return;
    }
    if (line.text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line.text);
    } catch (err) {
      this.#refuse(-32700, `Parse error: ${(err as Error).message}`, undefined, { bytes: Buffer.byteLength(line.text) });
      return;
    }
    const parsed = JSONRPCMessageSchema.safeParse(value);
    if (parsed.success) {
      this.onmessage?.(parsed.data);
      return;
    }
    // Answer with the id only if this is a request: a broken response's id is ours, not the client's.
    const v = value as Record<string, unknown> | null;
    const raw = typeof v === 'object' && v !== null && 'method' in v ? v.id : undefined;
    const id = typeof raw === 'string' || Number.isInteger(raw) ? (raw as Id) : undefined;
    this.#refuse(-32600, `Invalid Request: not a JSON-RPC 2.0 message (${parsed.error.issues[0]?.message ?? 'no detail'})`, id, { id });
  }

  /** Id left out when unknown, as MCP's schema has it (JSON-RPC's null would fail the SDK's client). */
  #refuse(code: number, message: string, id: Id | undefined, fields: object): void {
    this.log.warn({ ...fields, code }, `stdio: ${message}`);
    const error = { jsonrpc: '2.0' as const, ...(id === undefined ? {} : { id }), error: { code, message } };
    this.send(error as JSONRPCMessage).catch((err: Error) => this.onerror?.(err));
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve) => {
      // Wait for 'drain' when the pipe is full, so that a slow client does not grow our memory.
      if (this.stdout.write(`${JSON.stringify(message)}\n`)) resolve();
      else this.stdout.once('drain', resolve);
    });
  }

  async close(): Promise<void> {
    this.stdin.off('data', this.#onData);
    this.stdin.off('error', this.#onError);
    if (this.stdin.listenerCount('data') === 0) this.stdin.pause();
    if (this.#closed) return;
    this.#closed = true;
    this.onclose?.();
  }
}
