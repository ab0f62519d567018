import { describe, expect, it } from 'vitest';
import { AnswerParser, encodeRequest, ReaderUnavailable } from '../../src/core/docker/reader.js';

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
