import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventWatch, LabEvent } from '../../src/core/docker/events.js';
import type { Lab } from '../../src/core/lab.js';
import { call, sweep, testLab, waitFor } from '../helpers/docker.js';
import { labRule } from '../helpers/firewall.js';

/**
 * Docker's event stream under a long-running server: a lab container removed or stopped by hand
 * is heard of within a second or two, marked as drift with what repairs it; the lab's own removals
 * are not drift; a broken stream reconnects and puts the forwarding rules back.
 */
const RUN = `trust-ev-${process.pid}`;
const docker = new Docker();
const sh = promisify(execFile);
let lab: Lab;
let watch: EventWatch;
const events: LabEvent[] = [];
const seen = (name: string, action: string) => () => Promise.resolve(events.find((e) => e.name === name && e.action === action));

describe('Docker events keep a long-running server informed', () => {
  beforeAll(async () => {
    lab = testLab(RUN);
    await call(lab, 'network_create', { name: 'trust-ev-net', subnet: '10.242.60.0/24' });
    for (const h of ['trust-ev-h1', 'trust-ev-h2', 'trust-ev-h3'])
      await call(lab, 'host_create', { name: h, interfaces: [{ network: 'trust-ev-net' }] });
    watch = lab.watchEvents({ onEvent: (e) => events.push(e) });
    await watch.ready;
  });

  afterAll(async () => {
    watch?.stop();
    await sweep(RUN);
  });

  it('hears of a lab container removed by hand within two seconds, as drift that sync_run repairs', async () => {
    const t0 = Date.now();
    await docker.getContainer('trust-ev-h1').remove({ force: true });
    const e = await waitFor('the destroy event', seen('trust-ev-h1', 'destroy'), 2, 20);
    const ms = Date.now() - t0;
    expect(e).toMatchObject({ object: 'container', outside: true });
    expect(e.drift).toContain('sync_run apply');
    console.log(`[events] docker rm -f of a lab container heard after ${ms} ms`);
    // Stopped by hand: drift too.
    await docker.getContainer('trust-ev-h3').stop({ t: 1 });
    expect((await waitFor('the stop event', seen('trust-ev-h3', 'stop'), 5, 20)).drift).toContain('stopped outside');
  });

  it('does not call the lab’s own removals drift', async () => {
    await call(lab, 'host_delete', { name: 'trust-ev-h2' });
    const e = await waitFor('the destroy event', seen('trust-ev-h2', 'destroy'), 5, 20);
    expect(e.outside).toBe(false);
    expect(e.drift).toBeUndefined();
  });

  it('reconnects when the stream breaks, and puts back forwarding rules lost meanwhile', async () => {
    await sh('iptables', ['-w', '5', '-D', ...labRule('trust-ev-net')]);
    watch.interrupt();
    await waitFor(
      'the rule restored after the reconnect',
      async () =>
        (await sh('iptables', ['-w', '5', '-C', ...labRule('trust-ev-net')]).then(
          () => true,
          () => false,
        ))
          ? true
          : undefined,
      10,
      100,
    );
    await call(lab, 'host_start', { name: 'trust-ev-h3' });
    await docker.getContainer('trust-ev-h3').remove({ force: true });
    expect((await waitFor('an event after the reconnect', seen('trust-ev-h3', 'destroy'), 5, 20)).outside).toBe(true);
  });

  it('hears nothing after stop()', async () => {
    watch.stop();
    const before = events.length;
    await call(lab, 'host_create', { name: 'trust-ev-h4', interfaces: [{ network: 'trust-ev-net' }] });
    await docker.getContainer('trust-ev-h4').remove({ force: true });
    await new Promise((r) => setTimeout(r, 1000));
    expect(events.length).toBe(before);
  });
});
