/**
 * gRPC into a container's loopback (GoBGP's API on 127.0.0.1:50051), over one kept `docker exec`
 * of the image's reader in relay mode (`nslab-reader --relay <port>`: raw bytes between its
 * stdin/stdout and that port). Node's own HTTP/2 client runs over the relayed stream, so a read of
 * every peer (ListPeer) costs gobgpd a few hundred microseconds and no process at all, where the
 * `gobgp` CLI costs ~50-70 ms of CPU per run: what bounds reading 100 GoBGP daemons.
 *
 * Like the readers (reader.ts): opened on first use, closed after READER_IDLE_MS unused, when the
 * container is removed, or when anything goes wrong; the caller then reads the old way (the CLI),
 * and a container whose relay could not open is not tried again for ten seconds. Everything the
 * container sends is bounded: Docker's frames (DockerFrames), HTTP/2's (Node's defaults), the
 * answer's bytes (maxBytes).
 */
import http2 from 'node:http2';
import { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { Kept } from './kept.js';
import { DockerFrames, MAX_READERS, READER_IDLE_MS, READER_PATH, type Socketish } from './reader.js';

/** The relay could not give an answer (none in the image, the port refused, a broken stream, a deadline). */
export class RelayUnavailable extends Error {}
/** The API answered with a gRPC error status. */
export class GrpcStatusError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export interface GrpcCall {
  /** the port on the container's 127.0.0.1 */
  port: number;
  /** `/package.Service/Method` */
  path: string;
  /** the request message, protobuf-encoded */
  message: Uint8Array;
  timeoutMs?: number;
  /** the answer's messages, at most this many bytes in all */
  maxBytes?: number;
}

/** The messages of a gRPC answer (5-byte prefix: compressed flag, length); throws on what is not that. */
export function splitGrpcMessages(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < body.length) {
    if (body.length - at < 5) throw new RelayUnavailable('a gRPC message was cut short');
    if (body[at] !== 0) throw new RelayUnavailable('a compressed gRPC message (none was asked for)');
    const len = body.readUInt32BE(at + 1);
    if (body.length - at - 5 < len) throw new RelayUnavailable('a gRPC message was cut short');
    out.push(body.subarray(at + 5, at + 5 + len));
    at += 5 + len;
  }
  return out;
}

/** grpc-message is percent-encoded; what the container sent is kept as it is when it is not (never a throw in an event handler). */
function percentDecoded(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

/** The hijacked exec stream as the byte stream HTTP/2 runs over: Docker's stdout frames in, stdin out. */
export function relayStream(sock: Socketish): Duplex {
  const frames = new DockerFrames();
  const d = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      sock.write(chunk, cb);
    },
    final(cb) {
      sock.end();
      cb();
    },
    destroy(err, cb) {
      sock.destroy();
      cb(err);
    },
  });
  sock.on('data', (c: Buffer) => {
    try {
      for (const f of frames.push(c)) if (f.kind === 1) d.push(f.payload);
    } catch (err) {
      d.destroy(err as Error);
    }
  });
  sock.on('end', () => d.push(null));
  sock.on('close', () => d.destroy());
  sock.on('error', (err) => d.destroy(err));
  // what broke the stream (a frame too big, the socket's error) closes the session; never an
  // unhandled 'error' event, which would end the whole server
  d.on('error', () => undefined);
  return d;
}

class Relay {
  lastUsed = Date.now();
  /** answers the API gave, a refusal included: the relay itself works */
  answered = 0;
  #closed = false;
  #inFlight = 0;

  constructor(
    private readonly sock: Socketish,
    private readonly session: http2.ClientHttp2Session,
    private readonly onClose: () => void,
  ) {
    const end = () => this.close();
    session.on('close', end);
    session.on('error', end);
    session.on('goaway', end);
    sock.on('close', end);
    sock.unref?.();
  }

  get closed(): boolean {
    return this.#closed;
  }

  call(c: GrpcCall): Promise<Buffer[]> {
    if (this.#closed) return Promise.reject(new RelayUnavailable('the relay is closed'));
    this.lastUsed = Date.now();
    const max = c.maxBytes ?? 8 * 1024 * 1024;
    return new Promise<Buffer[]>((resolve, reject) => {
      let req: http2.ClientHttp2Stream;
      try {
        req = this.session.request({ ':method': 'POST', ':path': c.path, 'content-type': 'application/grpc', te: 'trailers' });
      } catch (err) {
        this.close();
        reject(new RelayUnavailable((err as Error).message));
        return;
      }
      this.#inFlight++;
      this.sock.ref?.();
      const chunks: Buffer[] = [];
      let size = 0;
      let status: string | undefined;
      let grpcMessage = '';
      let settled = false;
      const done = (err?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (--this.#inFlight === 0) this.sock.unref?.();
        this.lastUsed = Date.now();
        if (err) {
          if (!req.closed) req.close(http2.constants.NGHTTP2_CANCEL);
          // a stream that failed with its session (garbage from the container): the relay goes
          if (this.session.destroyed || this.session.closed) this.close();
          reject(err);
          return;
        }
        if (status === undefined) return reject(new RelayUnavailable('the answer ended without a gRPC status'));
        if (status !== '0') return reject(new GrpcStatusError(Number(status), `gRPC status ${status}: ${grpcMessage}`.trim()));
        try {
          const messages = splitGrpcMessages(Buffer.concat(chunks, size));
          resolve(messages);
        } catch (e) {
          reject(e);
        }
      };
      const timeoutMs = c.timeoutMs ?? 10_000;
      const timer = setTimeout(() => {
        done(new RelayUnavailable(`no answer within ${timeoutMs} ms`));
        // a relay that does not answer is not kept
        this.close();
      }, timeoutMs);
      const take = (h: http2.IncomingHttpHeaders) => {
        const s = h['grpc-status'];
        if (typeof s === 'string') status = s;
        const m = h['grpc-message'];
        if (typeof m === 'string') grpcMessage = percentDecoded(m.slice(0, 1000)).replace(/[\r\n]+/g, ' ');
      };
      req.on('response', (h) => {
        this.answered++;
        if (h[':status'] !== 200) done(new RelayUnavailable(`HTTP status ${h[':status']}`));
        else take(h);
      });
      req.on('trailers', take);
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > max) return done(new RelayUnavailable(`the answer is over ${max} bytes`));
        chunks.push(chunk);
      });
      req.on('end', () => done());
      req.on('close', () => done(status === undefined ? new RelayUnavailable('the stream closed without an answer') : undefined));
      req.on('error', (err) => done(new RelayUnavailable(err.message)));
      const head = Buffer.alloc(5);
      head.writeUInt32BE(c.message.length, 1);
      req.end(Buffer.concat([head, c.message]));
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.session.destroy();
    this.sock.destroy();
    this.onClose();
  }
}

/** The relays of one engine, by container and port: opened on first use, closed when idle. */
export class RelayPool {
  readonly #kept = new Kept<Relay>(MAX_READERS, READER_IDLE_MS);

  constructor(private readonly container: (id: string) => Docker.Container) {}

  get size(): number {
    return this.#kept.size;
  }

  /** Call a gRPC method in the container; RelayUnavailable when it cannot be asked this way (read the old way then). */
  async call(id: string, c: GrpcCall): Promise<Buffer[]> {
    const key = `${id}:${c.port}`;
    if (this.#kept.skipped(key)) throw new RelayUnavailable('no relay in this container (tried within the last ten seconds)');
    let opened = false;
    const relay = await this.#kept.get(key, async () => {
      opened = true;
      let r: Relay | undefined;
      r = await this.#open(id, c.port, () => r && this.#kept.forget(key, r));
      return r;
    });
    if (!relay) {
      // ten seconds: also what a daemon still starting (its port refused) looks like
      if (opened) this.#kept.skip(key, 10_000);
      throw new RelayUnavailable('the relay could not be opened');
    }
    try {
      return await relay.call(c);
    } catch (err) {
      // a relay that never answered: the image has none, or nothing listens on the port yet
      if (err instanceof RelayUnavailable && relay.answered === 0) this.#kept.skip(key, 10_000);
      throw err;
    }
  }

  async #open(id: string, port: number, onClose: () => void): Promise<Relay | undefined> {
    const exec = await this.container(id).exec({
      Cmd: [READER_PATH, '--relay', String(port)],
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
    });
    const sock = (await exec.start({ hijack: true, stdin: true })) as unknown as Socketish;
    // a stream that cannot be unref'd would hold a CLI process open
    if (typeof sock.unref !== 'function' || typeof sock.ref !== 'function') {
      sock.destroy();
      return undefined;
    }
    const stream = relayStream(sock);
    const session = http2.connect(`http://127.0.0.1:${port}`, {
      createConnection: () => stream,
      settings: { enablePush: false },
      maxSessionMemory: 16,
    });
    session.unref();
    return new Relay(sock, session, onClose);
  }

  /** Close a container's relays. */
  close(id: string): void {
    this.#kept.close((key) => key.startsWith(`${id}:`));
  }

  closeAll(): void {
    this.#kept.closeAll();
  }
}
