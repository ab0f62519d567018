import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root, sweep, testEnv } from '../helpers/docker.js';
import { ltsNode } from '../helpers/node.js';
import { type Served, serve } from '../helpers/serve.js';

/**
 * The official MCP conformance suite, server mode, against `nslab serve`'s /mcp: a client no one on
 * the project wrote. It needs Node 22 or newer (scripts/runtime.sh provides one). Scenarios that only
 * apply to the suite's own fixture server are listed, with the reason, in conformance-baseline.yaml.
 */
const RUN = `conf-${process.pid}`;
const node22 = ltsNode();
const suite = join(root, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');
let served: Served;

describe('MCP conformance suite against nslab serve', () => {
  beforeAll(async () => {
    served = await serve(testEnv(RUN));
  });
  afterAll(async () => {
    await served?.stop();
    await sweep(RUN);
  });

  it('passes every scenario that applies to a lab server', () => {
    const out = mkdtempSync(join(tmpdir(), 'nslab-conformance-'));
    const baseline = join(root, 'test', 'e2e', 'conformance-baseline.yaml');
    const r = spawnSync(node22, [suite, 'server', '--url', `${served.url}/mcp`, '--expected-failures', baseline, '-o', out], {
      encoding: 'utf8',
      timeout: 150_000,
    });
    const summary = r.stdout.slice(r.stdout.indexOf('=== SUMMARY ==='));
    expect(r.status, summary + r.stderr).toBe(0);
    const passed = readdirSync(out)
      .filter((d) =>
        (JSON.parse(readFileSync(join(out, d, 'checks.json'), 'utf8')) as Array<{ status: string }>).every((c) => c.status === 'SUCCESS'),
      )
      .map((d) => d.replace(/^server-/, '').replace(/-\d{4}-\d\d-\d\dT.*$/, ''));
    // What a lab server must get right, from the protocol's side.
    expect(passed).toEqual(
      expect.arrayContaining([
        'server-initialize',
        'ping',
        'logging-set-level',
        'completion-complete',
        'tools-list',
        'resources-list',
        'resources-subscribe',
        'resources-unsubscribe',
        'prompts-list',
        'server-sse-multiple-streams',
        'dns-rebinding-protection',
      ]),
    );
  });
});
