import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLab, type Lab } from '../../src/core/lab.js';
import { call, callError, root, testEnv } from '../helpers/docker.js';
import { ADDRESSES, engineApi, forceLeave, SECOND_ENGINE, secondEngineDown, secondEngineUp, swarmState } from '../helpers/engines.js';

/** Two real engines on this machine (the second in its own network namespace) and Docker Swarm. */
const a = engineApi();
const b = engineApi(SECOND_ENGINE);
const base = testEnv(`engines-${process.pid}`);
const env: Record<string, string> = { ...base, NSLAB_ENGINES: `a=unix:///var/run/docker.sock,b=${SECOND_ENGINE}` };
const labWith = (more: Record<string, string> = {}): Lab => createLab(loadConfig({ ...process.env, ...env, ...more }, {}, root));
const advertise = { advertise: ADDRESSES };

describe('engines joined by Docker Swarm', () => {
  beforeAll(() => {
    secondEngineUp();
  }, 120_000);
  beforeEach(async () => {
    await forceLeave(b);
    await forceLeave(a);
  });
  afterAll(async () => {
    // Whatever happened, both engines leave every swarm and the second engine stops.
    await forceLeave(b);
    await forceLeave(a);
    secondEngineDown();
  });

  it('lists one engine when NSLAB_ENGINES is unset, and both when it names two', async () => {
    const one = await call<{ engines: Array<{ name: string; reachable: boolean }> }>(
      createLab(loadConfig({ ...process.env, ...testEnv('engines-one') }, {}, root)),
      'engine_list',
      {},
    );
    expect(one.engines.map((e) => [e.name, e.reachable])).toEqual([['default', true]]);
    const two = await call<{ engines: Array<{ name: string; reachable: boolean; swarm: { role: string }; docker_version: string }> }>(
      labWith(),
      'engine_list',
      {},
    );
    expect(two.engines.map((e) => [e.name, e.reachable, e.swarm.role])).toEqual([
      ['a', true, 'none'],
      ['b', true, 'none'],
    ]);
    expect(two.engines[1]?.docker_version).toMatch(/^\d+\.\d+/);
  });

  it('nslab engines join makes the swarm, join again changes nothing, leave restores both engines', () => {
    const nslab = (...args: string[]) =>
      spawnSync(process.execPath, [join(root, 'dist', 'src', 'cli', 'main.js'), 'engines', ...args, '--json'], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
        timeout: 120_000,
      });
    const joined = nslab('join', '--advertise', `a=${ADDRESSES.a}`, `b=${ADDRESSES.b}`);
    expect(joined.status, joined.stderr).toBe(0);
    expect(JSON.parse(joined.stdout)).toEqual({ manager: 'a', initialized: true, joined: ['b'], already: [] });
    const again = nslab('join', '--advertise', `a=${ADDRESSES.a}`, `b=${ADDRESSES.b}`);
    expect(JSON.parse(again.stdout)).toEqual({ manager: 'a', initialized: false, joined: [], already: ['b'] });
    const listed = JSON.parse(nslab('list').stdout) as { engines: Array<{ swarm: { role: string; joined_by_lab: boolean } }> };
    expect(listed.engines.map((e) => [e.swarm.role, e.swarm.joined_by_lab])).toEqual([
      ['manager', true],
      ['worker', true],
    ]);
    const left = nslab('leave');
    expect(left.status, left.stderr).toBe(0);
    expect(JSON.parse(left.stdout)).toEqual({ left: ['b'], removed_swarm: true });
    expect(existsSync(join(base.NSLAB_DATA_DIR as string, 'swarm.json'))).toBe(false);
  });

  it('after leave both engines are in no swarm', async () => {
    const lab = labWith();
    await call(lab, 'engine_join', advertise);
    await call(lab, 'engine_leave', {});
    expect([await swarmState(a), await swarmState(b)]).toEqual(['inactive', 'inactive']);
  });

  it('keeps a swarm that was there before: joins b to it, and leave takes out only b', async () => {
    await a.swarmInit({ ListenAddr: '0.0.0.0:2377', AdvertiseAddr: ADDRESSES.a });
    const lab = labWith();
    expect(await call(lab, 'engine_join', advertise)).toMatchObject({ initialized: false, joined: ['b'] });
    await call(lab, 'engine_leave', {});
    expect(await swarmState(a)).toBe('active');
    expect(await swarmState(b)).toBe('inactive');
    const nodes = (await a.listNodes()) as unknown[];
    expect(nodes).toHaveLength(1);
  });

  it('refuses an engine in another swarm by name, and changes nothing', async () => {
    await b.swarmInit({ ListenAddr: '0.0.0.0:2377', AdvertiseAddr: ADDRESSES.b });
    const err = await callError(labWith(), 'engine_join', advertise);
    expect(err.code).toBe('CONFLICT');
    expect(err.message).toContain("engine 'b' belongs to another swarm");
    expect(await swarmState(a)).toBe('inactive');
    expect(await swarmState(b)).toBe('active');
  });

  it('refuses an unknown engine name and an engine that does not answer, changing nothing', async () => {
    const unknown = await callError(labWith(), 'engine_join', { advertise: { c: '192.0.2.9' } });
    expect(unknown.code).toBe('INVALID_INPUT');
    expect(unknown.message).toContain('advertise.c');
    const gone = await callError(
      labWith({ NSLAB_ENGINES: `${env.NSLAB_ENGINES},c=unix:///var/run/nslab-nothing.sock` }),
      'engine_join',
      advertise,
    );
    expect(gone.code).toBe('DOCKER_UNAVAILABLE');
    expect(gone.message).toContain("engine 'c'");
    expect([await swarmState(a), await swarmState(b)]).toEqual(['inactive', 'inactive']);
    const listed = await call<{ engines: Array<{ name: string; reachable: boolean; error?: string }> }>(
      labWith({ NSLAB_ENGINES: `${env.NSLAB_ENGINES},c=unix:///var/run/nslab-nothing.sock` }),
      'engine_list',
      {},
    );
    expect(listed.engines.find((e) => e.name === 'c')).toMatchObject({ reachable: false });
  });
});
