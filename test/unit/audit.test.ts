import { appendFile, mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { AuditLog, redact } from '../../src/core/audit.js';
import { createLab } from '../../src/core/lab.js';
import { runTool } from '../../tools/index.js';

describe('audit log', () => {
  it('redacts secrets by key and in YAML text, and clips huge strings', () => {
    expect(redact({ name: 'r1', neighbors: [{ address: '10.0.0.2', password: 's3cret' }], token: 'abc' })).toEqual({
      name: 'r1',
      neighbors: [{ address: '10.0.0.2', password: '***' }],
      token: '***',
    });
    expect(redact({ yaml: 'bgp:\n  sessions:\n    - { a: r1, b: r3, password: s3cret }\n' })).toEqual({
      yaml: 'bgp:\n  sessions:\n    - { a: r1, b: r3, password: "***" }\n',
    });
    // The same file as JSON text, and a password typed in a Slack command line.
    expect(redact({ yaml: '{"bgp":{"sessions":[{"a":"r1","b":"r3","password":"s3cret"}]}}' })).toEqual({
      yaml: '{"bgp":{"sessions":[{"a":"r1","b":"r3","password":"***"}]}}',
    });
    expect(redact('daemon peer add r1 address=10.0.0.2 asn=65002 password=s3cret')).toBe(
      'daemon peer add r1 address=10.0.0.2 asn=65002 password=***',
    );
    expect(String(redact('x'.repeat(10_000)))).toMatch(/\.\.\. \(10000 characters\)$/);
    const many = redact({ nodes: Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`n${i}`, i])) }) as {
      nodes: Record<string, unknown>;
    };
    expect(Object.keys(many.nodes)).toHaveLength(201);
    expect(many.nodes['(more)']).toBe('800 more keys left out');
  });

  it('keeps every line small and the file bounded, whatever callers send', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nslab-audit-'));
    const log = new AuditLog(dir, { line: 16 * 1024, file: 64 * 1024 });
    const huge = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, 'x'.repeat(4000)]));
    const entry = { at: new Date().toISOString(), front_end: 'rest', tool: 'network_create', args: huge, ok: false, duration_ms: 1 };
    for (let i = 0; i < 20; i++) await log.record(entry);
    const lines = (await readFile(log.file, 'utf8')).trim().split('\n');
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(16 * 1024);
    expect(lines[0]).toContain('characters of arguments left out');
    for (let i = 0; i < 400; i++) await log.record({ ...entry, args: { name: `n${i}`, pad: 'y'.repeat(300) } });
    expect((await stat(log.file)).size).toBeLessThan(64 * 1024 + 1024);
    expect((await stat(`${log.file}.1`)).size).toBeGreaterThanOrEqual(64 * 1024);
    expect((await log.list({ limit: 1 }))[0]?.args).toMatchObject({ name: 'n399' });
  });

  it('records every call that may change the lab, from its front end, refused ones included; reads are not', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nslab-audit-'));
    const lab = createLab(loadConfig({ NSLAB_DATA_DIR: dir, DOCKER_HOST: 'unix:///nonexistent.sock' }));
    const caller = { front_end: 'cli', id: 'alice' };
    await runTool(
      lab,
      'daemon_create',
      {
        name: 'r1',
        kind: 'frr',
        asn: 65001,
        interfaces: [{ network: 'core' }],
        neighbors: [{ address: '10.0.0.2', asn: 2, password: 'pw' }],
      },
      { caller },
    );
    await runTool(lab, 'network_create', { name: 'x', subnet: 'nope' }, { caller });
    await runTool(lab, 'network_list', {}, { caller });
    const out = await runTool(lab, 'audit_list', {});
    if (!out.ok) throw new Error(out.error.message);
    const entries = out.result.entries as Array<Record<string, any>>;
    expect(entries.map((e) => [e.tool, e.front_end, e.caller, e.ok, e.error])).toEqual([
      ['network_create', 'cli', 'alice', false, 'INVALID_INPUT'],
      ['daemon_create', 'cli', 'alice', false, 'DOCKER_UNAVAILABLE'],
    ]);
    expect(entries[1]?.args.neighbors[0].password).toBe('***');
    expect(await readFile(join(dir, 'audit.jsonl'), 'utf8')).not.toContain('"pw"');
    expect((await stat(join(dir, 'audit.jsonl'))).mode & 0o777).toBe(0o600);
    const filtered = await runTool(lab, 'audit_list', { tool: 'daemon_create' });
    expect(filtered.ok && (filtered.result.entries as unknown[]).length).toBe(1);
  });

  it('skips a line cut by a crash and reads the newest entries first', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nslab-audit-'));
    const log = new AuditLog(dir);
    for (const [i, t] of ['a', 'b', 'c'].entries())
      await log.record({ at: `2026-01-0${i + 1}T00:00:00.000Z`, front_end: 'cli', tool: t, args: {}, ok: true, duration_ms: 1 });
    await appendFile(log.file, '{"at":"2026-01-04T00:00:00.000Z","front_en');
    expect((await log.list({})).map((e) => e.tool)).toEqual(['c', 'b', 'a']);
    expect((await log.list({ since: '2026-01-02T00:00:00.000Z' })).map((e) => e.tool)).toEqual(['c', 'b']);
    expect((await log.list({ limit: 1 })).map((e) => e.tool)).toEqual(['c']);
    expect(await new AuditLog(join(dir, 'none')).list({})).toEqual([]);
  });
});
