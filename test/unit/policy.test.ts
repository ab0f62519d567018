import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLab, type Lab } from '../../src/core/lab.js';
import { type CallPolicy, checkCall, runTool } from '../../tools/index.js';

/**
 * The policy chain around runTool, on a lab whose Docker engine does not answer: a call that gets
 * past every step reaches its handler, which then fails with DOCKER_UNAVAILABLE. So the error code
 * says which step stopped a call, and the audit log says what was recorded.
 */
async function lab(env: Record<string, string> = {}): Promise<Lab> {
  const dir = await mkdtemp(join(tmpdir(), 'nslab-policy-'));
  return createLab(loadConfig({ NSLAB_DATA_DIR: dir, DOCKER_HOST: 'unix:///nonexistent.sock', ...env }));
}
const audited = async (l: Lab) => (await l.audit.list({ limit: 100 })).map((e) => [e.tool, e.error]);

describe('the policy every call passes', () => {
  it('runs its steps in order: availability, access, then the input, then confirmation, then the handler', async () => {
    const ro = await lab({ NSLAB_READ_ONLY: '1' });
    const deny: CallPolicy = { access: () => 'no role' };
    const asked: string[] = [];
    const yes: CallPolicy = {
      confirm: async (q) => {
        asked.push(q);
        return { go: true };
      },
    };
    // read-only beats a refusing role and bad input
    expect((await runTool(ro, 'network_delete', { name: 1 }, {}, deny)) as { ok: false }).toMatchObject({ error: { code: 'READ_ONLY' } });
    const l = await lab();
    // the role is checked before the input is looked at: a caller who may not run it learns no field rules
    const forbidden = await runTool(l, 'network_delete', { name: 1 }, {}, deny);
    expect(!forbidden.ok && forbidden.error.code).toBe('FORBIDDEN');
    expect(!forbidden.ok && forbidden.error.message).toBe('no role');
    // bad input is refused before anyone is asked
    const bad = await runTool(l, 'network_delete', { name: 'Bad Name' }, {}, yes);
    expect(!bad.ok && bad.error.code).toBe('INVALID_INPUT');
    expect(asked).toEqual([]);
    // a destructive call on something the store does not hold is not asked about: it goes on to fail
    const absent = await runTool(l, 'network_delete', { name: 'n1' }, {}, yes);
    expect(absent.ok).toBe(false);
    expect(asked).toEqual([]);
    // sync_run apply is asked about, with the tool's own words; the handler then runs
    const apply = await runTool(l, 'sync_run', { apply: true }, {}, yes);
    expect(asked).toHaveLength(1);
    expect(asked[0]).toContain('remove labelled containers and networks that no record claims');
    expect(!apply.ok && apply.error.code).toBe('DOCKER_UNAVAILABLE');
  });

  it('a declined confirmation runs nothing and is audited, like every refused change', async () => {
    const l = await lab();
    const no: CallPolicy = { confirm: async () => ({ go: false, reason: 'the person said no' }) };
    const out = await runTool(l, 'sync_run', { apply: true }, { caller: { front_end: 'mcp-stdio' } }, no);
    expect(!out.ok && out.error.code).toBe('NOT_CONFIRMED');
    expect(!out.ok && out.error.message).toBe('the person said no');
    // a report is a write, not a removal: nobody is asked
    const report = await runTool(l, 'sync_run', {}, {}, no);
    expect(!report.ok && report.error.code).toBe('DOCKER_UNAVAILABLE');
    expect(await audited(l)).toEqual([
      ['sync_run', 'DOCKER_UNAVAILABLE'],
      ['sync_run', 'NOT_CONFIRMED'],
    ]);
  });

  it('checkCall answers "would it run?" without running it; only refusals are audited', async () => {
    const l = await lab();
    const ok = await checkCall(l, 'network_create', { name: 'n1', subnet: '10.9.0.0/24' });
    expect(ok.ok).toBe(true);
    const refused = await checkCall(l, 'network_create', { name: 'n1', subnet: '10.9.0.0/24' }, {}, { access: () => 'readers only read' });
    expect(!refused.ok && refused.error.code).toBe('FORBIDDEN');
    const bad = await checkCall(l, 'network_create', { name: 'n1', subnet: 'nope' });
    expect(!bad.ok && bad.error.code).toBe('INVALID_INPUT');
    expect(await audited(l)).toEqual([
      ['network_create', 'INVALID_INPUT'],
      ['network_create', 'FORBIDDEN'],
    ]);
  });

  it('asks with the masked arguments when a tool declares no question of its own, and masks secrets in every answer', async () => {
    const l = await lab();
    const asked: string[] = [];
    const yes: CallPolicy = {
      confirm: async (q) => {
        asked.push(q);
        return { go: true };
      },
    };
    await runTool(l, 'engine_leave', { force: true }, {}, yes);
    for (const q of asked) expect(q).not.toMatch(/pw-|secret/);
    const made = await runTool(l, 'topology_create', {
      yaml: 'name: t1\nnetworks: { core: { subnet: 10.9.1.0/24 } }\nnodes:\n  a: { kind: frr, asn: 65001, interfaces: { core: auto } }\n  b: { kind: frr, asn: 65002, interfaces: { core: auto } }\nbgp: { sessions: [ { a: a, b: b, password: pw-Policy-1 } ] }\n',
    });
    expect(made.ok).toBe(true);
    const got = await runTool(l, 'topology_get', { name: 't1' });
    expect(JSON.stringify(got)).not.toContain('pw-Policy-1');
    expect(JSON.stringify(await l.audit.list({}))).not.toContain('pw-Policy-1');
  });
});
