/**
 * Kept readers: one long-lived `docker exec` of the image's `nslab-reader` per container
 * (images/common/nslab-reader), which runs argv on request and answers length-framed on the same
 * stream. Reading 100 daemons' states again then costs no new exec each (dockerd, containerd and
 * runc spend ~40 ms of CPU on every exec, and FRR's vtysh ~70 ms more, which the reader skips by
 * asking bgpd's vty socket itself): what lets `topology_status` of a 200-container lab answer in
 * well under a second once its readers are open.
 *
 * A reader is opened on first use, serves one request at a time, and is closed after
 * READER_IDLE_MS without use (its process ends when its stdin closes, also when this server
 * dies). Anything that goes wrong (no reader in the image, a container that stopped, an answer
 * that breaks the framing or its bounds, a deadline) closes it, and the caller runs a one-shot
 * exec instead: a reader never changes what a command answers, only what it costs.
 */
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import type { ExecOptions, ExecResult } from './exec.js';
import { DEFAULT_EXEC_TIMEOUT_S, DEFAULT_MAX_OUTPUT } from './exec.js';
import { Kept } from './kept.js';

export const READER_PATH = '/usr/local/bin/nslab-reader';
/** a reader unused this long is closed (and its process ends) */
export const READER_IDLE_MS = 300_000;
/** at most this many readers per engine; beyond them, one-shot execs */
export const MAX_READERS = 1_000;
/** Docker's frames of the reader's output are at most this big (perl writes in far smaller pieces) */
const MAX_FRAME = 64 * 1024 * 1024;
/** the answer's first line: five numbers */
const MAX_HEADER = 64;

/** The reader could not answer (gone, broken framing): run the command some other way. */
export class ReaderUnavailable extends Error {}
/** The reader did not answer by the command's deadline (plus 5 s): the command counts as timed out. */
export class ReaderTimedOut extends ReaderUnavailable {}

interface Pending {
  max: number;
  resolve: (r: ExecResult) => void;
  reject: (e: Error) => void;
}

export type Socketish = Duplex & { ref?: () => void; unref?: () => void };

/** Encode argv for the reader: its arguments NUL-separated, as hex (no byte of it can end the line). */
export function encodeRequest(opts: ExecOptions): string {
  const timeoutS = Math.min(9999, Math.max(1, Math.ceil(opts.timeoutS ?? DEFAULT_EXEC_TIMEOUT_S)));
  const max = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
  return `${timeoutS} ${max} ${Buffer.from(opts.command.join('\0'), 'utf8').toString('hex')}\n`;
}

/**
 * Bytes received and not read yet, kept as the chunks they came in: joined once when read, not
 * on every chunk (an 8 MiB route table arrives in ~128 chunks).
 */
class Bytes {
  #chunks: Buffer[] = [];
  length = 0;

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.length += chunk.length;
  }

  /** the first `n` bytes (at most what there is), left in place */
  peek(n: number): Buffer {
    const first = this.#chunks[0];
    if (first && first.length >= n) return first.subarray(0, n);
    const all = Buffer.concat(this.#chunks);
    this.#chunks = all.length ? [all] : [];
    return all.subarray(0, n);
  }

  /** the first `n` bytes, removed (n <= length) */
  take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const out = this.peek(n);
    const first = this.#chunks[0] as Buffer;
    if (first.length === n) this.#chunks.shift();
    else this.#chunks[0] = first.subarray(n);
    this.length -= n;
    return out;
  }
}

/**
 * Docker's multiplexed exec stream (no TTY): 8-byte frame headers (1 stdout, 2 stderr), then the
 * payload. What the container writes: a frame bigger than MAX_FRAME is refused before it is buffered.
 */
export class DockerFrames {
  readonly #raw = new Bytes();

  /** feed bytes off the stream; returns the frames now complete */
  push(chunk: Buffer): Array<{ kind: number; payload: Buffer }> {
    this.#raw.push(chunk);
    const out: Array<{ kind: number; payload: Buffer }> = [];
    while (this.#raw.length >= 8) {
      const header = this.#raw.peek(8);
      const size = header.readUInt32BE(4);
      if (size > MAX_FRAME) throw new ReaderUnavailable('the container sent a frame larger than any answer');
      if (this.#raw.length < 8 + size) break;
      const kind = header[0] as number;
      this.#raw.take(8);
      out.push({ kind, payload: this.#raw.take(size) });
    }
    return out;
  }
}

/**
 * Parses the reader's answers out of its stdout bytes: `<exit> <timed_out> <truncated> <out
 * bytes> <err bytes>\n` and then the bytes. Throws on anything else: the container wrote it.
 */
export class AnswerParser {
  readonly #buf = new Bytes();
  #head: { exit: number; timed: boolean; trunc: boolean; out: number; err: number } | undefined;

  /** feed stdout bytes; returns the answers now complete */
  push(chunk: Buffer, max: () => number): ExecResult[] {
    this.#buf.push(chunk);
    const done: ExecResult[] = [];
    for (;;) {
      if (!this.#head) {
        const nl = this.#buf.peek(MAX_HEADER + 1).indexOf(10);
        if (nl < 0) {
          if (this.#buf.length > MAX_HEADER) throw new ReaderUnavailable('the reader answered without a header line');
          return done;
        }
        const line = this.#buf
          .take(nl + 1)
          .subarray(0, nl)
          .toString('latin1');
        const m = /^(\d{1,3}) ([01]) ([01]) (\d{1,10}) (\d{1,10})$/.exec(line);
        if (!m) throw new ReaderUnavailable('the reader answered with a malformed header');
        const [out, err] = [Number(m[4]), Number(m[5])];
        if (out > max() || err > max()) throw new ReaderUnavailable('the reader answered more bytes than it was allowed');
        this.#head = { exit: Number(m[1]), timed: m[2] === '1', trunc: m[3] === '1', out, err };
      }
      const h = this.#head;
      if (this.#buf.length < h.out + h.err) return done;
      const body = this.#buf.take(h.out + h.err);
      done.push({
        exit_code: h.exit,
        stdout: body.subarray(0, h.out).toString('utf8'),
        stderr: body.subarray(h.out).toString('utf8'),
        timed_out: h.timed,
        truncated: h.trunc,
      });
      this.#head = undefined;
    }
  }
}

/** One container's reader: a hijacked exec stream, one request at a time. */
export class Reader {
  readonly #frames = new DockerFrames();
  readonly #parser = new AnswerParser();
  #pending: Pending | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  lastUsed = Date.now();
  /** answers given so far (a reader that dies before its first one: the image has none) */
  answered = 0;

  private constructor(
    private readonly stream: Socketish,
    private readonly onClose: () => void,
  ) {
    stream.on('data', (c: Buffer) => this.#onData(c));
    const end = () => this.close(new ReaderUnavailable('the reader ended'));
    stream.on('end', end);
    stream.on('close', end);
    stream.on('error', end);
    stream.unref?.();
  }

  /** Start the image's reader in the container; undefined when the stream cannot be kept (no unref: it would hold a CLI open). */
  static async open(container: Docker.Container, onClose: () => void): Promise<Reader | undefined> {
    const exec = await container.exec({ Cmd: [READER_PATH], AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: false });
    const stream = (await exec.start({ hijack: true, stdin: true })) as unknown as Socketish;
    if (typeof stream.unref !== 'function' || typeof stream.ref !== 'function') {
      stream.destroy();
      return undefined;
    }
    return new Reader(stream, onClose);
  }

  /** A reader over a stream already open (Docker's multiplexed frames in, requests out). */
  static over(stream: Socketish, onClose: () => void): Reader {
    return new Reader(stream, onClose);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Run argv through the reader; rejects with ReaderUnavailable when it cannot answer. */
  run(opts: ExecOptions): Promise<ExecResult> {
    const next = this.#queue.then(() => this.#one(opts));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  #one(opts: ExecOptions): Promise<ExecResult> {
    if (this.#closed) return Promise.reject(new ReaderUnavailable('the reader is closed'));
    this.lastUsed = Date.now();
    const timeoutS = opts.timeoutS ?? DEFAULT_EXEC_TIMEOUT_S;
    return new Promise<ExecResult>((resolve, reject) => {
      const timer = setTimeout(
        () => {
          // the reader kills the command at its timeout; an answer that still does not come means the reader is stuck
          this.close(new ReaderTimedOut(`no answer within ${timeoutS + 5} s`));
        },
        (timeoutS + 5) * 1000,
      );
      this.#pending = {
        max: opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.stream.ref?.();
      this.stream.write(encodeRequest(opts));
    });
  }

  #onData(chunk: Buffer): void {
    let frames: Array<{ kind: number; payload: Buffer }>;
    try {
      frames = this.#frames.push(chunk);
    } catch (err) {
      this.close(err as Error);
      return;
    }
    for (const { kind, payload } of frames) {
      if (kind !== 1) continue; // the reader's own stderr (perl's warnings) is not an answer
      let answers: ExecResult[];
      try {
        answers = this.#parser.push(payload, () => this.#pending?.max ?? 0);
      } catch (err) {
        this.close(err as Error);
        return;
      }
      for (const a of answers) {
        const p = this.#pending;
        if (!p) {
          this.close(new ReaderUnavailable('the reader answered what was not asked'));
          return;
        }
        this.#pending = undefined;
        this.lastUsed = Date.now();
        this.answered++;
        this.stream.unref?.();
        p.resolve(a);
      }
    }
  }

  close(why: Error = new ReaderUnavailable('the reader was closed')): void {
    if (this.#closed) return;
    this.#closed = true;
    const p = this.#pending;
    this.#pending = undefined;
    this.stream.destroy();
    this.onClose();
    p?.reject(why instanceof ReaderUnavailable ? why : new ReaderUnavailable(why.message));
  }
}

/**
 * The readers of one engine, by container id: opened on first use, closed when idle, and
 * remembered as missing for a container whose image has none (then one-shot execs).
 */
export class ReaderPool {
  readonly #kept = new Kept<Reader>(MAX_READERS, READER_IDLE_MS);

  constructor(private readonly container: (id: string) => Docker.Container) {}

  get size(): number {
    return this.#kept.size;
  }

  /**
   * Run argv through the container's reader; `fallback` (a one-shot exec) when the container has
   * none or it could not answer. A command that ran and failed is an answer, not a fallback.
   */
  async run(id: string, opts: ExecOptions, fallback: () => Promise<ExecResult>): Promise<ExecResult> {
    if (this.#kept.skipped(id)) return fallback();
    let opened = false;
    const reader = await this.#kept.get(id, async () => {
      opened = true;
      let r: Reader | undefined;
      r = await Reader.open(this.container(id), () => r && this.#kept.forget(id, r));
      return r;
    });
    if (!reader) {
      // its reader did not start: a minute without (a restarting container gets another chance)
      if (opened) this.#kept.skip(id, 60_000);
      return fallback();
    }
    try {
      return await reader.run(opts);
    } catch (err) {
      if (err instanceof ReaderTimedOut) {
        return { exit_code: 137, stdout: '', stderr: `${opts.command[0]}: ${err.message}\n`, timed_out: true, truncated: false };
      }
      if (!(err instanceof ReaderUnavailable)) throw err;
      // a reader that died before its first answer: the image has none (or it cannot run there)
      if (reader.answered === 0) this.#kept.skip(id, 60_000);
      return fallback();
    }
  }

  /** Close one container's reader, if it has one open. */
  close(id: string): void {
    this.#kept.close((key) => key === id);
  }

  /** Close every reader (their processes end). */
  closeAll(): void {
    this.#kept.closeAll();
  }
}
