import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLab } from '../../src/core/lab.js';
import { catalogue, runTool } from '../../tools/index.js';

/**
 * Property tests over every tool's input: generated and mutated arguments never crash a tool (no
 * INTERNAL error, nothing thrown), every refusal of the input names a field, and nothing is written
 * to the store. The engine is unreachable on purpose: what passes validation stops there.
 */
const lab = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nslab-fuzz-'));
  return { dir, lab: createLab(loadConfig({ NSLAB_DATA_DIR: dir, DOCKER_HOST: 'unix:///nonexistent/docker.sock' })) };
};

/** Valid-looking arguments per tool, for mutation. */
const seeds: Record<string, unknown> = {
  network_create: { name: 'core', subnet: '10.10.0.0/24' },
  daemon_create: {
    name: 'r1',
    kind: 'frr',
    asn: 65001,
    interfaces: [{ network: 'core' }],
    neighbors: [{ address: '10.10.0.2', asn: 65002 }],
  },
  daemon_peer_add: { name: 'r1', address: '10.10.0.3', asn: 65003 },
  host_create: { name: 'h1', interfaces: [{ network: 'core' }], gateway: 'r1' },
  tunnel_create: {
    name: 't1',
    mode: 'vxlan',
    a: { container: 'r1', tunnel_ip: '172.31.0.1/30' },
    b: { container: 'r2', tunnel_ip: '172.31.0.2/30' },
  },
  topology_create: {
    yaml: 'name: t\nnetworks: {core: {subnet: 10.10.0.0/24}}\nnodes: {r1: {kind: frr, asn: 65001, interfaces: {core: auto}}}\n',
  },
  host_exec: { name: 'h1', command: ['ping', '-c', '1', '10.10.0.1'] },
};

/** A value with one field replaced, removed or added somewhere in it. */
const mutated = (seed: unknown) =>
  fc.tuple(fc.anything({ maxDepth: 2 }), fc.nat(), fc.constantFrom('replace', 'remove', 'add')).map(([v, n, how]) => {
    const copy = structuredClone(seed) as Record<string, unknown>;
    const keys = Object.keys(copy);
    const k = keys[n % Math.max(1, keys.length)] ?? 'x';
    if (how === 'remove') delete copy[k];
    else if (how === 'add') copy[`extra${n % 3}`] = v;
    else copy[k] = v;
    return copy;
  });

function checkOutcome(tool: string, out: Awaited<ReturnType<typeof runTool>>): void {
  if (out.ok) return;
  expect(out.error.code, `${tool}: ${out.error.message}`).not.toBe('INTERNAL');
  if (out.error.code === 'INVALID_INPUT') {
    expect(out.error.issues?.length, `${tool}: ${out.error.message}`).toBeGreaterThan(0);
    for (const i of out.error.issues ?? []) expect(i.path, out.error.message).not.toBe('');
  }
}

describe('any input to any tool', () => {
  it('random arguments never crash a tool, and refusals name a field', async () => {
    const { lab: l, dir } = await lab();
    const before = await readFile(join(dir, 'state.json'), 'utf8').catch(() => '');
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...catalogue.map((t) => t.name)), fc.anything({ maxDepth: 3 }), async (tool, args) => {
        checkOutcome(tool, await runTool(l, tool, args));
      }),
      { numRuns: 1500 },
    );
    // nothing reached the store (what passed validation stopped at the unreachable engine)
    const after = await readFile(join(dir, 'state.json'), 'utf8').catch(() => '');
    expect(JSON.parse(after || '{}').networks ?? {}).toEqual(JSON.parse(before || '{}').networks ?? {});
  });

  it('mutations of valid arguments never crash a tool', async () => {
    const { lab: l } = await lab();
    for (const [tool, seed] of Object.entries(seeds)) {
      await fc.assert(
        fc.asyncProperty(mutated(seed), async (args) => {
          checkOutcome(tool, await runTool(l, tool, args));
        }),
        { numRuns: 300 },
      );
    }
  });

  it('topology files made of random parts are validated, never crash', async () => {
    const { lab: l } = await lab();
    const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/);
    const spec = fc.record({
      name,
      networks: fc.dictionary(
        name,
        fc.record({ subnet: fc.constantFrom('10.1.0.0/24', '10.1.0.0/16', '192.0.2.0/24', '8.8.8.0/24', 'x') }),
        { maxKeys: 3 },
      ),
      nodes: fc.dictionary(
        name,
        fc.record({
          kind: fc.constantFrom('frr', 'gobgp', 'exabgp', 'host', 'bird'),
          asn: fc.oneof(fc.constant('auto'), fc.integer({ min: -1, max: 70000 })),
          interfaces: fc.dictionary(name, fc.oneof(fc.constant('auto'), fc.ipV4())),
        }),
        { maxKeys: 4 },
      ),
      bgp: fc.record({ sessions: fc.array(fc.tuple(name, name), { maxLength: 3 }) }),
    });
    await fc.assert(
      fc.asyncProperty(spec, async (s) => {
        const out = await runTool(l, 'topology_validate', { spec: s });
        expect(out.ok, out.ok ? '' : out.error.message).toBe(true);
        if (out.ok && !(out.result as { valid: boolean }).valid) {
          for (const e of (out.result as { errors: Array<{ path: string }> }).errors) expect(e.path).not.toBe('');
        }
      }),
      { numRuns: 500 },
    );
  });
});
