import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BoundedStdioServerTransport, type Line, LineSplitter, MAX_LINE_BYTES, oversizedId } from '../../src/mcp/stdio.js';

/** Feed `input` to a splitter in chunks cut at the given byte offsets. */
function split(input: Buffer | string, cuts: number[], max?: number): Line[] {
  const bytes = Buffer.from(input);
  const s = new LineSplitter(max);
  const out: Line[] = [];
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    out.push(...s.push(bytes.subarray(at, cut)));
    at = cut;
  }
  return out;
}

describe('LineSplitter', () => {
  it('gives the same lines however the bytes are cut', () => {
    const input = '{"a":1}\n{"b":"zwei"}\r\n\n{"c":[1,2]}\n{"unfinished"';
    const whole = split(input, []);
    expect(whole).toEqual([{ text: '{"a":1}' }, { text: '{"b":"zwei"}' }, { text: '' }, { text: '{"c":[1,2]}' }]);
    for (let i = 0; i <= input.length; i += 1) {
      for (let j = i; j <= input.length; j += 3) expect(split(input, [i, j])).toEqual(whole);
    }
    expect(split(input, [...Array(input.length).keys()])).toEqual(whole); // one byte at a time
  });

  it('keeps a multi-byte UTF-8 character whole when a chunk ends inside it', () => {
    const input = '{"name":"ü€😀"}\n';
    const bytes = Buffer.from(input);
    for (let i = 0; i <= bytes.length; i += 1) expect(split(bytes, [i])).toEqual([{ text: '{"name":"ü€😀"}' }]);
  });

  it('strips one CR before the newline, also when the CR ends a chunk', () => {
    expect(split('x\r\ny\r\r\n', [2])).toEqual([{ text: 'x' }, { text: 'y\r' }]);
  });

  it('lets a line of exactly the limit through, CR or not, and refuses one byte more', () => {
    expect(split('abcd\nabcd\r\n', [2, 8], 4)).toEqual([{ text: 'abcd' }, { text: 'abcd' }]);
    expect(split('abcde\nok\n', [], 4)).toEqual([{ oversized: 5, head: 'abcde', tail: 'abcde' }, { text: 'ok' }]);
    expect(split('abcde\r\nok\n', [3], 4)).toEqual([{ oversized: 5, head: 'abcde', tail: 'abcde' }, { text: 'ok' }]);
  });

  it('skips an oversized line to its newline, keeping only its length and edges, and reads the next', () => {
    const big = `{"jsonrpc":"2.0","method":"tools/call","params":{"x":"${'y'.repeat(30_000)}"},"id":7}`;
    const lines = split(`${big}\r\n{"ok":true}\n`, [10, 100, 20_000, 30_000], 1000);
    expect(lines).toHaveLength(2);
    const [over, next] = lines as [Extract<Line, { oversized: number }>, Line];
    expect(over.oversized).toBe(Buffer.byteLength(big));
    expect(over.head.length).toBe(4096);
    expect(over.tail.endsWith('"},"id":7}')).toBe(true);
    expect(next).toEqual({ text: '{"ok":true}' });
  });

  it('holds no more than the limit whatever the chunks', () => {
    const s = new LineSplitter(1024);
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    for (let i = 0; i < 200; i += 1) expect(s.push(chunk)).toEqual([]);
    const [line] = s.push(Buffer.from('\n'));
    expect(line).toMatchObject({ oversized: 200 * 64 * 1024 });
    expect(MAX_LINE_BYTES).toBeGreaterThanOrEqual(6 * 1024 * 1024 + 1024); // 1 MiB of exec input, \u-escaped
  });
});

describe('oversizedId', () => {
  it('reads a top-level id at the start, or as the last member', () => {
    expect(oversizedId('{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"a":"xx', '')).toBe(7);
    expect(oversizedId('{"method":"tools/call","params":{"id":3,"a":"xx', 'xxx"}},"jsonrpc":"2.0","id":"r-9"}')).toBe('r-9');
    expect(oversizedId('{ "method" : "x", "params" : [1, {"id": 5}], "id" : -4 , "p":"', '')).toBe(-4);
  });

  it('gives none when it cannot be sure', () => {
    expect(oversizedId('{"params":{"id":3},"method":"x","p":"aaa', 'aaa"}')).toBeUndefined(); // nested id only
    expect(oversizedId('{"method":"x","id":12', '')).toBeUndefined(); // the id may go on (123)
    expect(oversizedId('{"jsonrpc":"2.0","id":5,"result":{"a":"', '"},"x":1}')).toBeUndefined(); // a response: its id is ours
    expect(oversizedId('{"id":5,"params":{"a":"', '"}}')).toBeUndefined(); // no method: not a request
    expect(oversizedId('["method",{"id":1}]', '')).toBeUndefined();
    expect(oversizedId('{"method":"x","params":"a\\"id\\":9}', 'a\\",\\"id\\":9}"}')).toBeUndefined();
    expect(oversizedId('{"method":"x","id":1.5,"p":"', '')).toBeUndefined();
    expect(oversizedId('{"method":"x","\\x":1,"p":"', '')).toBeUndefined(); // a bad escape, not an exception
    expect(oversizedId('{"method":"x","p":"', ',"id":"\\q"}')).toBeUndefined();
  });
});

describe('BoundedStdioServerTransport', () => {
  it('answers broken lines with errors and passes valid messages on', async () => {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const warnings: string[] = [];
    const t = new BoundedStdioServerTransport({ warn: (_f, m) => warnings.push(m) }, stdin, stdout);
    const got: unknown[] = [];
    t.onmessage = (m) => got.push(m);
    await t.start();
    stdin.write('not json\n{"jsonrpc":"2.0","id":2,"method":5}\n{"jsonrpc":"2.0","id":1,"result":"x"}\n');
    stdin.write('{"jsonrpc":"2.0","id":3,"method":"ping"}\n');
    await new Promise((r) => setImmediate(r));
    const out = String(stdout.read())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(out).toMatchObject([
      { jsonrpc: '2.0', error: { code: -32700 } },
      { jsonrpc: '2.0', id: 2, error: { code: -32600 } },
      { jsonrpc: '2.0', error: { code: -32600 } },
    ]);
    expect(out[0]).not.toHaveProperty('id');
    expect(out[2]).not.toHaveProperty('id'); // a broken response: its id is the server's own
    expect(got).toEqual([{ jsonrpc: '2.0', id: 3, method: 'ping' }]);
    expect(warnings).toHaveLength(3);
    let closed = false;
    t.onclose = () => {
      closed = true;
    };
    await t.close();
    expect(closed).toBe(true);
  });
});
