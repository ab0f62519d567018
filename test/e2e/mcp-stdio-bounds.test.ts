import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_LINE_BYTES } from '../../src/mcp/stdio.js';
import { sweep, testEnv } from '../helpers/docker.js';
import { serverCommand, spawnServer } from './mcp-client.js';

/**
 * Oversized and broken messages through the real stdio transport (issue 14.8): each is answered
 * with a JSON-RPC error and the session goes on; memory stays bounded; stdin's end still stops it.
 */
const RUN = `stdio-bounds-${process.pid}`;
const MB = 1_000_000;
const measure = (what: string, ms: number) => process.stderr.write(`[measure] stdio bounds: ${what}: ${ms.toFixed(0)} ms\n`);
/** VmRSS, or VmHWM (the peak), of a process in MB. */
const rssMb = (pid: number, field = 'VmRSS') =>
  Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;

type Msg = { id?: number | string; result?: any; error?: { code: number; message: string } };

/** The server as manifest.json starts it, spoken to in raw JSON-RPC lines so that any bytes can be sent. */
class RawSession {
  readonly child: ChildProcessWithoutNullStreams;
  readonly received: Msg[] = [];
  stderr = '';
  #buf = '';
  #waiters: Array<() => void> = [];

  constructor() {
    const t = testEnv(RUN);
    this.child = spawn(serverCommand.command, serverCommand.args, {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        NSLAB_DATA_DIR: t.NSLAB_DATA_DIR,
        NSLAB_EXTRA_LABELS: t.NSLAB_EXTRA_LABELS,
      },
    });
    this.child.stdin.on('error', () => {}); // EPIPE when the server died: the assertions say what went wrong
    this.child.stderr.on('data', (b: Buffer) => {
      this.stderr += b.toString();
    });
    this.child.stdout.on('data', (b: Buffer) => {
      this.#buf += b.toString();
      for (let nl = this.#buf.indexOf('\n'); nl !== -1; nl = this.#buf.indexOf('\n')) {
        this.received.push(JSON.parse(this.#buf.slice(0, nl)));
        this.#buf = this.#buf.slice(nl + 1);
      }
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  /**
   * Writes, waiting for the pipe to drain. A server that stops reading (the SDK's transport did,
   * after a line over 10 MiB) never drains it: that fails here instead of hanging the test.
   */
  async write(data: string | Buffer, timeoutMs = 30_000): Promise<void> {
    if (this.child.stdin.write(data)) return;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`the server read nothing more for ${timeoutMs} ms`)), timeoutMs);
      this.child.stdin.once('drain', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** The next message matching `match` (received after index `from`), or a timeout error. */
  async next(match: (m: Msg) => boolean, timeoutMs = 15_000, from = 0): Promise<Msg> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.received.slice(from).find(match);
      if (m) return m;
      if (Date.now() > deadline) throw new Error(`no answer in ${timeoutMs} ms; got ${JSON.stringify(this.received).slice(0, 500)}`);
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }

  async request(id: number, method: string, params: object): Promise<Msg> {
    await this.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    return this.next((m) => m.id === id);
  }

  exited(timeoutMs: number): Promise<number | null> {
    if (this.child.exitCode !== null) return Promise.resolve(this.child.exitCode);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`still running ${timeoutMs} ms after stdin closed`)), timeoutMs);
      this.child.once('exit', (code) => {
        clearTimeout(t);
        resolve(code);
      });
    });
  }
}

/** A host_exec call whose argument is `bytes` long, id first (as most clients write it). */
const bigCall = (id: number, bytes: number) =>
  Buffer.from(
    `${JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'host_exec', arguments: { name: 'h1', command: ['x'.repeat(bytes)] } } })}\n`,
  );

describe('MCP stdio with oversized and broken messages', () => {
  const sessions: RawSession[] = [];
  let client: Client | undefined;

  afterAll(async () => {
    await client?.close();
    for (const s of sessions) if (s.child.exitCode === null) s.child.kill('SIGKILL');
    await sweep(RUN);
  });

  it('answers a 20 MB and a 100 MB call with errors carrying their ids, keeps serving, stays small, and exits when stdin closes', async () => {
    const s = new RawSession();
    sessions.push(s);
    const init = await s.request(1, 'initialize', {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'raw', version: '1' },
    });
    expect(init.result?.serverInfo?.name).toBeDefined();
    await s.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
    const rssBefore = rssMb(s.child.pid as number);

    for (const [id, size] of [
      [7, 20 * MB],
      [8, 100 * MB],
    ] as const) {
      const line = bigCall(id, size);
      const t0 = performance.now();
      await s.write(line);
      const written = performance.now();
      const err = await s.next((m) => m.id === id);
      measure(
        `${size / MB} MB line: writing it took ${(written - t0).toFixed(0)} ms, then the error with id ${id}`,
        performance.now() - written,
      );
      expect(err.error?.code).toBe(-32600);
      expect(err.error?.message).toContain(`message of ${line.length - 1} bytes is over the limit of ${MAX_LINE_BYTES} bytes`);
      const t1 = performance.now();
      const list = await s.request(id + 100, 'tools/call', { name: 'network_list', arguments: {} });
      measure(`network_list after the ${size / MB} MB line`, performance.now() - t1);
      expect(list.error).toBeUndefined();
      expect(list.result?.isError).toBeFalsy();
      expect(list.result?.structuredContent?.networks).toBeInstanceOf(Array);
    }
    // the 100 MB were never held: the server's memory barely moved
    const rssAfter = rssMb(s.child.pid as number);
    const peak = rssMb(s.child.pid as number, 'VmHWM');
    process.stderr.write(
      `[measure] stdio bounds: server RSS ${rssBefore.toFixed(0)} MB before, ${rssAfter.toFixed(0)} MB after 120 MB of oversized lines (peak ${peak.toFixed(0)} MB)\n`,
    );
    expect(rssAfter).toBeLessThan(200);
    expect(peak).toBeLessThan(250);
    expect(s.stderr).toContain('over the limit');

    const t2 = performance.now();
    s.child.stdin.end();
    await s.exited(5_000);
    measure('stdin closed -> process exited', performance.now() - t2);
  }, 120_000);

  it('answers broken JSON with a parse error, a non-JSON-RPC request with an invalid-request error, and goes on', async () => {
    const s = new RawSession();
    sessions.push(s);
    await s.request(1, 'initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } });
    await s.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
    await s.write('{"jsonrpc":"2.0","id":3,"method":"tools/call",\n');
    const parse = await s.next((m) => m.error?.code === -32700);
    expect(parse.id).toBeUndefined();
    expect(parse.error?.message).toMatch(/^Parse error/);
    await s.write('{"jsonrpc":"1.0","id":"abc","method":"tools/list"}\r\n');
    const invalid = await s.next((m) => m.id === 'abc');
    expect(invalid.error?.code).toBe(-32600);
    const tools = await s.request(4, 'tools/list', {});
    expect(tools.result?.tools?.length).toBeGreaterThan(10);
    s.child.stdin.end();
    await s.exited(5_000);
  }, 60_000);

  it('through the SDK client: a 20 MB call is refused (its id written last), an 8 MB one reaches the tool, and the session goes on', async () => {
    const spawned = await spawnServer(RUN);
    client = spawned.client;
    const t0 = performance.now();
    const refused = client.callTool({ name: 'host_exec', arguments: { name: 'h1', command: ['x'.repeat(20 * MB)] } });
    await expect(refused).rejects.toThrow(/MCP error -32600: message of \d+ bytes is over the limit/);
    measure('SDK client: 20 MB host_exec -> error', performance.now() - t0);
    const t1 = performance.now();
    const small = (await client.callTool({ name: 'host_exec', arguments: { name: 'h1', command: ['x'.repeat(8 * MB)] } })) as {
      isError?: boolean;
      content: Array<{ text?: string }>;
    };
    measure('SDK client: 8 MB host_exec -> tool refusal', performance.now() - t1);
    expect(small.isError).toBe(true);
    expect(small.content[0]?.text).toContain('at most');
    const list = await client.callTool({ name: 'network_list', arguments: {} });
    expect(list.isError).toBeFalsy();
    const pid = (client.transport as StdioClientTransport).pid as number;
    process.stderr.write(`[measure] stdio bounds: SDK-client server RSS after 20 MB + 8 MB calls: ${rssMb(pid).toFixed(0)} MB\n`);
  }, 60_000);
});
