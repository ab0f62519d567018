import { describe, expect, it } from 'vitest';
import { bareMap, ownValue, protoKeyPath, toBareMap } from '../../src/core/keys.js';
import { emptyState } from '../../src/core/store/schema.js';

describe('object keys are input', () => {
  it('maps of records answer only what they hold: constructor and toString are not records', () => {
    const s = emptyState();
    expect(s.daemons.constructor).toBeUndefined();
    expect(s.topologies.toString).toBeUndefined();
    const m = toBareMap({ r1: 1 });
    expect(ownValue(m, 'r1')).toBe(1);
    expect(ownValue({} as Record<string, unknown>, 'constructor')).toBeUndefined();
  });

  it('writing __proto__ into a bare map makes a key, not a prototype', () => {
    const m = bareMap<unknown>();
    const key = '__proto__';
    m[key] = { polluted: 1 };
    expect(Object.keys(m)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('finds a __proto__ key anywhere in parsed JSON, naming its path', () => {
    expect(protoKeyPath(JSON.parse('{"a":[{"b":{"__proto__":{"x":1}}}]}'))).toBe('a.0.b.__proto__');
    expect(protoKeyPath({ a: { constructor: 1 } })).toBeUndefined();
  });
});
