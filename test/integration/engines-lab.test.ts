import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { LabEvent } from '../../src/core/docker/events.js';
import { createLab, type Lab } from '../../src/core/lab.js';
import { call, callError, root, sweep, TEST_LABEL, testEnv, waitFor } from '../helpers/docker.js';
import { ADDRESSES, engineApi, forceLeave, SECOND_ENGINE, secondEngineDown, secondEngineUp, swarmState } from '../helpers/engines.js';

/**
 * One lab over two real engines (the second in its own network namespace, scripts/second-engine.sh)
 * joined by Docker Swarm: nodes placed per engine, a network spanning both as an overlay.
 * Subnets 10.239.0.0/16, names mlab-*.
 */
const a = engineApi();
const b = engineApi(SECOND_ENGINE);
const run = `mlab-${process.pid}`;
const env = { ...testEnv(run), NSLAB_ENGINES: `a=unix:///var/run/docker.sock,b=${SECOND_ENGINE}` };
let lab: Lab;

type Status = { daemon: string; neighbors: Array<{ address: string; state: string }> };
const established = async (name: string, peer: string) => {
  const s = await call<Status>(lab, 'daemon_status', { name });
  return s.neighbors.some((n) => n.address === peer && n.state === 'Established') ? s : undefined;
};
const ping = (from: string, to: string) =>
  call<{ exit_code: number; stdout: string }>(lab, 'host_exec', { name: from, command: ['ping', '-c', '2', '-W', '2', to], timeout_s: 20 });

/** This run's containers and networks on the second engine (the shared sweep only knows the first). */
async function sweepB(): Promise<number> {
  const label = [`${TEST_LABEL}=${run}`];
  const cs = await b.listContainers({ all: true, filters: { label } }).catch(() => []);
  await Promise.all(
    cs.map((c) =>
      b
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
  const ns = await b.listNetworks({ filters: { label } }).catch(() => []);
  for (const n of ns)
    await b
      .getNetwork(n.Id)
      .remove()
      .catch(() => undefined);
  return cs.length + ns.length;
}

describe('a lab over two engines', () => {
  beforeAll(async () => {
    secondEngineUp();
    lab = createLab(loadConfig({ ...process.env, ...env }, {}, root));
    await call(lab, 'engine_join', { advertise: ADDRESSES });
  }, 180_000);

  afterAll(async () => {
    // Whatever happened: nothing of this run on either engine, both out of the swarm, engine b stopped.
    await sweepB();
    await sweep(run);
    await call(lab, 'engine_leave', {}).catch(() => undefined);
    await forceLeave(b);
    await forceLeave(a);
    secondEngineDown();
  }, 120_000);

  it('refuses an unknown engine by name, listing the engines, and changes nothing', async () => {
    await call(lab, 'network_create', { name: 'mlab-lan', subnet: '10.239.9.0/24' });
    const err = await callError(lab, 'host_create', { name: 'mlab-x', interfaces: [{ network: 'mlab-lan' }], engine: 'c' });
    expect(err.code).toBe('INVALID_INPUT');
    expect(err.message).toContain("engine: no engine named 'c'");
    expect(err.hint).toContain('a, b');
    expect((await call<{ hosts: unknown[] }>(lab, 'host_list', {})).hosts).toEqual([]);
    // A bridge is on one engine: a node on the other engine cannot join it.
    const split = await callError(lab, 'host_create', { name: 'mlab-x', interfaces: [{ network: 'mlab-lan' }], engine: 'b' });
    expect(split.code).toBe('INVALID_INPUT');
    expect(split.message).toContain("interfaces.0.network: network 'mlab-lan' is a bridge on engine 'a'");
    expect((await call<{ hosts: unknown[] }>(lab, 'host_list', {})).hosts).toEqual([]);
    await call(lab, 'network_delete', { name: 'mlab-lan' });
  });

  it('peers FRR on engine a with GoBGP on engine b over an overlay; hosts, a live route change and a VXLAN tunnel work across engines', async () => {
    const net = await call<{ driver: string; state: string }>(lab, 'network_create', {
      name: 'mlab-ov',
      subnet: '10.239.1.0/24',
      scope: 'swarm',
    });
    expect(net).toMatchObject({ driver: 'overlay', state: 'present' });
    // The same subnet again is refused, naming the overlay that has it.
    const dup = await callError(lab, 'network_create', { name: 'mlab-ov2', subnet: '10.239.1.0/25', scope: 'swarm' });
    expect(dup.code).toBe('CONFLICT');
    expect(dup.message).toContain('mlab-ov');

    // Engine b keeps its images between runs: take the GoBGP one away so that its copy is seen.
    const gobgp = await lab.images.refFor('gobgp');
    await b
      .getImage(gobgp)
      .remove({ force: true })
      .catch(() => undefined);
    const progress: string[] = [];
    await call(lab, 'daemon_create', {
      name: 'mlab-r1',
      kind: 'frr',
      asn: 65101,
      interfaces: [{ network: 'mlab-ov', ip: '10.239.1.11' }],
      neighbors: [{ address: '10.239.1.12', asn: 65102 }],
      engine: 'a',
    });
    const out = await lab.daemons.create(
      {
        name: 'mlab-r2',
        kind: 'gobgp',
        asn: 65102,
        interfaces: [{ network: 'mlab-ov', ip: '10.239.1.12' }],
        neighbors: [{ address: '10.239.1.11', asn: 65101 }],
        engine: 'b',
      },
      { progress: (m) => progress.push(m) },
    );
    expect(out).toMatchObject({ engine: 'b', state: 'running' });
    // Engine b had no lab image: it was streamed over, with progress, and the container runs there.
    expect(progress.some((m) => m.startsWith('copying image netstream-lab/gobgp'))).toBe(true);
    expect((await b.getContainer('mlab-r2').inspect()).State.Running).toBe(true);
    await expect(a.getContainer('mlab-r2').inspect()).rejects.toMatchObject({ statusCode: 404 });

    await waitFor('r1 -> r2 Established', () => established('mlab-r1', '10.239.1.12'), 60);
    await waitFor('r2 -> r1 Established', () => established('mlab-r2', '10.239.1.11'), 30);

    await call(lab, 'host_create', { name: 'mlab-h1', interfaces: [{ network: 'mlab-ov', ip: '10.239.1.21' }], engine: 'a' });
    await call(lab, 'host_create', { name: 'mlab-h2', interfaces: [{ network: 'mlab-ov', ip: '10.239.1.22' }], engine: 'b' });
    const p = await ping('mlab-h1', '10.239.1.22');
    expect(p.exit_code, p.stdout).toBe(0);
    const back = await ping('mlab-h2', '10.239.1.21');
    expect(back.exit_code, back.stdout).toBe(0);

    // A live change on engine b reaches the peer on engine a; no container restarts.
    const r = await call<{ applied: string }>(lab, 'daemon_route_advertise', { name: 'mlab-r2', prefix: '198.51.100.0/24' });
    expect(r.applied).toBe('live');
    await waitFor(
      'the prefix advertised on b learned on a',
      async () => {
        const s = await call<{ routes?: Array<{ prefix: string }> }>(lab, 'daemon_status', { name: 'mlab-r1' });
        return s.routes?.some((x) => x.prefix === '198.51.100.0/24') ? true : undefined;
      },
      60,
    );
    // A VXLAN tunnel between a container on each engine, over the overlay: its inner addresses ping.
    await call(lab, 'tunnel_create', {
      name: 'mlab-t12',
      mode: 'vxlan',
      underlay: 'mlab-ov',
      a: { container: 'mlab-r1', tunnel_ip: '172.31.239.1/30' },
      b: { container: 'mlab-r2', tunnel_ip: '172.31.239.2/30' },
    });
    const inner = await call<{ exit_code: number; stdout: string }>(lab, 'daemon_exec', {
      name: 'mlab-r1',
      command: ['ping', '-c', '2', '-W', '2', '172.31.239.2'],
      timeout_s: 20,
    });
    expect(inner.exit_code, inner.stdout).toBe(0);
    await call(lab, 'tunnel_delete', { container: 'mlab-r1', name: 'mlab-t12' });

    for (const h of ['mlab-h1', 'mlab-h2']) await call(lab, 'host_delete', { name: h });
    for (const d of ['mlab-r1', 'mlab-r2']) await call(lab, 'daemon_delete', { name: d });
    await call(lab, 'network_delete', { name: 'mlab-ov' });
    // Nothing of this run is left on either engine (a worker drops its copy of an overlay shortly after the manager).
    const label = [`${TEST_LABEL}=${run}`];
    const left = async () => {
      const all = await Promise.all(
        [a, b].flatMap((e) => [e.listContainers({ all: true, filters: { label } }), e.listNetworks({ filters: { label } })]),
      );
      return all.flat().map((o) => ('Names' in o ? o.Names[0] : o.Name));
    };
    await waitFor('nothing left', async () => ((await left()).length === 0 ? true : undefined), 20).catch(async () => {
      throw new Error(`left on the engines: ${(await left()).join(', ')}`);
    });
  }, 240_000);
  it('stands up a ring of six routers of three kinds and two hosts spread over both engines; survives engine b stopping', async () => {
    const spec = {
      name: 'mlab-ring',
      placement: 'spread',
      networks: {
        l12: { subnet: '10.239.12.0/29' },
        l23: { subnet: '10.239.23.0/29' },
        l34: { subnet: '10.239.34.0/29' },
        l45: { subnet: '10.239.45.0/29' },
        l56: { subnet: '10.239.56.0/29' },
        l61: { subnet: '10.239.61.0/29' },
        lan1: { subnet: '10.239.101.0/24' },
        lan3: { subnet: '10.239.103.0/24' },
      },
      nodes: {
        r1: { kind: 'frr', asn: 'auto', interfaces: { l61: 'auto', l12: 'auto', lan1: 'auto' }, advertise: ['10.239.101.0/24'] },
        r2: { kind: 'gobgp', asn: 'auto', interfaces: { l12: 'auto', l23: 'auto' } },
        r3: { kind: 'frr', asn: 'auto', interfaces: { l23: 'auto', l34: 'auto', lan3: 'auto' }, advertise: ['10.239.103.0/24'] },
        r4: { kind: 'gobgp', asn: 'auto', interfaces: { l34: 'auto', l45: 'auto' } },
        r5: { kind: 'exabgp', asn: 'auto', interfaces: { l45: 'auto', l56: 'auto' } },
        r6: { kind: 'exabgp', asn: 'auto', interfaces: { l56: 'auto', l61: 'auto' } },
        // The hosts are pinned so that the ping crosses engines whatever memory each engine has free.
        h1: { kind: 'host', interfaces: { lan1: 'auto' }, gateway: 'r1', engine: 'a' },
        h3: { kind: 'host', interfaces: { lan3: 'auto' }, gateway: 'r3', engine: 'b' },
      },
      bgp: {
        sessions: [
          ['r1', 'r2'],
          ['r2', 'r3'],
          ['r3', 'r4'],
          ['r4', 'r5'],
          ['r5', 'r6'],
          ['r6', 'r1'],
        ],
      },
    };
    await call(lab, 'topology_create', { spec });
    const t0 = Date.now();
    const up = await call<{ established?: { all: boolean; not_established: string[] } }>(lab, 'topology_standup', {
      name: 'mlab-ring',
      wait_established_s: 120,
    });
    process.stderr.write(
      `[measure] ring over two engines (8 nodes) standup incl. all Established: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
    );
    expect(up.established).toMatchObject({ all: true });
    type Node = { name: string; engine?: string; state: string; note?: string; interfaces: Array<{ network: string; ip: string }> };
    const status = () => call<{ nodes: Node[] }>(lab, 'topology_status', { name: 'mlab-ring' });
    const s = await status();
    const on = new Set(s.nodes.map((n) => n.engine));
    expect([...on].sort()).toEqual(['a', 'b']);
    const nets = await call<{ networks: Array<{ name: string; driver: string }> }>(lab, 'network_list', {});
    expect(nets.networks.some((n) => n.driver === 'overlay')).toBe(true);
    const h3 = s.nodes.find((n) => n.name === 'mlab-ring-h3')?.interfaces[0]?.ip as string;
    await waitFor(
      'h1 (engine a) -> h3 (engine b) through the ring',
      async () => ((await ping('mlab-ring-h1', h3)).exit_code === 0 ? true : undefined),
      60,
      2000,
    );

    // The event watch follows both engines: a node on b stopped by hand arrives as drift naming b.
    const events: LabEvent[] = [];
    const watch = lab.watchEvents({ onEvent: (e) => events.push(e) });
    await watch.ready;
    const r = s.nodes.find((n) => n.engine === 'b' && n.name !== 'mlab-ring-h3') as Node;
    await b.getContainer(r.name).stop({ t: 0 });
    const seen = await waitFor('drift from engine b', async () => events.find((e) => e.name === r.name && e.drift), 10, 100);
    watch.stop();
    expect(seen).toMatchObject({ engine: 'b', outside: true });
    expect(seen.drift).toContain('stopped outside netstream-lab');

    // Engine b stops: its nodes are reported as such, by engine name; what runs on a keeps running.
    secondEngineDown();
    const down = await status();
    const onB = down.nodes.filter((n) => n.engine === 'b');
    expect(onB.length).toBeGreaterThan(0);
    for (const n of onB) {
      expect(n.state).toBe('engine_unreachable');
      expect(n.note).toContain("engine 'b' does not answer");
    }
    for (const n of down.nodes.filter((x) => x.engine === 'a')) expect(n.state).toBe('running');
    // A tool on one of b's nodes says which engine is gone, by the name the user gave it.
    const first = onB[0] as Node & { role: string };
    const gone = await callError(lab, first.role === 'host' ? 'host_exec' : 'daemon_exec', { name: first.name, command: ['true'] });
    expect(gone.code).toBe('DOCKER_UNAVAILABLE');
    expect(gone.message).toContain("engine 'b' does not answer");
    const report = await call<{ in_sync: boolean; drift: Array<{ kind: string; name: string; detail: string }> }>(lab, 'sync_run', {});
    expect(report.in_sync).toBe(false);
    for (const n of onB) {
      expect(report.drift.find((d) => d.name === n.name)?.detail).toContain("engine 'b' does not answer");
    }

    // It comes back; sync_run apply puts the lab back, and the ping crosses again.
    secondEngineUp();
    await waitFor(
      'sync_run apply restores the lab',
      async () => {
        const r = await call<{ drift: Array<{ repaired?: boolean }> }>(lab, 'sync_run', { apply: true });
        return r.drift.every((d) => d.repaired !== false) ? r : undefined;
      },
      90,
      3000,
    );
    const after = await call<{ established?: { all: boolean } }>(lab, 'topology_standup', { name: 'mlab-ring', wait_established_s: 120 });
    expect(after.established).toMatchObject({ all: true });
    await waitFor('h1 -> h3 again', async () => ((await ping('mlab-ring-h1', h3)).exit_code === 0 ? true : undefined), 60, 2000);

    await call(lab, 'topology_teardown', { name: 'mlab-ring' });
    const label = [`${TEST_LABEL}=${run}`];
    await waitFor(
      'nothing left after teardown',
      async () => {
        const all = await Promise.all(
          [a, b].flatMap((e) => [e.listContainers({ all: true, filters: { label } }), e.listNetworks({ filters: { label } })]),
        );
        return all.flat().length === 0 ? true : undefined;
      },
      20,
    );
  }, 600_000);

  it('engine_leave takes both engines out of the swarm join made', async () => {
    await call(lab, 'engine_leave', {});
    expect(await swarmState(a)).toBe('inactive');
    expect(await swarmState(b)).toBe('inactive');
  });
});
