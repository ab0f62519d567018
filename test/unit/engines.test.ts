import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { parseEngines } from '../../src/core/engines/parse.js';

describe('NSLAB_ENGINES', () => {
  it('unset means one engine, DOCKER_HOST, as before', () => {
    expect(parseEngines(undefined, undefined)).toEqual([{ name: 'default', host: undefined }]);
    expect(parseEngines('', 'tcp://10.0.0.1:2375')).toEqual([{ name: 'default', host: 'tcp://10.0.0.1:2375' }]);
    expect(loadConfig({ DOCKER_HOST: 'unix:///x.sock' }).dockerHost).toBe('unix:///x.sock');
  });

  it('reads name=DOCKER_HOST pairs; the first becomes the default engine', () => {
    const engines = parseEngines('a=unix:///var/run/docker.sock, b=ssh://lab@host2', undefined);
    expect(engines).toEqual([
      { name: 'a', host: 'unix:///var/run/docker.sock' },
      { name: 'b', host: 'ssh://lab@host2' },
    ]);
    expect(loadConfig({ NSLAB_ENGINES: 'a=unix:///a.sock,b=unix:///b.sock', DOCKER_HOST: 'unix:///other.sock' }).dockerHost).toBe(
      'unix:///a.sock',
    );
  });

  it('refuses what it cannot read, naming the entry', () => {
    expect(() => parseEngines('a', undefined)).toThrow(/'a' is not name=DOCKER_HOST/);
    expect(() => parseEngines('A=unix:///x', undefined)).toThrow(/engine name 'A'/);
    expect(() => parseEngines('a=unix:///x,a=unix:///y', undefined)).toThrow(/'a' is named twice/);
    expect(() => parseEngines('a=ftp://x', undefined)).toThrow(/engine 'a'/);
  });
});
