import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type ssh2 from 'ssh2';

/** Output of the remote command kept for a failure message. */
const STDERR_KEEP = 600;

/**
 * One HTTP connection to a remote engine: the stdio of `docker system dial-stdio` on an SSH
 * channel, with the net.Socket methods Node's HTTP client and agent call (they act on the channel's
 * own TCP connection, one per channel: unref'd while idle, it keeps no CLI running).
 * Its end is held back until the remote command's exit status is known: when `docker` is missing
 * there or may not reach its engine, a request fails with what it said on stderr, not with
 * "socket hang up".
 */
export class DialStdio extends Duplex {
  /** undefined while the command runs; null when it ended without a status (a signal) */
  #code: number | null | undefined;
  #eof = false;
  #closed = false;
  #said = '';

  constructor(
    private readonly channel: ssh2.ClientChannel,
    private readonly tcp: Socket,
    private readonly failure: (code: number, said: string) => Error,
  ) {
    // As a net.Socket: once the remote end is read, the rest closes by itself (also while idle).
    super({ allowHalfOpen: false });
    channel.on('data', (d: Buffer) => {
      if (!this.push(d)) channel.pause();
    });
    channel.stderr.on('data', (d: Buffer) => {
      if (this.#said.length < STDERR_KEEP) this.#said += d.toString('utf8');
    });
    channel.once('exit', (code: unknown) => {
      this.#code = typeof code === 'number' ? code : null;
      this.#settle();
    });
    channel.once('end', () => {
      this.#eof = true;
      this.#settle();
    });
    channel.once('close', () => {
      this.#closed = this.#eof = true;
      this.#code ??= null;
      this.#settle();
    });
    channel.on('error', (err: Error) => this.destroy(err));
    tcp.on('timeout', () => this.emit('timeout'));
  }

  #settle(): void {
    if (!this.#eof || this.#code === undefined || this.readableEnded || this.destroyed) return;
    if (this.#code !== null && this.#code !== 0) this.destroy(this.failure(this.#code, this.#said.trim().slice(0, STDERR_KEEP)));
    else this.push(null);
  }

  override _read(): void {
    this.channel.resume();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.channel.write(chunk, encoding, done);
  }

  override _final(done: () => void): void {
    if (!this.#closed) this.channel.end();
    done();
  }

  override _destroy(err: Error | null, done: (err: Error | null) => void): void {
    if (!this.#closed) this.channel.destroy();
    done(err);
  }

  ref(): this {
    this.tcp.ref();
    return this;
  }

  unref(): this {
    this.tcp.unref();
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  setTimeout(ms: number, cb?: () => void): this {
    this.tcp.setTimeout(ms);
    if (cb) this.once('timeout', cb);
    return this;
  }
}
