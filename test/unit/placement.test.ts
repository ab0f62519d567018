import { describe, expect, it } from 'vitest';
import { networkEngines, placeNodes } from '../../src/core/topology/placement.js';

const base = { engines: ['a', 'b'], current: new Map<string, string>(), nodeMb: 512 };
const keys = (n: number) => new Map(Array.from({ length: n }, (_, i) => [`r${i + 1}`, undefined as string | undefined]));

describe('placing topology nodes on engines', () => {
  it('packs every node without an engine onto the first engine', () => {
    const { engines, issues } = placeNodes({ ...base, placement: 'pack', requested: keys(3) });
    expect(issues).toEqual([]);
    expect([...engines.values()]).toEqual(['a', 'a', 'a']);
  });

  it('spreads by free memory: equal engines alternate, a bigger one takes more', () => {
    const even = placeNodes({
      ...base,
      placement: 'spread',
      requested: keys(4),
      freeMb: new Map([
        ['a', 4096],
        ['b', 4096],
      ]),
    });
    expect([...even.engines.values()]).toEqual(['a', 'b', 'a', 'b']);
    const uneven = placeNodes({
      ...base,
      placement: 'spread',
      requested: keys(4),
      freeMb: new Map([
        ['a', 3072],
        ['b', 4096],
      ]),
    });
    // b has 1 GB more: it takes two nodes (512 MB each) before a gets one; then they alternate.
    expect([...uneven.engines.values()]).toEqual(['b', 'b', 'a', 'b']);
  });

  it('keeps named engines and running nodes where they are, and counts them before spreading', () => {
    const requested = new Map<string, string | undefined>([
      ['r1', 'b'],
      ['r2', undefined],
      ['r3', undefined],
    ]);
    const { engines } = placeNodes({
      ...base,
      placement: 'spread',
      requested,
      current: new Map([['r3', 'b']]),
      freeMb: new Map([
        ['a', 2048],
        ['b', 3072],
      ]),
    });
    // r1 (asked) and r3 (running there) take 1 GB of b, so r2 goes to a.
    expect(Object.fromEntries(engines)).toEqual({ r1: 'b', r2: 'a', r3: 'b' });
  });

  it('names the node whose engine is not configured', () => {
    const { issues } = placeNodes({ ...base, placement: 'pack', requested: new Map([['r1', 'c']]) });
    expect(issues).toEqual([{ path: 'nodes.r1.engine', message: "no engine named 'c' (the engines are a, b)" }]);
  });

  it('a network whose nodes sit on two engines spans them', () => {
    const spans = networkEngines([
      { engine: 'a', networks: ['core', 'lan1'] },
      { engine: 'b', networks: ['core', 'lan2'] },
    ]);
    expect(Object.fromEntries([...spans].map(([k, v]) => [k, [...v].sort()]))).toEqual({ core: ['a', 'b'], lan1: ['a'], lan2: ['b'] });
  });
});
