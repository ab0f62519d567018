import { describe, expect, it } from 'vitest';
import { LabError } from '../../src/core/errors.js';
import { type Phase, runSteps, type Step, undoSteps } from '../../src/core/steps/run.js';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

/** Steps that write what happens to them in one journal, in the order it happens. */
function journal() {
  const log: string[] = [];
  const step = (name: string, o: { ms?: number; fails?: unknown; undoFails?: unknown; noUndo?: boolean } = {}): Step => ({
    describe: name,
    async apply() {
      log.push(`start ${name}`);
      await tick(o.ms ?? 1);
      if (o.fails !== undefined) {
        log.push(`fail ${name}`);
        throw o.fails;
      }
      log.push(`end ${name}`);
    },
    ...(o.noUndo
      ? {}
      : {
          async undo() {
            log.push(`undo ${name}`);
            if (o.undoFails !== undefined) throw o.undoFails;
          },
        }),
  });
  return { log, step };
}

describe('step executor', () => {
  it('runs phases in order: a phase starts once every step of the one before has settled', async () => {
    const { log, step } = journal();
    const r = await runSteps([
      { steps: [step('net-a', { ms: 15 }), step('net-b', { ms: 5 })] },
      { steps: [step('node-1'), step('node-2')], concurrency: 1 },
    ]);
    expect(r.ok).toBe(true);
    const firstNode = log.indexOf('start node-1');
    expect(log.indexOf('end net-a')).toBeLessThan(firstNode);
    expect(log.indexOf('end net-b')).toBeLessThan(firstNode);
    // concurrency 1 keeps the order of the list
    expect(log.slice(firstNode)).toEqual(['start node-1', 'end node-1', 'start node-2', 'end node-2']);
    expect(r.applied.map((s) => s.describe)).toEqual(['net-b', 'net-a', 'node-1', 'node-2']);
  });

  it('runs at most `concurrency` steps of a phase at a time, and all at once without a bound', async () => {
    const measure = async (concurrency?: number) => {
      let running = 0;
      let most = 0;
      const steps: Step[] = Array.from({ length: 10 }, (_, i) => ({
        describe: `s${i}`,
        async apply() {
          most = Math.max(most, ++running);
          await tick(10);
          running--;
        },
      }));
      const t0 = Date.now();
      const r = await runSteps([{ steps, ...(concurrency ? { concurrency } : {}) }]);
      expect(r.applied).toHaveLength(10);
      return { most, ms: Date.now() - t0 };
    };
    const three = await measure(3);
    expect(three.most).toBe(3);
    // four rounds of 10 ms, not one
    expect(three.ms).toBeGreaterThanOrEqual(35);
    expect((await measure(1)).most).toBe(1);
    expect((await measure()).most).toBe(10);
  });

  it('reports progress: a title per phase and a count per step, fractions growing to 1', async () => {
    const { step } = journal();
    const seen: Array<[string, number | undefined]> = [];
    await runSteps(
      [
        { title: 'making networks', steps: [step('network a')] },
        { steps: [step('node 1'), step('node 2'), step('node 3')], concurrency: 1 },
      ],
      { progress: (m, f) => seen.push([m, f]) },
    );
    expect(seen).toEqual([
      ['making networks', 0],
      ['network a done (1/1)', 0.25],
      ['node 1 done (1/3)', 0.5],
      ['node 2 done (2/3)', 0.75],
      ['node 3 done (3/3)', 1],
    ]);
  });

  it('says what a phase asks to say, over the part of the bar it names, failures included', async () => {
    const { step } = journal();
    const seen: Array<[string, number | undefined]> = [];
    const phase: Phase = {
      steps: [step('r1'), step('r2', { fails: new Error('no image') })],
      concurrency: 1,
      keepGoing: true,
      span: [0.1, 0.8],
      say: (s, c) => `node ${s.describe} ${c.failed ? 'failed' : 'up'} (${c.done}/${c.total})`,
    };
    const quiet: Phase = { steps: [step('q')], say: () => undefined };
    await runSteps([quiet, phase], { progress: (m, f) => seen.push([m, f]) });
    expect(seen).toEqual([
      ['node r1 up (1/2)', expect.closeTo(0.45, 9)],
      ['node r2 failed (2/2)', 0.8],
    ]);
  });

  it('a failing step stops the run: nothing more starts, and what was applied is undone newest first', async () => {
    const { log, step } = journal();
    const boom = new LabError('DAEMON_ERROR', 'r3 would not start');
    const r = await runSteps([
      { steps: [step('net')] },
      { steps: [step('r1'), step('r2'), step('r3', { fails: boom }), step('r4')], concurrency: 1 },
      { steps: [step('record')] },
    ]);
    expect(r.ok).toBe(false);
    expect(r.cancelled).toBe(false);
    expect(r.failures).toEqual([{ step: expect.objectContaining({ describe: 'r3' }), error: boom }]);
    expect(log).not.toContain('start r4');
    expect(log).not.toContain('start record');
    expect(log.filter((l) => l.startsWith('undo'))).toEqual(['undo r2', 'undo r1', 'undo net']);
    expect(log).not.toContain('undo r3');
    expect(r.undone).toBe(3);
    expect(r.leftovers).toEqual([]);
  });

  it('with keepGoing every step of the phase is tried, then the run fails and undoes them all', async () => {
    const { log, step } = journal();
    const r = await runSteps([
      {
        steps: [step('r1'), step('r2', { fails: new Error('x') }), step('r3', { fails: new Error('y') }), step('r4')],
        concurrency: 1,
        keepGoing: true,
      },
      { steps: [step('after')] },
    ]);
    expect(r.failures.map((f) => f.step.describe)).toEqual(['r2', 'r3']);
    expect(log).toContain('end r4');
    expect(log).not.toContain('start after');
    expect(log.filter((l) => l.startsWith('undo'))).toEqual(['undo r4', 'undo r1']);
  });

  it('cancellation stops starting new steps and undoes what was applied, newest first', async () => {
    const { log, step } = journal();
    const ac = new AbortController();
    const signals: Array<AbortSignal | undefined> = [];
    const aborting: Step = {
      describe: 'r2',
      async apply(signal) {
        signals.push(signal);
        log.push('start r2');
        ac.abort();
        log.push('end r2');
      },
      async undo() {
        log.push('undo r2');
      },
    };
    const r = await runSteps(
      [{ steps: [step('net')] }, { steps: [step('r1'), aborting, step('r3')], concurrency: 1 }, { steps: [step('record')] }],
      {
        signal: ac.signal,
      },
    );
    expect(r).toMatchObject({ ok: false, cancelled: true, failures: [] });
    expect(signals).toEqual([ac.signal]);
    expect(log).not.toContain('start r3');
    expect(log).not.toContain('start record');
    expect(log.filter((l) => l.startsWith('undo'))).toEqual(['undo r2', 'undo r1', 'undo net']);
  });

  it('a signal aborted before the run starts nothing; one aborted after the last step cancels nothing', async () => {
    const { log, step } = journal();
    const ac = new AbortController();
    ac.abort();
    const r = await runSteps([{ steps: [step('a')] }], { signal: ac.signal });
    expect(r).toMatchObject({ ok: false, cancelled: true, applied: [] });
    expect(log).toEqual([]);

    const late = new AbortController();
    const last: Step = { describe: 'last', apply: async () => late.abort(), undo: async () => void log.push('undo last') };
    const done = await runSteps([{ steps: [step('b')] }, { steps: [last] }], { signal: late.signal });
    expect(done).toMatchObject({ ok: true, cancelled: false, undone: 0 });
    expect(log).not.toContain('undo last');
  });

  it('an undo that fails is reported as a leftover and the other undos still run', async () => {
    const { log, step } = journal();
    const r = await runSteps([
      {
        steps: [step('net'), step('r1', { undoFails: new Error('device busy') }), step('r2'), step('r3', { fails: new Error('no') })],
        concurrency: 1,
      },
    ]);
    expect(log.filter((l) => l.startsWith('undo'))).toEqual(['undo r2', 'undo r1', 'undo net']);
    expect(r.undone).toBe(2);
    expect(r.leftovers).toEqual(['r1: device busy']);
  });

  it('undoes nothing when every step succeeds', async () => {
    const { log, step } = journal();
    let told = false;
    const r = await runSteps([{ steps: [step('a'), step('b')] }, { steps: [step('c')] }], { onRollback: () => (told = true) });
    expect(r).toMatchObject({ ok: true, cancelled: false, failures: [], undone: 0, leftovers: [] });
    expect(log.some((l) => l.startsWith('undo'))).toBe(false);
    expect(told).toBe(false);
  });

  it('rollback: false keeps what was applied; steps without undo are skipped by a rollback', async () => {
    const { log, step } = journal();
    const kept = await runSteps([{ steps: [step('a'), step('b', { fails: 1 })], concurrency: 1 }], { rollback: false });
    expect(kept.ok).toBe(false);
    expect(kept.applied.map((s) => s.describe)).toEqual(['a']);
    expect(log.some((l) => l.startsWith('undo'))).toBe(false);

    let toUndo: string[] = [];
    const r = await runSteps([{ steps: [step('check', { noUndo: true }), step('c'), step('d', { fails: 1 })], concurrency: 1 }], {
      onRollback: (steps) => (toUndo = steps.map((s) => s.describe)),
    });
    expect(toUndo).toEqual(['c']);
    expect(r.undone).toBe(1);
    expect(log.filter((l) => l.startsWith('undo'))).toEqual(['undo c']);

    // a rollback with nothing to undo is still a rollback: the caller is told, to say so
    let told: string[] | undefined;
    await runSteps([{ steps: [step('e', { fails: 1 })] }], { onRollback: (steps) => (told = steps.map((s) => s.describe)) });
    expect(told).toEqual([]);
  });

  it('a progress callback that throws does not fail the work', async () => {
    const { step } = journal();
    const r = await runSteps([{ title: 't', steps: [step('a')] }], {
      progress: () => {
        throw new Error('client went away');
      },
    });
    expect(r.ok).toBe(true);
  });

  it('undoSteps undoes a list newest first and names what it could not', async () => {
    const { log, step } = journal();
    const r = await undoSteps([step('a'), step('b', { undoFails: new LabError('NOT_FOUND', 'gone') }), step('c')]);
    expect(log).toEqual(['undo c', 'undo b', 'undo a']);
    expect(r).toEqual({ undone: 2, leftovers: ['b: gone'] });
  });
});
