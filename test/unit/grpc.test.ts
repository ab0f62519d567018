import { describe, expect, it } from 'vitest';
import { decodeListPeer, gobgpDriver, LIST_PEER_REQUEST, parseGobgpListPeer } from '../../src/core/bgp/gobgp.js';
import { fields, Message, ProtobufError } from '../../src/core/bgp/protobuf.js';
import type { BgpConfig } from '../../src/core/bgp/types.js';
import { RelayUnavailable, splitGrpcMessages } from '../../src/core/docker/relay.js';

/** A protobuf writer for the test's messages (the code under test only reads). */
const varint = (n: number): number[] => {
  const out: number[] = [];
  let v = n;
  while (v >= 128) {
    out.push((v % 128) | 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
};
const uint = (no: number, v: number) => Buffer.from([...varint(no * 8), ...varint(v)]);
const bytes = (no: number, b: Buffer | string) => {
  const body = Buffer.isBuffer(b) ? b : Buffer.from(b, 'utf8');
  return Buffer.concat([Buffer.from([...varint(no * 8 + 2), ...varint(body.length)]), body]);
};
const msg = (...parts: Buffer[]) => Buffer.concat(parts);
const grpc = (m: Buffer) => {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(m.length, 1);
  return Buffer.concat([head, m]);
};

const family = msg(uint(1, 1), uint(2, 1)); // ipv4-unicast
/** ListPeerResponse as GoBGP 3.10 sends it, with an unknown field of each wire type on the way. */
const peerMessage = (address: string, asn: number, state: number, counts: { received?: number; accepted?: number; advertised?: number }) =>
  bytes(
    1,
    msg(
      bytes(2, msg(bytes(4, address), uint(5, asn), bytes(2, 'a description'))),
      bytes(5, msg(bytes(5, address), uint(6, asn), uint(13, state), uint(15, 0))),
      bytes(6, bytes(2, bytes(6, msg(uint(1, 1_700_000_000), uint(2, 5))))),
      bytes(
        10,
        msg(
          bytes(2, msg(bytes(1, family), uint(2, 1))),
          bytes(
            3,
            msg(
              bytes(1, family),
              uint(2, 1),
              ...(counts.received ? [uint(3, counts.received)] : []),
              ...(counts.accepted ? [uint(4, counts.accepted)] : []),
              ...(counts.advertised ? [uint(5, counts.advertised)] : []),
            ),
          ),
        ),
      ),
      // unknown to this reader: a fixed64, a fixed32 and a future message field
      Buffer.from([...varint(98 * 8 + 1), 1, 2, 3, 4, 5, 6, 7, 8]),
      Buffer.from([...varint(99 * 8 + 5), 1, 2, 3, 4]),
      bytes(100, 'later'),
    ),
  );

const cfg: BgpConfig = {
  name: 'r2',
  kind: 'gobgp',
  interfaces: [],
  asn: 65102,
  router_id: '10.0.0.2',
  neighbors: [
    { address: '10.0.0.1', asn: 65101 },
    { address: '10.0.0.3', asn: 65103 },
  ],
  advertise: [],
};

describe("GoBGP's gRPC answer (protobuf, read by field number)", () => {
  it('asks ListPeer for every peer with its advertised count', () => {
    expect(new Message(Buffer.from(LIST_PEER_REQUEST)).uint(2)).toBe(1);
    expect(new Message(Buffer.from(LIST_PEER_REQUEST)).string(1)).toBe('');
  });

  it('decodes peers to what `gobgp neighbor ADDR -j` prints, and both read to the same neighbors', () => {
    const a = peerMessage('10.0.0.1', 65101, 6, { received: 3, accepted: 2, advertised: 4 });
    const b = peerMessage('10.0.0.3', 65103, 3, {});
    expect(decodeListPeer(a)).toMatchObject({
      conf: { neighbor_address: '10.0.0.1', peer_asn: 65101 },
      state: { neighbor_address: '10.0.0.1', peer_asn: 65101, session_state: 6 },
      timers: { state: { uptime: { seconds: 1_700_000_000 } } },
      afi_safis: [{ state: { family: { afi: 1, safi: 1 }, received: 3, accepted: 2, advertised: 4 } }],
    });
    const viaApi = parseGobgpListPeer([a, b], cfg);
    expect(viaApi.map(({ uptime_s: _u, ...n }) => n)).toEqual([
      { address: '10.0.0.1', asn: 65101, state: 'Established', prefixes_received: 2, prefixes_sent: 4 },
      { address: '10.0.0.3', asn: 65103, state: 'Active', prefixes_sent: 0 },
    ]);
    // the CLI's JSON of the same peers (Go's encoding/json leaves zero values out) reads the same
    const cli = JSON.stringify({ detailed: true, peers: [decodeListPeer(a), decodeListPeer(b)] });
    expect(gobgpDriver.parseNeighbors(cli, cfg).map(({ uptime_s: _u, ...n }) => n)).toEqual(viaApi.map(({ uptime_s: _u, ...n }) => n));
    // an Established peer with nothing sent yet: 0, not unknown (the API was asked for the count)
    const none = parseGobgpListPeer([peerMessage('10.0.0.1', 65101, 6, {})], cfg);
    expect(none[0]).toMatchObject({ state: 'Established', prefixes_sent: 0 });
    // no peers at all: gobgpd streams no message
    expect(parseGobgpListPeer([], { ...cfg, neighbors: [] })).toEqual([]);
  });

  it('refuses what is not protobuf, without reading past the buffer', () => {
    const bad: Array<[string, Buffer]> = [
      ['a varint cut short', Buffer.from([0x08, 0x80])],
      ['a varint of 11 bytes', Buffer.from([0x08, ...Array(10).fill(0xff), 0x01])],
      ['a length past the end', Buffer.from([0x12, 0x7f, 0x61])],
      ['a length of 2^53', Buffer.from([0x12, ...varint(2 ** 53)])],
      ['a group', Buffer.from([0x0b])],
      ['field number 0', Buffer.from([0x00, 0x01])],
      ['a fixed64 cut short', Buffer.from([0x09, 1, 2, 3])],
    ];
    for (const [what, buf] of bad) expect(() => fields(buf), what).toThrow(ProtobufError);
    // a peer whose inner message is garbage fails the read, it is not half-read
    expect(() => decodeListPeer(bytes(1, bytes(2, Buffer.from([0x22, 0x50]))))).toThrow(ProtobufError);
    expect(() => decodeListPeer(uint(2, 1))).toThrow(/without a peer/);
    // random bytes: an answer or a ProtobufError, nothing else, and quickly
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    for (let i = 0; i < 2000; i++) {
      const buf = Buffer.from(Array.from({ length: rnd() % 64 }, () => rnd() % 256));
      try {
        fields(buf);
      } catch (err) {
        expect(err).toBeInstanceOf(ProtobufError);
      }
    }
  });

  it('splits gRPC messages by their 5-byte prefix and refuses cut or compressed ones', () => {
    const one = Buffer.from('abc');
    const two = Buffer.alloc(0);
    expect(splitGrpcMessages(Buffer.concat([grpc(one), grpc(two)]))).toEqual([one, two]);
    expect(splitGrpcMessages(Buffer.alloc(0))).toEqual([]);
    expect(() => splitGrpcMessages(grpc(one).subarray(0, 6))).toThrow(RelayUnavailable);
    expect(() => splitGrpcMessages(Buffer.from([0, 0, 0]))).toThrow(RelayUnavailable);
    const huge = Buffer.from([0, 0xff, 0xff, 0xff, 0xff, 1]);
    expect(() => splitGrpcMessages(huge)).toThrow(/cut short/);
    const compressed = grpc(one);
    compressed[0] = 1;
    expect(() => splitGrpcMessages(compressed)).toThrow(/compressed/);
  });
});
