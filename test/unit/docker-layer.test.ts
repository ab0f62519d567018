import { describe, expect, it } from 'vitest';
import type { CallEntry } from '../../src/core/docker/dial.js';
import { DockerEngine } from '../../src/core/docker/engine.js';
import { SwarmClient } from '../../src/core/docker/swarm-client.js';
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
  it('leaves a swarm only when the engine reads back inactive: a 503 while the swarm component restarts is asked again', async () => {
    // A stand-in engine: the first leave answers 503 and changes nothing (as Docker does while its
    // swarm component restarts), the second takes the node out.
    let state = 'active';
    let leaves = 0;
    const api = {
      swarmLeave: async () => {
        leaves++;
        if (leaves === 1) throw Object.assign(new Error('swarm component not ready'), { statusCode: 503 });
        state = 'inactive';
      },
    };
    const system = { info: async () => ({ Swarm: { LocalNodeState: state } }) };
    const dial = { run: (_op: string, _id: string | undefined, fn: (a: never) => Promise<unknown>) => fn(api as never) };
    await new SwarmClient(dial as never, system).leave(8, 1);
    expect([leaves, state]).toEqual([2, 'inactive']);

    // One that never leaves: a clear refusal after the attempts, not a silent success.
    const stuck = { swarmLeave: async () => Promise.reject(Object.assign(new Error('unavailable'), { statusCode: 503 })) };
    state = 'active';
    const err = await failure(
      new SwarmClient({ run: (_o: string, _i: unknown, fn: (a: never) => Promise<unknown>) => fn(stuck as never) } as never, system).leave(
        3,
        1,
      ),
    );
    expect(err.message).toContain('still in its swarm (state active) after 3 forced leaves');
    expect(err.hint).toContain('docker swarm leave --force');
  });
});
