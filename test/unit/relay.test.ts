import http2 from 'node:http2';
import { type AddressInfo, connect } from 'node:net';
import { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrpcStatusError, RelayPool, RelayUnavailable, relayStream } from '../../src/core/docker/relay.js';

/**
 * The relay's client side against a real HTTP/2 (h2c) server on loopback standing in for gobgpd,
 * reached through a fake container whose exec stream frames what the server sends the way
 * Docker does (8-byte headers): what the container sends back is input, and every way it can be
 * wrong is tried.
 */
const frame = (kind: number, payload: Buffer) => {
  const h = Buffer.alloc(8);
  h[0] = kind;
  h.writeUInt32BE(payload.length, 4);
  return Buffer.concat([h, payload]);
};
const grpc = (m: Buffer) => {
  const h = Buffer.alloc(5);
  h.writeUInt32BE(m.length, 1);
  return Buffer.concat([h, m]);
};

let server: http2.Http2Server;
let port = 0;
let execs = 0;
/** what the fake container does to the server's bytes before framing them */
let tamper: ((c: Buffer) => Buffer) | undefined;

/** A container whose exec relays to the h2c server (as `nslab-reader --relay` does), Docker-framed. */
const container = (failExec = false) =>
  ({
    exec: async () => {
      execs++;
      if (failExec) throw new Error('no such container');
      return {
        start: async () => {
          const tcp = connect(port, '127.0.0.1');
          const sock = new Duplex({
            read() {},
            write(chunk: Buffer, _e, cb) {
              tcp.write(chunk, cb);
            },
            final(cb) {
              tcp.end();
              cb();
            },
            destroy(err, cb) {
              tcp.destroy();
              cb(err);
            },
          });
          tcp.on('data', (c: Buffer) => sock.push(tamper ? tamper(c) : frame(1, c)));
          tcp.on('close', () => sock.push(null));
          Object.assign(sock, { ref: () => tcp.ref(), unref: () => tcp.unref() });
          return sock;
        },
      };
    },
  }) as unknown as Docker.Container;

beforeAll(async () => {
  server = http2.createServer();
  // the stand-in's own sessions and streams end in errors when the client gets garbage and
  // hangs up: not what is tested
  server.on('session', (s) => s.on('error', () => undefined));
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    const path = String(headers[':path']);
    stream.on('data', () => undefined);
    stream.on('end', () => {
      if (path === '/t.S/Two') {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(Buffer.concat([grpc(Buffer.from('one')), grpc(Buffer.from('two'))]));
      } else if (path === '/t.S/Fail') {
        stream.respond(
          { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12', 'grpc-message': 'unknown%20method' },
          { endStream: true },
        );
      } else if (path === '/t.S/BadText') {
        stream.respond(
          { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '13', 'grpc-message': '50%_off%E0%A4%A' },
          { endStream: true },
        );
      } else if (path === '/t.S/Big') {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(grpc(Buffer.alloc(200_000, 1)));
      } else if (path === '/t.S/Silent') {
        // never answers
      } else if (path === '/t.S/NoStatus') {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { endStream: false });
        stream.end(grpc(Buffer.from('x')));
      } else {
        stream.respond({ ':status': 404 }, { endStream: true });
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => server.close());

const ask = (pool: RelayPool, path: string, extra: { timeoutMs?: number; maxBytes?: number } = {}) =>
  pool.call('c1', { port, path, message: Buffer.from([0x10, 0x01]), ...extra });

describe('gRPC through a relayed exec stream', () => {
  it('answers the messages, over one kept relay however many calls', async () => {
    tamper = undefined;
    execs = 0;
    const pool = new RelayPool(() => container());
    try {
      for (let i = 0; i < 3; i++) expect((await ask(pool, '/t.S/Two')).map(String)).toEqual(['one', 'two']);
      expect(execs).toBe(1);
      expect(pool.size).toBe(1);
      // several at once on the same connection (HTTP/2 streams)
      const all = await Promise.all([1, 2, 3, 4].map(() => ask(pool, '/t.S/Two')));
      expect(all.every((m) => m.length === 2)).toBe(true);
      expect(execs).toBe(1);
    } finally {
      pool.closeAll();
    }
  });

  it("gives the API's own refusal, a bound on the answer, and a deadline", async () => {
    tamper = undefined;
    const pool = new RelayPool(() => container());
    try {
      const refused = await ask(pool, '/t.S/Fail').catch((e) => e);
      expect(refused).toBeInstanceOf(GrpcStatusError);
      expect(refused).toMatchObject({ code: 12, message: 'gRPC status 12: unknown method' });
      // a grpc-message that is not valid percent-encoding is kept as sent
      await expect(ask(pool, '/t.S/BadText')).rejects.toMatchObject({ code: 13, message: 'gRPC status 13: 50%_off%E0%A4%A' });
      await expect(ask(pool, '/t.S/Big', { maxBytes: 100_000 })).rejects.toThrow(/over 100000 bytes/);
      await expect(ask(pool, '/t.S/NoStatus')).rejects.toThrow(/without a gRPC status/);
      await expect(ask(pool, '/t.S/Nope')).rejects.toThrow(/HTTP status 404/);
      // the relay still serves after each of those
      expect((await ask(pool, '/t.S/Two')).length).toBe(2);
      await expect(ask(pool, '/t.S/Silent', { timeoutMs: 300 })).rejects.toThrow(RelayUnavailable);
      // a relay that does not answer is not kept
      expect(pool.size).toBe(0);
    } finally {
      pool.closeAll();
    }
  });

  it('what a container sends that is not its answer closes the relay, never the process', async () => {
    for (const [what, bad] of [
      ['a frame of 4 GiB', (_c: Buffer) => Buffer.from([1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff])],
      ['HTTP/2 garbage', (c: Buffer) => frame(1, Buffer.from(`HTTP/1.1 200 OK\r\n\r\n${c.toString('hex')}`))],
      ['everything on stderr', (c: Buffer) => frame(2, c)],
    ] as const) {
      tamper = bad;
      const pool = new RelayPool(() => container());
      try {
        const err = await ask(pool, '/t.S/Two', { timeoutMs: 2000 }).catch((e) => e);
        expect(err, what).toBeInstanceOf(RelayUnavailable);
        expect(pool.size, what).toBe(0);
      } finally {
        pool.closeAll();
      }
    }
    tamper = undefined;
  });

  it('a container whose relay cannot start is not asked again for a while', async () => {
    execs = 0;
    const pool = new RelayPool(() => container(true));
    await expect(ask(pool, '/t.S/Two')).rejects.toThrow(RelayUnavailable);
    await expect(ask(pool, '/t.S/Two')).rejects.toThrow(/tried within the last ten seconds/);
    expect(execs).toBe(1);
  });

  it('a frame bigger than any answer destroys the stream without an unhandled error', async () => {
    const sock = new Duplex({ read() {}, write: (_c, _e, cb) => cb() });
    const d = relayStream(sock as never);
    sock.push(Buffer.from([1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]));
    await new Promise((r) => setTimeout(r, 20));
    expect(d.destroyed).toBe(true);
  });
});
