import { describe, expect, it } from 'vitest';
import type { CallEntry } from '../../src/core/docker/dial.js';
import { DockerEngine } from '../../src/core/docker/engine.js';
import { LabError } from '../../src/core/errors.js';

// An engine address where nothing listens: every call fails to connect (ENOENT), no Docker needed.
const NOWHERE = 'unix:///nonexistent/nslab-no-engine.sock';

async function failure(p: Promise<unknown>): Promise<LabError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LabError);
  return err as LabError;
}

function engine(storeId: () => Promise<string> = async () => 'store-1') {
  const calls: CallEntry[] = [];
  const e = new DockerEngine(NOWHERE, { extra: {}, store: '' }, storeId, (c) => calls.push(c));
  e.name = 'b';
  return { e, calls };
}

describe('the Docker layer', () => {
  it('reports an engine that does not answer as unavailable, naming it, for swarm calls too', async () => {
    const { e } = engine();
    for (const call of [() => e.swarm.leave(), () => e.swarm.nodeIds(), () => e.system.info(), () => e.networks.list()]) {
      const err = await failure(call());
      expect(err.code).toBe('DOCKER_UNAVAILABLE');
      expect(err.message).toContain("engine 'b'");
    }
  });

  it('logs every call with the object it was about', async () => {
    const { e, calls } = engine();
    await failure(e.containers.inspect('r1'));
    await failure(e.networks.connect('net-id', 'ctr-id', '10.0.0.5'));
    expect(calls.map((c) => [c.op, c.id, c.engine])).toEqual([
      ['container.inspect', 'r1', 'b'],
      ['network.connect', 'net-id <- ctr-id', 'b'],
    ]);
    expect(calls[0]?.error).toContain("engine 'b'");
  });

  it("learns the store's id before it makes anything, without anyone calling ready()", async () => {
    let asked = 0;
    const { e } = engine(async () => {
      asked++;
      return 'store-7';
    });
    expect((await failure(e.containers.create('host', { name: 'h1', Image: 'x' }))).code).toBe('DOCKER_UNAVAILABLE');
    expect((await failure(e.networks.create({ Name: 'n1' }))).code).toBe('DOCKER_UNAVAILABLE');
    expect(e.labels.store).toBe('store-7');
    expect(asked).toBe(1);
  });

  it('keeps the raw client to itself', () => {
    const { e } = engine();
    expect('api' in e).toBe(false);
    expect('call' in e).toBe(false);
  });
});
