import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { AnswerParser, encodeRequest, Reader, ReaderUnavailable } from '../../src/core/docker/reader.js';

const max = () => 1000;
const answer = (exit: number, out: string, err = '', timed = 0, trunc = 0) =>
  Buffer.concat([
    Buffer.from(`${exit} ${timed} ${trunc} ${Buffer.byteLength(out)} ${Buffer.byteLength(err)}\n`),
    Buffer.from(out),
    Buffer.from(err),
  ]);

describe('kept reader framing (reader.ts / images/common/nslab-reader)', () => {
  it('encodes argv as hex, NUL-separated, so no argument can end the request line or split another', () => {
    const line = encodeRequest({ command: ['vtysh', '-c', 'show bgp neighbors json\nrm -rf /'], timeoutS: 10, maxOutputBytes: 4096 });
    expect(line.endsWith('\n')).toBe(true);
    const [t, m, hex] = line.trim().split(' ');
    expect([t, m]).toEqual(['10', '4096']);
    expect(hex).toMatch(/^[0-9a-f]+$/);
    expect(
      Buffer.from(hex as string, 'hex')
        .toString('utf8')
        .split('\0'),
    ).toEqual(['vtysh', '-c', 'show bgp neighbors json\nrm -rf /']);
    // a timeout is at least 1 s and at most 4 digits (what the reader accepts)
    expect(encodeRequest({ command: ['x'], timeoutS: 0.2 }).split(' ')[0]).toBe('1');
    expect(encodeRequest({ command: ['x'], timeoutS: 1e9 }).split(' ')[0]).toBe('9999');
  });

  it('reads answers split at any byte and several in one chunk, keeping UTF-8 whole', () => {
    const bytes = Buffer.concat([answer(0, '{"a":"é"}\n'), answer(3, 'out', 'err ünï'), answer(137, '', 'late', 1)]);
    for (let cut = 1; cut < bytes.length; cut++) {
      const p = new AnswerParser();
      const got = [...p.push(bytes.subarray(0, cut), max), ...p.push(bytes.subarray(cut), max)];
      expect(got).toEqual([
        { exit_code: 0, stdout: '{"a":"é"}\n', stderr: '', timed_out: false, truncated: false },
        { exit_code: 3, stdout: 'out', stderr: 'err ünï', timed_out: false, truncated: false },
        { exit_code: 137, stdout: '', stderr: 'late', timed_out: true, truncated: false },
      ]);
    }
  });

  it('reads an empty answer, and a large one that arrives in many small chunks', () => {
    const p = new AnswerParser();
    expect(p.push(answer(0, ''), max)).toEqual([{ exit_code: 0, stdout: '', stderr: '', timed_out: false, truncated: false }]);
    const big = answer(0, 'y'.repeat(200_000));
    const got = [];
    for (let i = 0; i < big.length; i += 1000) got.push(...p.push(big.subarray(i, i + 1000), () => 1 << 20));
    expect(got).toHaveLength(1);
    expect(got[0]?.stdout).toBe('y'.repeat(200_000));
  });

  it('refuses what a container could write to break the framing', () => {
    const bad = (b: Buffer | string) => () => new AnswerParser().push(Buffer.from(b), max);
    expect(bad('hello world\n')).toThrow(ReaderUnavailable);
    expect(bad('0 0 0 -1 0\n')).toThrow(/malformed/);
    expect(bad('0 2 0 1 0\nx')).toThrow(/malformed/);
    // more bytes than the request allowed: not buffered, the reader is dropped
    expect(bad('0 0 0 99999999 0\n')).toThrow(/more bytes/);
    expect(bad('0 0 0 1 1001\n')).toThrow(/more bytes/);
    // a header line that never ends
    expect(bad('0'.repeat(65))).toThrow(/header/);
    expect(new AnswerParser().push(Buffer.from('0'.repeat(64)), max)).toEqual([]);
  });
});

describe('a kept reader over its stream', () => {
  /** A stand-in for the hijacked exec stream: what the server writes is recorded; frames are pushed by the test. */
  const fakeStream = () => {
    const written: string[] = [];
    const s = new Duplex({
      read() {},
      write(chunk, _enc, done) {
        written.push(String(chunk));
        done();
      },
    }) as Duplex & { ref: () => void; unref: () => void };
    s.ref = () => undefined;
    s.unref = () => undefined;
    return { s, written };
  };
  const frame = (kind: number, payload: Buffer) => {
    const h = Buffer.alloc(8);
    h[0] = kind;
    h.writeUInt32BE(payload.length, 4);
    return Buffer.concat([h, payload]);
  };
  const tick = () => new Promise((r) => setImmediate(r));

  it("answers requests in order, one at a time, from frames split anywhere; the reader's stderr is not an answer", async () => {
    const { s, written } = fakeStream();
    const r = Reader.over(s, () => undefined);
    const a = r.run({ command: ['echo', 'a'] });
    const b = r.run({ command: ['echo', 'b'] });
    await tick();
    expect(written).toHaveLength(1); // b waits until a is answered
    const bytes = Buffer.concat([frame(2, Buffer.from('perl: a warning\n')), frame(1, answer(0, 'a\n'))]);
    s.push(bytes.subarray(0, 5));
    s.push(bytes.subarray(5));
    expect(await a).toMatchObject({ exit_code: 0, stdout: 'a\n' });
    await tick();
    expect(written).toHaveLength(2);
    s.push(frame(1, answer(1, '', 'no\n')));
    expect(await b).toMatchObject({ exit_code: 1, stderr: 'no\n' });
    expect(r.answered).toBe(2);
  });

  it('closes on an answer nobody asked for, a malformed one, or a frame too big to be an answer', async () => {
    for (const bad of [frame(1, answer(0, 'x')), frame(1, Buffer.from('junk\n'))]) {
      const { s } = fakeStream();
      let closed = 0;
      const r = Reader.over(s, () => closed++);
      if (bad.includes('junk')) {
        const p = r.run({ command: ['x'] });
        s.push(bad);
        await expect(p).rejects.toBeInstanceOf(ReaderUnavailable);
      } else {
        s.push(bad);
        await tick();
      }
      expect(r.closed).toBe(true);
      expect(closed).toBe(1);
      await expect(r.run({ command: ['x'] })).rejects.toBeInstanceOf(ReaderUnavailable);
    }
    const { s } = fakeStream();
    const r = Reader.over(s, () => undefined);
    const p = r.run({ command: ['x'] });
    const huge = Buffer.alloc(8);
    huge[0] = 1;
    huge.writeUInt32BE(0xffffffff, 4);
    s.push(huge);
    await expect(p).rejects.toThrow(/larger than any answer/);
  });

  it('a stream that ends fails the request in flight as unavailable (the caller runs a one-shot exec)', async () => {
    const { s } = fakeStream();
    const r = Reader.over(s, () => undefined);
    const p = r.run({ command: ['x'] });
    s.push(null);
    await expect(p).rejects.toBeInstanceOf(ReaderUnavailable);
  });
});
