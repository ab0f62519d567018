import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lab } from '../../src/core/lab.js';
import { createSlack, type SlackFrontEnd } from '../../src/slack/app.js';
import { call, callError, root, sweep, testLab } from '../helpers/docker.js';
import { FakeSlack, signedPost, slashForm } from '../helpers/fake-slack.js';

/**
 * examples/failover.yaml on a real engine: a ring of FRR and GoBGP routers with a short and a long
 * way between two hosts, and an ExaBGP router injecting a prefix. What a user of topology_verify,
 * lab_check, fault_inject and topology_scenario sees: checks that hold, checks that fail for the
 * right reason, faults that break the lab and are undone, and the convergence time of a cut link.
 */
const RUN = `chk-${process.pid}`;
const T = 'failover';
const docker = new Docker();
let lab: Lab;

interface CheckOut {
  id: string;
  check: string;
  target: string;
  ok: boolean;
  expected: string;
  observed: string;
  detail: string;
  took_ms: number;
}
interface Verify {
  passed: boolean;
  summary: string;
  checks: CheckOut[];
  failures: string[];
}
interface Scenario {
  passed: boolean;
  steps: Array<{ step: string; ok: boolean; converged_ms?: number; disrupted?: boolean; checks?: CheckOut[]; detail?: string }>;
  skipped: number;
  cleared_after_failure?: string[];
}
const c = (name: string) => `${T}-${name}`;
const byId = (v: Verify, id: string) => v.checks.find((x) => x.id === id) as CheckOut;
const labelled = async () => ({
  containers: await docker.listContainers({ all: true, filters: { label: [`netstream-lab.topology=${T}`, `netstream-lab.test=${RUN}`] } }),
  networks: await docker.listNetworks({ filters: { label: [`netstream-lab.topology=${T}`, `netstream-lab.test=${RUN}`] } }),
});

beforeAll(async () => {
  lab = testLab(RUN);
  await call(lab, 'topology_create', { yaml: readFileSync(join(root, 'examples', 'failover.yaml'), 'utf8') });
  const up = await call<{ established: { all: boolean } }>(lab, 'topology_standup', { name: T, wait_established_s: 120 });
  expect(up.established.all).toBe(true);
}, 400_000);

afterAll(async () => {
  await sweep(RUN);
});

describe('checks, faults and scenarios on a real engine', () => {
  it('a healthy lab verifies: every node runs, every session is up, every expectation of the file holds', async () => {
    const v = await call<Verify>(lab, 'topology_verify', { name: T, wait_s: 60 });
    expect(v.failures).toEqual([]);
    expect(v.passed).toBe(true);
    // 7 nodes, 5 sessions, 7 expectations
    expect(v.checks).toHaveLength(19);
    expect(v.summary).toBe('19 of 19 checks hold');
    expect(byId(v, 'session:r2~r5')).toMatchObject({ ok: true, observed: 'r2 sees Established, r5 sees Established' });
    expect(byId(v, 'expect.2')).toMatchObject({ ok: true, target: 'r2 10.161.1.0/24' });
    expect(byId(v, 'expect.2').observed).toMatch(/^held, AS path 65001, next hop 10\.160\.12\./);
    expect(byId(v, 'expect.6')).toMatchObject({ ok: true, observed: 'h1 -> r1 -> r2 -> h2' });
    // Without the implicit checks only the file's own remain.
    const own = await call<Verify>(lab, 'topology_verify', { name: T, implicit: false });
    expect(own.checks.map((x) => x.id)).toEqual(['expect.0', 'expect.1', 'expect.2', 'expect.3', 'expect.4', 'expect.5', 'expect.6']);
  });

  it('every check type fails for the right reason, read the same way from FRR, GoBGP and ExaBGP', async () => {
    const v = await call<Verify>(lab, 'lab_check', {
      checks: [
        { id: 'gobgp-unannounced', check: 'route', node: c('r3'), prefix: '10.99.0.0/24' },
        { id: 'frr-aspath', check: 'route', node: c('r1'), prefix: '10.161.2.0/24', as_path: [65004, 65003, 65002] },
        { id: 'frr-absent', check: 'route', node: c('r2'), prefix: '10.161.1.0/24', present: false },
        { id: 'frr-nexthop', check: 'route', node: c('r2'), prefix: '10.161.1.0/24', next_hop: c('r3') },
        { id: 'exabgp-held', check: 'route', node: c('r5'), prefix: '10.161.1.0/24', as_path: [65002, 65001] },
        { id: 'exabgp-unannounced', check: 'route', node: c('r5'), prefix: '10.99.0.0/24' },
        { id: 'gobgp-held', check: 'route', node: c('r3'), prefix: '10.161.2.0/24', as_path: [65002] },
        { id: 'state', check: 'session', a: c('r1'), b: c('r2'), state: 'Idle' },
        { id: 'unconfigured', check: 'session', a: c('r1'), b: c('r3') },
        { id: 'exabgp-session', check: 'session', a: c('r5'), b: c('r2') },
        { id: 'nobody', check: 'ping', from: c('h1'), to: '10.161.2.200', count: 1 },
        { id: 'reach', check: 'ping', from: c('h2'), to: c('h1') },
        { id: 'detour', check: 'path', from: c('h1'), to: c('h2'), via: [c('r4')] },
      ],
    });
    expect(v.passed).toBe(false);
    const r = (id: string) => byId(v, id);
    expect(r('gobgp-unannounced')).toMatchObject({ ok: false, observed: 'absent' });
    expect(r('gobgp-unannounced').detail).toMatch(/^failover-r3 has no route to 10\.99\.0\.0\/24; it holds \d+ other prefixes/);
    expect(r('frr-aspath')).toMatchObject({ ok: false, expected: 'held, AS path 65004 65003 65002' });
    expect(r('frr-aspath').detail).toMatch(/^failover-r1 prefers AS path 65002 for 10\.161\.2\.0\/24/);
    expect(r('frr-absent').detail).toMatch(/failover-r2 holds 10\.161\.1\.0\/24 but must not \(AS path 65001\)/);
    expect(r('frr-nexthop').detail).toMatch(/failover-r2 reaches 10\.161\.1\.0\/24 through 10\.160\.12\.\d+, not failover-r3/);
    expect(r('exabgp-held')).toMatchObject({ ok: true });
    expect(r('exabgp-unannounced')).toMatchObject({ ok: false, observed: 'absent' });
    expect(r('gobgp-held')).toMatchObject({ ok: true });
    expect(r('state')).toMatchObject({
      ok: false,
      expected: 'Idle at both ends',
      observed: 'failover-r1 sees Established, failover-r2 sees Established',
    });
    expect(r('unconfigured')).toMatchObject({ ok: false, observed: 'not configured' });
    expect(r('unconfigured').detail).toMatch(/failover-r1 has no BGP neighbor on an address of failover-r3/);
    expect(r('exabgp-session')).toMatchObject({ ok: true });
    expect(r('nobody')).toMatchObject({ ok: false, observed: '0/1 replies (100% loss)' });
    expect(r('nobody').detail).toMatch(/no reply from 10\.161\.2\.200 to failover-h1/);
    expect(r('reach')).toMatchObject({ ok: true, observed: '3/3 replies (0% loss)' });
    expect(r('detour')).toMatchObject({ ok: false, observed: 'failover-h1 -> failover-r1 -> failover-r2 -> failover-h2' });
    expect(r('detour').detail).toMatch(/does not pass failover-r4/);
    expect(v.failures).toHaveLength(v.checks.filter((x) => !x.ok).length);
    expect(v.failures.join('\n')).toMatch(/^route failover-r3 10\.99\.0\.0\/24: expected held, saw absent — /m);
  });

  it('cutting the short link moves traffic the long way round, the scenario times it, and clearing heals', async () => {
    const s = await call<Scenario>(lab, 'topology_scenario', { name: T, scenario: 'cut-short' });
    expect(s.steps.map((x) => [x.step, x.ok])).toEqual([
      ['fault link_down r1 on r1r2', true],
      ['verify 2 checks', true],
      ['clear all', true],
      ['verify all', true],
    ]);
    expect(s.passed).toBe(true);
    const cut = s.steps[1];
    // The cut broke the ping at first (the far end keeps its route until its hold timer, 9 s, runs out).
    expect(cut?.disrupted).toBe(true);
    expect(cut?.converged_ms).toBeGreaterThan(1000);
    expect(cut?.checks?.find((x) => x.check === 'path')?.observed).toBe('h1 -> r1 -> r4 -> r3 -> r2 -> h2');
    process.stderr.write(
      `[measure] failover cut-short: converged after ${cut?.converged_ms} ms; healed after ${s.steps[3]?.converged_ms} ms\n`,
    );
    expect(await call(lab, 'fault_list', {})).toEqual({ faults: [] });
    const after = await call<Verify>(lab, 'topology_verify', { name: T });
    expect(after.passed).toBe(true);
    expect(byId(after, 'expect.6').observed).toBe('h1 -> r1 -> r2 -> h2');
  });

  it("a host's link goes down and comes back with its default route", async () => {
    const f = await call<{ id: string; kind: string }>(lab, 'fault_inject', {
      kind: 'link_down',
      node: 'h2',
      network: 'lan2',
      topology: T,
    });
    const down = await call<Verify>(lab, 'lab_check', { checks: [{ check: 'ping', from: c('h2'), to: c('h1'), count: 1 }] });
    expect(down.passed).toBe(false);
    // link_up undoes exactly that fault
    const up = await call<{ id: string; kind: string }>(lab, 'fault_inject', { kind: 'link_up', node: 'h2', network: 'lan2', topology: T });
    expect(up).toMatchObject({ id: f.id, kind: 'link_up' });
    const route = await call<{ stdout: string }>(lab, 'host_exec', { name: c('h2'), command: ['ip', 'route', 'show', 'default'] });
    expect(route.stdout).toMatch(/^default via 10\.161\.2\.\d+/);
    const healed = await call<Verify>(lab, 'lab_check', { checks: [{ check: 'ping', from: c('h2'), to: c('h1') }], wait_s: 30 });
    expect(healed.passed).toBe(true);
    const again = await callError(lab, 'fault_inject', { kind: 'link_up', node: 'h2', network: 'lan2', topology: T });
    expect(again.message).toMatch(/link on failover-lan2 is not down by a fault/);
  });

  it('a killed daemon (FRR, GoBGP, ExaBGP) is named by verify, its container stays, and fault_clear brings it back', async () => {
    for (const n of ['r3', 'r4', 'r5']) await call(lab, 'fault_inject', { kind: 'daemon_kill', node: n, topology: T });
    for (const n of ['r3', 'r4', 'r5']) expect((await docker.getContainer(c(n)).inspect()).State.Running).toBe(true);
    const twice = await callError(lab, 'fault_inject', { kind: 'daemon_kill', node: 'r4', topology: T });
    expect(twice.code).toBe('CONFLICT');
    expect(twice.message).toMatch(/failover-r4 already has this fault \(f-[0-9a-f]{8}/);
    const v = await call<Verify>(lab, 'topology_verify', { name: T });
    expect(v.passed).toBe(false);
    for (const n of ['r3', 'r4', 'r5']) {
      expect(byId(v, `node:${n}`)).toMatchObject({ ok: false, observed: 'running, BGP daemon not answering' });
      expect(byId(v, `node:${n}`).detail).toMatch(new RegExp(`the BGP daemon of ${n} does not answer`));
    }
    expect(byId(v, 'session:r3~r4').detail).toMatch(/the BGP daemon of r3 and r4 does not answer/);
    const listed = await call<{ faults: Array<{ kind: string; node: string }> }>(lab, 'fault_list', { topology: T });
    expect(listed.faults.map((f) => [f.kind, f.node]).sort()).toEqual([
      ['daemon_kill', c('r3')],
      ['daemon_kill', c('r4')],
      ['daemon_kill', c('r5')],
    ]);
    const cleared = await call<{ cleared: unknown[]; warnings: string[] }>(lab, 'fault_clear', { id: 'all', topology: T });
    expect(cleared.cleared).toHaveLength(3);
    expect(cleared.warnings).toEqual([]);
    const back = await call<Verify>(lab, 'topology_verify', { name: T, wait_s: 90 });
    expect(back.failures).toEqual([]);
  });

  it('session_reset bounces one session, which comes back by itself', async () => {
    const r = await call<{ kind: string; momentary?: boolean }>(lab, 'fault_inject', {
      kind: 'session_reset',
      a: 'r1',
      b: 'r2',
      topology: T,
    });
    expect(r).toMatchObject({ kind: 'session_reset', momentary: true });
    const v = await call<Verify>(lab, 'lab_check', { checks: [{ check: 'session', a: c('r1'), b: c('r2') }], wait_s: 60 });
    expect(v.passed).toBe(true);
    expect(await call(lab, 'fault_list', {})).toEqual({ faults: [] });
    // Established is not the end of it: the routes over r1-r2 come back too, and the short way wins
    // again (for a few seconds after the session returns r1 and r2 may still prefer the long way).
    const t0 = Date.now();
    const whole = await call<Verify>(lab, 'topology_verify', { name: T, wait_s: 60 });
    expect(whole.failures).toEqual([]);
    console.log(`[measure] whole lab verified ${Date.now() - t0} ms after the r1~r2 session was Established again`);
  });

  it('nslab topology verify prints the checks and exits 1 while a check fails', async () => {
    const env = { ...process.env, NSLAB_DATA_DIR: lab.config.dataDir, NSLAB_EXTRA_LABELS: `netstream-lab.test=${RUN}` };
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [join(root, 'dist', 'src', 'cli', 'main.js'), ...args], { env, encoding: 'utf8', timeout: 120_000 });
    const ok = cli('topology', 'verify', T, '--json');
    expect(ok.status, `${ok.stdout}${ok.stderr}`).toBe(0);
    expect(JSON.parse(ok.stdout).summary).toBe('19 of 19 checks hold');
    await call(lab, 'fault_inject', { kind: 'link_down', node: 'r2', network: 'lan2', topology: T });
    const bad = cli('topology', 'verify', T, '--no-implicit', '--json');
    expect(bad.status).toBe(1);
    expect(JSON.parse(bad.stdout).failures.join('\n')).toMatch(/^ping h1 -> h2: expected 3\/3 replies, saw 0\/3 replies/m);
    await call(lab, 'fault_clear', { id: 'all' });
  });

  it('/lab topology verify in Slack (real Bolt, signed requests): one line per failing check, in the channel with --public', async () => {
    const fake = await new FakeSlack().start();
    const secret = 'chk-signing-secret';
    const slack = createSlack(
      lab,
      { SLACK_SIGNING_SECRET: secret, SLACK_BOT_TOKEN: 'xoxb-test', SLACK_API_URL: fake.apiUrl },
      {},
    ) as SlackFrontEnd;
    await slack.start();
    const server = createServer((req, res) => void slack.handle(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
    try {
      await call(lab, 'fault_inject', { kind: 'link_down', node: 'r2', network: 'lan2', topology: T });
      const responseUrl = fake.newResponseUrl();
      const res = await signedPost(url, slashForm(`topology verify ${T} --public`, 'UREADER', 'CLAB', responseUrl), secret);
      expect(res.status).toBe(200);
      const first = res.json() as { text?: string };
      const reply = (first.text ?? '').startsWith('⏳')
        ? (await fake.until('the answer', () => fake.responsesTo(responseUrl)[0])).body
        : (first as Record<string, unknown>);
      expect(reply.response_type).toBe('in_channel');
      const text = JSON.stringify(reply.blocks);
      // r2's LAN is cut: the hosts cannot reach each other, and r5 (on that LAN) loses its session
      expect(text).toMatch(/\*summary\*\\n1[0-9] of 19 checks hold; [2-9] fail/);
      expect(text).toContain('session r2 &lt;-&gt; r5: expected Established at both ends');
      expect(text).toContain('ping h1 -&gt; h2: expected 3/3 replies, saw 0/3 replies');
      // the per-check table stays out of the message: the failing lines say what matters
      expect(text).not.toContain('session:r3~r4');
    } finally {
      await call(lab, 'fault_clear', { id: 'all' });
      await slack.stop();
      server.close();
      await fake.stop();
    }
  });

  it('hostile input is refused before anything is sent or changed', async () => {
    const e1 = await callError(lab, 'lab_check', { checks: [{ check: 'ping', from: 'nope', to: '8.8.8.8' }] });
    expect(e1.code).toBe('INVALID_INPUT');
    expect(e1.message).toContain("checks.0.from: no node 'nope' in the lab");
    expect(e1.message).toContain("checks.0.to: 8.8.8.8 is outside the lab's networks");
    const e2 = await callError(lab, 'lab_check', { checks: [{ check: 'ping', from: c('h1'), to: '127.0.0.1' }] });
    expect(e2.message).toContain('127.0.0.1 is outside');
    const many = Array.from({ length: 10_000 }, () => ({ check: 'ping', from: c('h1'), to: c('h2') }));
    const e3 = await callError(lab, 'lab_check', { checks: many });
    expect(e3.message).toMatch(/checks: at most 500 checks/);
    const steps = Array.from({ length: 1000 }, () => ({ sleep_s: 1 }));
    const e4 = await callError(lab, 'topology_scenario', { name: T, steps });
    expect(e4.message).toMatch(/steps: at most 100 steps/);
    // a typo in the last step stops the scenario before its first fault goes in
    const e5 = await callError(lab, 'topology_scenario', {
      name: T,
      steps: [{ fault: { kind: 'node_pause', node: 'r1' } }, { verify: [{ check: 'ping', from: 'h1', to: 'h9' }] }],
    });
    expect(e5.message).toContain("steps.1.verify.0.to: no node 'failover-h9' in the lab".replace('failover-h9', 'h9'));
    expect(await call(lab, 'fault_list', {})).toEqual({ faults: [] });
    const e6 = await callError(lab, 'topology_scenario', { name: T, scenario: '__proto__' });
    expect(e6.code).toBe('INVALID_INPUT');
    const e7 = await callError(lab, 'topology_scenario', { name: T, scenario: 'constructor' });
    expect(e7.code).toBe('NOT_FOUND');
    expect(e7.message).toContain("scenario 'constructor' not found");
    const e8 = await callError(lab, 'fault_inject', { kind: 'link_down', node: 'r1', network: 'lan2', topology: T });
    expect(e8.message).toMatch(/network: failover-r1 has no interface on 'failover-lan2'/);
    const e9 = await callError(lab, 'fault_inject', { kind: 'daemon_kill', node: 'h1', topology: T });
    expect(e9.message).toMatch(/is a host/);
    const e10 = await callError(lab, 'fault_inject', { kind: 'node_pause', node: 'r9', topology: T });
    expect(e10.code).toBe('NOT_FOUND');
    const e11 = await callError(lab, 'fault_inject', { kind: 'link_down', node: c('r1') });
    expect(e11.message).toContain('network: link_down needs node and network');
    const e12 = await callError(lab, 'fault_clear', { id: 'f-00000000' });
    expect(e12.code).toBe('NOT_FOUND');
    const file = readFileSync(join(root, 'examples', 'failover.yaml'), 'utf8').replace(/^name: failover$/m, 'name: failover-bad');
    const e13 = await callError(lab, 'topology_create', {
      yaml: `${file}\n`.replace(
        'expect:\n',
        'expect:\n  - { check: ping, from: h1, to: 192.0.2.1 }\n  - { check: route, node: h1, prefix: 10.0.0.0/8 }\n',
      ),
    });
    expect(e13.message).toContain('expect.0.to: 192.0.2.1 is outside this file');
    expect(e13.message).toContain("expect.1.node: 'h1' is a host");
    expect(await call(lab, 'fault_list', {})).toEqual({ faults: [] });
    expect((await call<Verify>(lab, 'topology_verify', { name: T, wait_s: 30 })).passed).toBe(true);
  });

  it('a paused node is named by verify, and teardown after a pause leaves nothing behind', async () => {
    await call(lab, 'fault_inject', { kind: 'node_pause', node: 'r4', topology: T });
    expect((await docker.getContainer(c('r4')).inspect()).State.Paused).toBe(true);
    const st = await call<{ nodes: Array<{ name: string; state: string }>; faults?: Array<{ kind: string; target: string }> }>(
      lab,
      'topology_status',
      {
        name: T,
      },
    );
    expect(st.nodes.find((n) => n.name === c('r4'))?.state).toBe('paused');
    expect(st.faults).toEqual([expect.objectContaining({ kind: 'node_pause', target: c('r4') })]);
    const v = await call<Verify>(lab, 'topology_verify', { name: T });
    expect(byId(v, 'node:r4')).toMatchObject({ ok: false, observed: 'paused' });
    expect(byId(v, 'node:r4').detail).toMatch(/r4 is not running: it is paused/);
    // standup converges to the file: the pause is undone first, nothing is recreated
    const up = await call<{ plan: { summary: Record<string, number> } }>(lab, 'topology_standup', { name: T });
    expect(up.plan.summary).toMatchObject({ create: 0, recreate: 0, delete: 0 });
    expect((await docker.getContainer(c('r4')).inspect()).State.Paused).toBe(false);
    expect(await call(lab, 'fault_list', {})).toEqual({ faults: [] });
    await call(lab, 'fault_inject', { kind: 'node_pause', node: 'r4', topology: T });
    await call(lab, 'topology_teardown', { name: T });
    expect(await labelled()).toEqual({ containers: [], networks: [] });
    expect(await call(lab, 'fault_list', {})).toEqual({ faults: [] });
  });
});
