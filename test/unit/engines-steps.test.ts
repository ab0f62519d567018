import { describe, expect, it } from 'vitest';
import { type JoinOps, type JoinOutcome, joinPhases } from '../../src/core/engines/join-plan.js';
import type { SwarmRecord } from '../../src/core/engines/swarm-record.js';
import { runSteps } from '../../src/core/steps/run.js';

/** Swarm operations that write what is asked of them in one journal; `fail` names what throws. */
function fake(fail: { join?: string; leave?: string; write?: boolean } = {}) {
  const log: string[] = [];
  const ops: JoinOps = {
    async init(engine, advertise) {
      log.push(`init ${engine}${advertise ? ` ${advertise}` : ''}`);
    },
    async leave(engine) {
      log.push(`leave ${engine}`);
      if (fail.leave === engine) throw new Error(`${engine} would not leave`);
    },
    async managerAddress(engine) {
      log.push(`address ${engine}`);
      return { token: 'TOKEN', addr: '192.0.2.1:2377' };
    },
    async join(engine, to) {
      log.push(`join ${engine} ${to.addr} ${to.token}${to.advertise ? ` ${to.advertise}` : ''}`);
      if (fail.join === engine) throw new Error(`${engine} could not join`);
      return `node-${engine}`;
    },
    async write(record) {
      log.push(`write ${record.joined.map((j) => j.engine).join(',')}`);
      if (fail.write) throw new Error('disk full');
    },
  };
  return { log, ops };
}

const fresh = (): SwarmRecord => ({ manager: 'a', initialized: false, joined: [], at: 'now' });
const nothing = (): JoinOutcome => ({ initialized: false, joined: [] });

describe('engine_join as steps', () => {
  it('plans swarm init on the manager only when it is in no swarm, then a join per worker', () => {
    const { ops } = fake();
    const plan = (managerActive: boolean) =>
      joinPhases({ manager: 'a', managerActive, workers: ['b', 'c'], advertise: {} }, ops, fresh(), nothing()).map((p) =>
        p.steps.map((s) => [s.describe, Boolean(s.undo)]),
      );
    expect(plan(false)).toEqual([
      [['swarm init on engine a', true]],
      [['swarm address of engine a', false]],
      [
        ['swarm join of engine b', true],
        ['swarm join of engine c', true],
      ],
      [['record the swarm in swarm.json', false]],
    ]);
    expect(plan(true)[0]).toEqual([]);
  });

  it('inits, joins each worker with the token and address, and records both', async () => {
    const { log, ops } = fake();
    const record = fresh();
    const outcome = nothing();
    const facts = { manager: 'a', managerActive: false, workers: ['b', 'c'], advertise: { a: '10.0.0.1', c: '10.0.0.3' } };
    const run = await runSteps(joinPhases(facts, ops, record, outcome));
    expect(run.ok).toBe(true);
    expect(log).toEqual([
      'init a 10.0.0.1',
      'address a',
      'join b 192.0.2.1:2377 TOKEN',
      'join c 192.0.2.1:2377 TOKEN 10.0.0.3',
      'write b,c',
    ]);
    expect(outcome).toEqual({ initialized: true, joined: ['b', 'c'] });
    expect(record.initialized).toBe(true);
    expect(record.joined).toEqual([
      { engine: 'b', node_id: 'node-b' },
      { engine: 'c', node_id: 'node-c' },
    ]);
  });

  it('a join that fails part way undoes what this call did, newest first, and nothing else', async () => {
    const { log, ops } = fake({ join: 'c' });
    const run = await runSteps(
      joinPhases({ manager: 'a', managerActive: false, workers: ['b', 'c', 'd'], advertise: {} }, ops, fresh(), nothing()),
    );
    expect(run.ok).toBe(false);
    expect(String(run.failures[0]?.error)).toBe('Error: c could not join');
    expect(log.slice(log.indexOf('join c 192.0.2.1:2377 TOKEN') + 1)).toEqual(['leave b', 'leave a']);
    expect(run.leftovers).toEqual([]);
  });

  it('a swarm that was already there is not left; a record that cannot be written undoes the joins', async () => {
    const { log, ops } = fake({ write: true, leave: 'b' });
    const run = await runSteps(
      joinPhases({ manager: 'a', managerActive: true, workers: ['b', 'c'], advertise: {} }, ops, fresh(), nothing()),
    );
    expect(run.ok).toBe(false);
    expect(log).not.toContain('leave a');
    expect(log.slice(-2)).toEqual(['leave c', 'leave b']);
    // what could not be undone is said, by step
    expect(run.leftovers).toEqual(['swarm join of engine b: b would not leave']);
  });
});
