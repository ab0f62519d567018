import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLab } from '../../src/core/lab.js';
import { annotations, inputJsonSchema } from '../../src/mcp/schema.js';
import { catalogue, runTool, visibleTools } from '../../tools/index.js';

// A lab pointed at an engine that does not exist: input validation must fail before any Docker call.
const lab = (env: Record<string, string> = {}) =>
  createLab(loadConfig({ NSLAB_DATA_DIR: '/nonexistent/nslab-unit', DOCKER_HOST: 'unix:///nonexistent.sock', ...env }));

describe('tool catalogue', () => {
  it('names follow <resource>_<verb> and are unique', () => {
    const names = catalogue.map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(/^[a-z]+_[a-z_]+$/);
  });

  it('every input schema is a strict object in JSON Schema', () => {
    for (const t of catalogue) {
      const s = inputJsonSchema(t);
      expect(s.type, t.name).toBe('object');
      expect(s.additionalProperties, t.name).toBe(false);
    }
  });

  it('annotations follow the declared effect', () => {
    const del = catalogue.find((t) => t.name === 'daemon_delete');
    const list = catalogue.find((t) => t.name === 'daemon_list');
    expect(del && annotations(del)).toMatchObject({ readOnlyHint: false, destructiveHint: true, openWorldHint: false });
    expect(list && annotations(list)).toMatchObject({ readOnlyHint: true, destructiveHint: false, idempotentHint: true });
  });

  it('read-only mode hides and refuses every tool that changes anything', async () => {
    const ro = lab({ NSLAB_READ_ONLY: 'yes' });
    expect(visibleTools(ro.config).every((t) => t.effect === 'read')).toBe(true);
    const out = await runTool(ro, 'network_create', { name: 'core', subnet: '10.10.0.0/24' });
    expect(out.ok).toBe(false);
    if (!out.ok) expect(out.error.message).toMatch(/read-only \(NSLAB_READ_ONLY\)/);
  });

  it('NSLAB_TOOLSETS limits the tools', () => {
    expect(new Set(visibleTools(lab({ NSLAB_TOOLSETS: 'networks' }).config).map((t) => t.toolset))).toEqual(new Set(['networks']));
    expect(() => lab({ NSLAB_TOOLSETS: 'networks,bogus' })).toThrow(/unknown toolset 'bogus'/);
  });
});

describe('input validation', () => {
  const fails = async (tool: string, args: unknown) => {
    const out = await runTool(lab(), tool, args);
    if (out.ok) throw new Error(`${tool} accepted ${JSON.stringify(args)}`);
    return out.error;
  };

  it('rejects unknown fields, naming them', async () => {
    const e = await fails('network_create', { name: 'core', subnet: '10.10.0.0/24', colour: 'blue' });
    expect(e.code).toBe('INVALID_INPUT');
    expect(e.message).toContain('colour: unknown field');
  });

  it('names the field and the rule for bad names, ASNs, addresses and prefixes', async () => {
    const e = await fails('daemon_create', {
      name: 'R1!',
      kind: 'quagga',
      asn: 0,
      router_id: '1.2.3',
      interfaces: [{ network: 'core', ip: '10.0.0.300' }],
      advertise: ['10.0.0.1/24'],
    });
    const paths = (e.issues ?? []).map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['name', 'kind', 'asn', 'router_id', 'interfaces.0.ip', 'advertise.0']));
    expect(e.message).toContain('asn: must be between 1 and 4294967295');
    expect(e.message).toContain('advertise.0: must be an IPv4 prefix with no host bits');
  });

  it('reports every bad field at once, with a suggested fix for a subnet with host bits', async () => {
    const e = await fails('network_create', { name: 'Bad Name', subnet: '10.0.0.1/24' });
    expect(e.message).toContain('name: must be 2-63 characters');
    expect(e.message).toContain('subnet: 10.0.0.1/24 has host bits set; did you mean 10.0.0.0/24?');
  });

  it('says which fields are required', async () => {
    const e = await fails('daemon_create', { name: 'r1' });
    expect(e.message).toMatch(/kind: (is required|Invalid option)/);
    expect(e.message).toContain('asn: is required');
  });

  it('refuses description text that could inject configuration', async () => {
    const e = await fails('daemon_create', {
      name: 'r1',
      kind: 'frr',
      asn: 65001,
      interfaces: [{ network: 'core' }],
      neighbors: [{ address: '10.0.0.2', asn: 65002, description: 'x\n neighbor 6.6.6.6 remote-as 666' }],
    });
    expect(e.message).toContain('neighbors.0.description: description must be printable ASCII on one line');
  });

  it('refuses a password with spaces (FRR takes one word) but accepts punctuation', async () => {
    const e = await fails('daemon_create', {
      name: 'r1',
      kind: 'frr',
      asn: 65001,
      interfaces: [{ network: 'core' }],
      neighbors: [{ address: '10.0.0.2', asn: 65002, password: 'two words' }],
    });
    expect(e.message).toContain('neighbors.0.password: must be printable ASCII without spaces');
    const ok = await runTool(lab(), 'daemon_create', {
      name: 'r1',
      kind: 'frr',
      asn: 65001,
      interfaces: [{ network: 'core' }],
      neighbors: [{ address: '10.0.0.2', asn: 65002, password: `Pa$$#w0rd"!\\x'` }],
    });
    // Past validation: it only fails for want of an engine.
    expect(!ok.ok && ok.error.code).toBe('DOCKER_UNAVAILABLE');
  });

  it('accepts the largest 4-byte ASN and reports an unreachable engine clearly', async () => {
    const out = await runTool(lab(), 'daemon_create', { name: 'r1', kind: 'frr', asn: 4294967295, interfaces: [{ network: 'core' }] });
    expect(out.ok).toBe(false);
    if (!out.ok) {
      expect(out.error.code).toBe('DOCKER_UNAVAILABLE');
      expect(out.error.message).toMatch(
        /^cannot reach the Docker engine at unix:\/\/\/nonexistent.sock: .*; start dockerd or set DOCKER_HOST$/,
      );
    }
  });

  it('keeps a refusal short when the input is huge: a megabyte key is cut, thousands of problems are counted', async () => {
    const key = 'k'.repeat(1_000_000);
    const one = await runTool(lab(), 'network_list', { [key]: 1 });
    expect(one.ok).toBe(false);
    if (one.ok) return;
    expect(one.error.message).toContain('(1000000 characters): unknown field');
    expect(one.error.message.length).toBeLessThan(500);
    const many = await runTool(lab(), 'network_list', Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`f${i}`, 1])));
    if (many.ok) throw new Error('accepted 10,000 unknown fields');
    expect(many.error.message).toContain('f0: unknown field');
    expect(many.error.message).toContain('and 9980 more');
    expect(many.error.issues).toHaveLength(20);
  });

  it('refuses huge inputs fast, by the schema, before anything is read or written', async () => {
    const many = Array.from({ length: 1_000_000 }, (_, i) => ({
      address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      asn: 65000,
    }));
    const n = await runTool(lab(), 'daemon_create', {
      name: 'r1',
      kind: 'frr',
      asn: 65001,
      interfaces: [{ network: 'core' }],
      neighbors: many,
    });
    expect(n.ok).toBe(false);
    if (!n.ok) expect(n.error.message).toContain('neighbors: at most 256 neighbors');
    const big = await runTool(lab(), 'daemon_exec', { name: 'r1', command: ['echo', 'x'.repeat(100 * 1024 * 1024)] });
    expect(big.ok).toBe(false);
    if (!big.ok) expect(big.error.message).toMatch(/command\.1: each argument at most 65536 characters/);
    const args = await runTool(lab(), 'host_exec', { name: 'h1', command: Array.from({ length: 100 }, () => 'y'.repeat(60_000)) });
    expect(args.ok).toBe(false);
    if (!args.ok) expect(args.error.message).toMatch(/command: the arguments together must be at most 1048576 bytes/);
    const topo = await runTool(lab(), 'topology_create', { yaml: 'x'.repeat(2_000_000) });
    expect(topo.ok).toBe(false);
  });

  it('an unknown tool is a not-found error', async () => {
    const e = await fails('daemon_explode', {});
    expect(e.code).toBe('NOT_FOUND');
  });
});
