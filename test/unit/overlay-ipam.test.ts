import { describe, expect, it } from 'vitest';
import type { LabError } from '../../src/core/errors.js';
import { allocate, checkAddress, overlayProblem, parseSubnet, type Subnet, swarmRange } from '../../src/core/ipam.js';
import { emptyState } from '../../src/core/store/schema.js';
import { placeTopology } from '../../src/core/topology/placement.js';
import { resolveTopology } from '../../src/core/topology/resolve.js';
import { parseTopology } from '../../src/core/topology/spec.js';

/**
 * Docker gives every engine of a swarm an address of its own on an overlay (its load-balancer
 * endpoint), picked when the engine's first container joins. The store must never hand out one
 * of those: Docker takes the top block of the subnet (IPRange), the store the rest.
 */
const sub = (cidr: string) => parseSubnet(cidr) as Subnet;

describe("the block of an overlay's subnet Docker keeps", () => {
  it('is a quarter of the subnet, 4 to 64 addresses, at the top; none on a /30', () => {
    expect(swarmRange(sub('10.0.0.0/29'))?.cidr).toBe('10.0.0.4/30');
    expect(swarmRange(sub('10.0.0.0/27'))?.cidr).toBe('10.0.0.24/29');
    expect(swarmRange(sub('10.0.0.0/24'))?.cidr).toBe('10.0.0.192/26');
    expect(swarmRange(sub('10.0.0.0/16'))?.cidr).toBe('10.0.255.192/26');
    expect(swarmRange(sub('10.0.0.0/30'))).toBeUndefined();
  });

  it('auto addresses stay below it and a chosen one inside it is refused, saying why', () => {
    const s = sub('10.0.0.0/29');
    const docker = swarmRange(s);
    const taken: Record<string, string> = {};
    const got: string[] = [];
    for (let ip = allocate(s, '10.0.0.1', taken, docker); ip; ip = allocate(s, '10.0.0.1', taken, docker)) {
      taken[ip] = 'x';
      got.push(ip);
    }
    expect(got).toEqual(['10.0.0.2', '10.0.0.3']);
    expect(checkAddress(s, '10.0.0.1', {}, '10.0.0.5', docker)).toContain('10.0.0.4/30, which Docker keeps');
    expect(checkAddress(s, '10.0.0.1', {}, '10.0.0.3', docker)).toBeUndefined();
    // Without an overlay nothing changes: a bridge /29 gives five addresses.
    expect(allocate(s, '10.0.0.1', { '10.0.0.2': 'x', '10.0.0.3': 'x' })).toBe('10.0.0.4');
  });

  it('must hold one address per engine', () => {
    expect(overlayProblem(sub('10.0.0.0/29'), '10.0.0.1', 2)).toBeUndefined();
    expect(overlayProblem(sub('10.0.0.0/29'), '10.0.0.1', 4)).toContain('leaves Docker 3 address(es) in 10.0.0.4/30');
    expect(overlayProblem(sub('10.0.0.0/30'), '10.0.0.1', 2)).toContain('use /29 or larger');
  });
});

const ring = (links: Record<string, string>, extra: Record<string, unknown> = {}) =>
  parseTopology({
    spec: {
      name: 'ring',
      networks: Object.fromEntries(Object.entries(links).map(([k, subnet]) => [k, { subnet }])),
      nodes: {
        r1: { kind: 'frr', asn: 'auto', interfaces: { l12: 'auto' }, engine: 'a', ...extra },
        r2: { kind: 'gobgp', asn: 'auto', interfaces: { l12: 'auto' }, engine: 'b' },
      },
    },
  });

describe('a topology over two engines', () => {
  it('gives the nodes of a link that becomes an overlay addresses outside Docker block', () => {
    const spec = ring({ l12: '10.0.0.0/29' });
    const d = resolveTopology(spec, emptyState(), { swarm: true });
    placeTopology(d, spec, emptyState(), ['a', 'b'], { nodeMb: 512 });
    expect(d.networks[0]?.overlay).toBe(true);
    expect(d.nodes.map((n) => n.interfaces[0]?.ip)).toEqual(['10.0.0.2', '10.0.0.3']);
  });

  it('refuses a link too small for the engines and a chosen address in the block, naming the field', () => {
    const issues = (spec: ReturnType<typeof ring>, engines = ['a', 'b']) => {
      try {
        placeTopology(resolveTopology(spec, emptyState(), { swarm: true }), spec, emptyState(), engines, { nodeMb: 512 });
      } catch (e) {
        return (e as LabError).issues;
      }
      return [];
    };
    // Four engines in the swarm: a /29 leaves Docker three addresses, one short.
    expect(issues(ring({ l12: '10.0.0.0/29' }), ['a', 'b', 'c', 'd'])).toEqual([
      { path: 'networks.l12.subnet', message: expect.stringContaining('it is an overlay: 10.0.0.0/29 leaves Docker 3 address(es)') },
    ]);
    const chosen = issues(ring({ l12: '10.0.0.0/29' }, { interfaces: { l12: '10.0.0.6' } }));
    expect(chosen).toEqual([{ path: 'nodes.r1.interfaces.l12', message: expect.stringContaining('which Docker keeps') }]);
  });
});
