import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lab } from '../../src/core/lab.js';
import { call, callError, root, sweep, testEnv, testLab, waitFor } from '../helpers/docker.js';

/**
 * The topology files of examples/ on a real engine: stood up, checked, changed, broken, drawn and
 * torn down, through the tools and through `nslab topology`.
 */
const RUN = `topo-${process.pid}`;
const example = (f: string) => readFileSync(join(root, 'examples', f), 'utf8');
const docker = new Docker();
let lab: Lab;

type Standup = {
  plan: { summary: Record<string, number>; items: Array<{ kind: string; name: string; action: string; reason?: string }> };
  established?: { all: boolean; not_established: string[] };
};
type Status = {
  nodes: Array<{ name: string; state: string; daemon?: string; interfaces: Array<{ network: string; ip: string }> }>;
  sessions: Array<{ a: string; b: string; a_state?: string; b_state?: string }>;
  tunnels: Array<{ name: string; state: string }>;
};

const labelled = async (topology: string) => ({
  containers: await docker.listContainers({
    all: true,
    filters: { label: [`netstream-lab.topology=${topology}`, `netstream-lab.test=${RUN}`] },
  }),
  networks: await docker.listNetworks({ filters: { label: [`netstream-lab.topology=${topology}`, `netstream-lab.test=${RUN}`] } }),
});
const started = async (topology: string) =>
  Object.fromEntries(
    await Promise.all(
      (await labelled(topology)).containers.map(async (c) => [
        c.Names[0]?.slice(1),
        `${c.Id}@${(await docker.getContainer(c.Id).inspect()).State.StartedAt}`,
      ]),
    ),
  );
const ping = async (from: string, to: string) =>
  (await call<{ exit_code: number }>(lab, 'host_exec', { name: from, command: ['ping', '-c', '2', '-W', '2', to], timeout_s: 20 }))
    .exit_code === 0;
const ipOf = (s: Status, node: string, network: string) =>
  s.nodes.find((n) => n.name === node)?.interfaces.find((i) => i.network === network)?.ip as string;
const allUp = (s: Status) => s.sessions.every((x) => x.a_state === 'Established' && x.b_state === 'Established');

describe('topologies on a real engine', () => {
  beforeAll(() => {
    lab = testLab(RUN);
  });

  afterAll(async () => {
    await sweep(RUN);
  });

  it('stands up the triangle: every session Established, the host reaches across, a second standup recreates nothing', async () => {
    await call(lab, 'topology_create', { yaml: example('triangle.yaml') });
    const dry = await call<Standup>(lab, 'topology_standup', { name: 'triangle', dry_run: true });
    expect(dry.plan.summary).toEqual({ create: 9, keep: 0, update: 0, recreate: 0, delete: 0 });
    expect((await labelled('triangle')).containers).toHaveLength(0);
    const t0 = Date.now();
    const up = await call<Standup>(lab, 'topology_standup', { name: 'triangle', wait_established_s: 60 });
    process.stderr.write(`[measure] triangle standup incl. all sessions Established: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    expect(up.established).toEqual(expect.objectContaining({ all: true, not_established: [] }));
    const s = await call<Status>(lab, 'topology_status', { name: 'triangle' });
    expect(s.nodes.map((n) => [n.name, n.state, n.daemon ?? '-'])).toEqual([
      ['triangle-r1', 'running', 'running'],
      ['triangle-r2', 'running', 'running'],
      ['triangle-r3', 'running', 'running'],
      ['triangle-h1', 'running', '-'],
    ]);
    expect(allUp(s)).toBe(true);
    expect(s.tunnels).toEqual([{ name: 't12', state: 'up' }]);
    // h1 (lan1) reaches r2 on core through r1; r2 routes back over what it learned from r1
    expect(await ping('triangle-h1', ipOf(s, 'triangle-r2', 'triangle-core'))).toBe(true);
    const before = await started('triangle');
    const again = await call<Standup>(lab, 'topology_standup', { name: 'triangle' });
    expect(again.plan.summary).toEqual({ create: 0, keep: 9, update: 0, recreate: 0, delete: 0 });
    expect(await started('triangle')).toEqual(before);
  });

  it('applies a changed file as exactly that difference: a node added, a peer removed, an address changed', async () => {
    const before = await started('triangle');
    const changed = example('triangle.yaml')
      .replace(
        / {2}r2: \{ kind: gobgp, +asn: 65002, interfaces: \{ core: auto \} \}/,
        '  r2: { kind: gobgp, asn: 65002, interfaces: { core: 10.10.0.22 } }\n  r4: { kind: frr, asn: 65004, interfaces: { core: auto } }',
      )
      .replace('    - { a: r1, b: r3, network: core, password: s3cret }', '    - [r1, r4]');
    expect(changed).toContain('r4:');
    await call(lab, 'topology_create', { yaml: changed, replace: true });
    const plan = await call<Standup['plan']>(lab, 'topology_plan', { name: 'triangle' });
    const nodes = plan.items.filter((i) => i.kind === 'node' && i.action !== 'keep').map((i) => `${i.action} ${i.name}`);
    expect(nodes).toEqual(['update triangle-r1', 'recreate triangle-r2', 'create triangle-r4', 'update triangle-r3']);
    expect(plan.items.find((i) => i.name === 'triangle-r3')?.reason).toBe('remove peers 10.10.0.11');
    const up = await call<Standup>(lab, 'topology_standup', { name: 'triangle', wait_established_s: 60 });
    expect(up.plan.summary).toMatchObject({ create: 3, update: 2, recreate: 2, delete: 2 });
    expect(up.established?.all).toBe(true);
    const after = await started('triangle');
    // updated in place: same containers, not restarted; r2 recreated; r4 new
    for (const n of ['triangle-r1', 'triangle-r3', 'triangle-h1']) expect(after[n], n).toBe(before[n]);
    expect(after['triangle-r2']).not.toBe(before['triangle-r2']);
    expect(after['triangle-r4']).toBeDefined();
    const r3 = await call<{ neighbors: unknown[] }>(lab, 'daemon_get', { name: 'triangle-r3' });
    expect(r3.neighbors).toEqual([]);
    expect((await call<Standup>(lab, 'topology_standup', { name: 'triangle' })).plan.summary).toMatchObject({
      create: 0,
      update: 0,
      recreate: 0,
      delete: 0,
    });
  });

  it('rolls back a standup that fails on one node and names it; the next standup works', async () => {
    // Someone attached a container of their own to the lab network by hand, on the address r6 wants.
    const images = await docker.listImages({ filters: { label: ['netstream-lab.image=host'] } });
    const squatter = await docker.createContainer({
      name: `tsquat-${process.pid}`,
      Image: images[0]?.RepoTags?.[0] as string,
      Labels: { 'netstream-lab.test': RUN },
      HostConfig: { NetworkMode: 'triangle-core' },
      NetworkingConfig: { EndpointsConfig: { 'triangle-core': { IPAMConfig: { IPv4Address: '10.10.0.66' } } } },
    });
    await squatter.start();
    const current = (await call<{ yaml: string }>(lab, 'topology_get', { name: 'triangle' })).yaml;
    const grown = current.replace(
      '  h1:',
      '  r5: { kind: frr, asn: 65005, interfaces: { core: 10.10.0.55 } }\n  r6: { kind: gobgp, asn: 65006, interfaces: { core: 10.10.0.66 } }\n  h1:',
    );
    await call(lab, 'topology_create', { yaml: grown, replace: true });
    const storeBefore = await lab.store.read();
    const e = await callError(lab, 'topology_standup', { name: 'triangle', concurrency: 1 });
    expect(e.message).toMatch(/^standup of 'triangle' failed and was rolled back: triangle-r6: /);
    expect(e.message).not.toMatch(/triangle-r5:/);
    const names = (await labelled('triangle')).containers.map((c) => c.Names[0]?.slice(1));
    expect(names).not.toContain('triangle-r5');
    expect(names).not.toContain('triangle-r6');
    const storeAfter = await lab.store.read();
    expect(storeAfter.daemons['triangle-r5']).toBeUndefined();
    expect({ ...storeAfter, topologies: {} }).toEqual({ ...storeBefore, topologies: {} });
    expect(storeAfter.topologies.triangle?.last_standup?.ok).toBe(false);
    // on_error: keep leaves r5 for inspection and forgets r6, so the next standup makes only r6
    const kept = await callError(lab, 'topology_standup', { name: 'triangle', on_error: 'keep', concurrency: 1 });
    expect(kept.message).toMatch(/what was made is kept for inspection: triangle-r6/);
    expect((await labelled('triangle')).containers.map((c) => c.Names[0]?.slice(1))).toContain('triangle-r5');
    await docker.getContainer(squatter.id).remove({ force: true });
    const retry = await call<Standup>(lab, 'topology_standup', { name: 'triangle' });
    expect(retry.plan.items.filter((i) => i.kind === 'node' && i.action === 'create').map((i) => i.name)).toEqual(['triangle-r6']);
  });

  it('tears down everything it labelled, keeps the file, and stands up again', async () => {
    const down = await call<{ removed: { containers: number; networks: number; tunnels: number } }>(lab, 'topology_teardown', {
      name: 'triangle',
    });
    expect(down.removed).toEqual({ containers: 7, networks: 2, tunnels: 1 });
    expect(await labelled('triangle')).toEqual({ containers: [], networks: [] });
    const list = await call<{ topologies: Array<{ name: string; deployed: boolean }> }>(lab, 'topology_list', {});
    expect(list.topologies).toContainEqual(expect.objectContaining({ name: 'triangle', deployed: false }));
    const state = await lab.store.read();
    expect(Object.keys(state.daemons).filter((n) => n.startsWith('triangle-'))).toEqual([]);
    const up = await call<Standup>(lab, 'topology_standup', { name: 'triangle', wait_established_s: 60 });
    expect(up.established?.all).toBe(true);
    const refused = await callError(lab, 'topology_delete', { name: 'triangle' });
    expect(refused.code).toBe('CONFLICT');
    expect(await call(lab, 'topology_delete', { name: 'triangle', force: true })).toEqual({ deleted: 'triangle', torn_down: true });
    expect(await labelled('triangle')).toEqual({ containers: [], networks: [] });
  });

  it('stands up the ring with hosts, routes a host around it, and draws it in every format', async () => {
    await call(lab, 'topology_create', { yaml: example('ring.yaml') });
    const t0 = Date.now();
    const up = await call<Standup>(lab, 'topology_standup', { name: 'ring', wait_established_s: 90 });
    process.stderr.write(`[measure] ring (12 nodes) standup incl. all sessions Established: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    expect(up.established?.all).toBe(true);
    const s = await call<Status>(lab, 'topology_status', { name: 'ring' });
    const h4 = ipOf(s, 'ring-h4', 'ring-lan4');
    await waitFor('h1 -> h4 around the ring', async () => ((await ping('ring-h1', h4)) ? true : undefined), 60, 2000);
    const mermaid = await call<{ text: string; live: boolean }>(lab, 'topology_graph', { name: 'ring', format: 'mermaid' });
    expect(mermaid.live).toBe(true);
    expect(mermaid.text.match(/===\|BGP Established\|/g)).toHaveLength(6);
    const dot = await call<{ text: string }>(lab, 'topology_graph', { name: 'ring', format: 'dot' });
    expect(dot.text).toMatch(/^graph "ring" \{/);
    const svg = await call<{ text: string; mime_type: string }>(lab, 'topology_graph', { name: 'ring', format: 'svg' });
    expect(svg.mime_type).toBe('image/svg+xml');
    expect(svg.text).toMatch(/<svg[\s\S]*r1[\s\S]*<\/svg>/);
    const png = await call<{ data_base64: string; mime_type: string }>(lab, 'topology_graph', { name: 'ring', format: 'png' });
    const bytes = Buffer.from(png.data_base64, 'base64');
    mkdirSync(join(root, '.nslab-test'), { recursive: true });
    writeFileSync(join(root, '.nslab-test', 'ring.png'), bytes);
    const img = PNG.sync.read(bytes);
    expect(img.width).toBeGreaterThan(300);
    const colours = new Set<number>();
    for (let i = 0; i < img.data.length; i += 4 * 97) colours.add(img.data.readUInt32BE(i));
    expect(colours.size, 'a blank image has one colour').toBeGreaterThan(5);
    await call(lab, 'topology_teardown', { name: 'ring' });
  });

  it('validates without side effects, naming every wrong field', async () => {
    const before = await lab.store.read();
    const bad = example('triangle.yaml').replace('10.10.0.11', '10.10.1.5').replace('gateway: r1', 'gateway: r7');
    const v = await call<{ valid: boolean; errors: Array<{ path: string; message: string }> }>(lab, 'topology_validate', { yaml: bad });
    expect(v.valid).toBe(false);
    expect(v.errors).toEqual([
      { path: 'nodes.r1.interfaces.core', message: '10.10.1.5 is not in 10.10.0.0/24' },
      { path: 'nodes.h1.gateway', message: "'r7' is neither an IPv4 address nor a node of this file" },
    ]);
    expect(await call(lab, 'topology_validate', { yaml: example('ring.yaml') })).toMatchObject({
      valid: true,
      summary: '12 networks, 12 nodes, 6 sessions, 0 tunnels',
    });
    const create = await callError(lab, 'topology_create', { yaml: bad });
    expect(create.code).toBe('INVALID_INPUT');
    expect(create.message).toContain('nodes.r1.interfaces.core: 10.10.1.5 is not in 10.10.0.0/24');
    expect(await lab.store.read()).toEqual(before);
  });

  it('a GRE tunnel in a file: up where the kernel has ip_gre, otherwise the standup fails naming it and leaves nothing', async () => {
    const spec = {
      name: 'gre-t',
      networks: { core: { subnet: '10.42.0.0/24' } },
      nodes: {
        r1: { kind: 'frr', asn: 65001, interfaces: { core: 'auto' } },
        r2: { kind: 'gobgp', asn: 65002, interfaces: { core: 'auto' } },
      },
      tunnels: [{ name: 'g1', a: 'r1', b: 'r2', a_ip: '172.31.42.1/30', b_ip: '172.31.42.2/30', key: 7 }],
    };
    await call(lab, 'topology_create', { spec });
    const out = await (await import('../../tools/index.js')).runTool(lab, 'topology_standup', { name: 'gre-t' });
    if (out.ok) {
      expect((await call<Status>(lab, 'topology_status', { name: 'gre-t' })).tunnels).toEqual([{ name: 'g1', state: 'up' }]);
    } else {
      expect(out.error.message).toMatch(
        /^standup of 'gre-t' failed and was rolled back: gre-t-r\d: tunnel g1: the kernel of this Docker host lacks GRE support \(module ip_gre\)/,
      );
      expect(out.error.message).toMatch(/mode vxlan/);
      expect(await labelled('gre-t')).toEqual({ containers: [], networks: [] });
    }
    await call(lab, 'topology_delete', { name: 'gre-t', force: true });
  });

  it("refuses a standup whose names another store's lab holds, naming the field, and changes nothing", async () => {
    const other = testLab(RUN);
    await call(other, 'network_create', { name: 'clash-core', subnet: '10.44.0.0/24' });
    await call(lab, 'topology_create', {
      spec: {
        name: 'clash',
        networks: { core: { subnet: '10.45.0.0/24' } },
        nodes: { h1: { kind: 'host', interfaces: { core: 'auto' } } },
      },
    });
    const before = await lab.store.read();
    const e = await callError(lab, 'topology_standup', { name: 'clash' });
    expect(e.message).toBe("networks.core: a Docker network named 'clash-core' already exists");
    expect({ ...(await lab.store.read()), topologies: {} }).toEqual({ ...before, topologies: {} });
    expect((await labelled('clash')).containers).toEqual([]);
    await call(other, 'network_delete', { name: 'clash-core' });
    await call(lab, 'topology_delete', { name: 'clash' });
  });

  it('runs one standup of a topology at a time', async () => {
    const spec = {
      name: 'one-at-a-time',
      networks: { core: { subnet: '10.43.0.0/24' } },
      nodes: { h1: { kind: 'host', interfaces: { core: 'auto' } } },
    };
    await call(lab, 'topology_create', { spec });
    const [x, y] = await Promise.allSettled([
      call(lab, 'topology_standup', { name: 'one-at-a-time' }),
      call(lab, 'topology_standup', { name: 'one-at-a-time' }),
    ]);
    const refused = [x, y].filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(refused).toHaveLength(1);
    expect(String(refused[0]?.reason)).toMatch(/a standup of 'one-at-a-time' is already running/);
    expect((await labelled('one-at-a-time')).containers).toHaveLength(1);
    await call(lab, 'topology_delete', { name: 'one-at-a-time', force: true });
  });

  it('activates one topology at a time: the one that was running is torn down first', async () => {
    const small = (name: string, octet: number) => ({
      name,
      networks: { core: { subnet: `10.${octet}.0.0/24` } },
      nodes: {
        r1: { kind: 'frr', asn: 65001, interfaces: { core: 'auto' } },
        r2: { kind: 'gobgp', asn: 65002, interfaces: { core: 'auto' } },
      },
      bgp: { sessions: [['r1', 'r2']] },
    });
    await call(lab, 'topology_create', { spec: small('act-a', 40) });
    await call(lab, 'topology_create', { spec: small('act-b', 41) });
    expect(await call<Standup>(lab, 'topology_activate', { name: 'act-a', wait_established_s: 60 })).toMatchObject({
      established: { all: true },
    });
    const b = await call<Standup & { deactivated?: string }>(lab, 'topology_activate', { name: 'act-b', wait_established_s: 60 });
    expect(b.deactivated).toBe('act-a');
    expect(b.established?.all).toBe(true);
    expect((await labelled('act-a')).containers).toEqual([]);
    const list = await call<{ topologies: Array<{ name: string; deployed: boolean; active: boolean }> }>(lab, 'topology_list', {});
    expect(list.topologies.filter((t) => t.name.startsWith('act-')).map((t) => [t.name, t.deployed, t.active])).toEqual([
      ['act-a', false, false],
      ['act-b', true, true],
    ]);
    await call(lab, 'topology_delete', { name: 'act-b', force: true });
  });

  it('converges after the standing-up process is killed (kill -9) part way: no duplicates, no dead ends', async () => {
    const env = { ...process.env, ...testEnv(RUN) };
    const cli = join(root, 'dist', 'src', 'cli', 'main.js');
    const file = join(root, 'examples', 'ring.yaml');
    const up = spawn('node', [cli, 'topology', 'up', file, '--concurrency', '2'], { env, stdio: 'ignore' });
    await waitFor(
      'a few ring containers',
      async () =>
        (await docker.listContainers({ all: true, filters: { label: ['netstream-lab.topology=ring', `netstream-lab.test=${RUN}`] } }))
          .length >= 3
          ? true
          : undefined,
      60,
      100,
    );
    up.kill('SIGKILL');
    await new Promise((r) => up.once('exit', r));
    const again = JSON.parse((await promisify(execFile)('node', [cli, 'topology', 'up', file], { env })).stdout) as Standup;
    expect(again.established?.all).toBe(true);
    const names = (
      await docker.listContainers({ all: true, filters: { label: ['netstream-lab.topology=ring', `netstream-lab.test=${RUN}`] } })
    ).map((c) => c.Names[0]);
    expect(names).toHaveLength(12);
    expect(new Set(names).size).toBe(12);
    const down = JSON.parse((await promisify(execFile)('node', [cli, 'topology', 'down', 'ring'], { env })).stdout) as {
      removed: { containers: number };
    };
    expect(down.removed.containers).toBe(12);
    expect((await docker.listNetworks({ filters: { label: ['netstream-lab.topology=ring', `netstream-lab.test=${RUN}`] } })).length).toBe(
      0,
    );
  });

  it('`nslab topology up` shows progress on a terminal and prints JSON when piped; the VXLAN example carries BGP', async () => {
    const env = { ...process.env, ...testEnv(RUN) };
    const cli = join(root, 'dist', 'src', 'cli', 'main.js');
    const file = join(root, 'examples', 'vxlan-bgp.yaml');
    // a terminal: script(1) gives the command a pseudo-terminal
    const tty = spawnSync('script', ['-qec', `node ${cli} topology up ${file} --wait 60`, '/dev/null'], {
      env,
      encoding: 'utf8',
      timeout: 170_000,
    });
    expect(tty.status, tty.stdout + tty.stderr).toBe(0);
    expect(tty.stdout).toMatch(/\[#+\.*\] +\d+% /);
    expect(tty.stdout).toMatch(/vxlan-bgp: 9 create, 0 keep/);
    expect(tty.stdout).toContain('all BGP sessions Established');
    // piped: JSON on stdout, nothing else
    const piped = await promisify(execFile)('node', [cli, 'topology', 'up', file], { env });
    const result = JSON.parse(piped.stdout) as Standup;
    expect(result.plan.summary).toMatchObject({ create: 0, recreate: 0 });
    const status = JSON.parse((await promisify(execFile)('node', [cli, 'topology', 'status', 'vxlan-bgp'], { env })).stdout) as Status;
    expect(status.sessions).toEqual([expect.objectContaining({ a_state: 'Established', b_state: 'Established' })]);
    expect(status.tunnels).toEqual([{ name: 'vx1', state: 'up' }]);
    const hb = ipOf(status, 'vxlan-bgp-hb', 'vxlan-bgp-site-b');
    const pinged = await waitFor(
      'ha -> hb through the tunnel',
      async () => {
        const out = await promisify(execFile)(
          'node',
          [cli, 'call', 'host_exec', JSON.stringify({ name: 'vxlan-bgp-ha', command: ['ping', '-c', '2', '-W', '2', hb] })],
          { env },
        );
        const r = JSON.parse(out.stdout) as { exit_code: number };
        return r.exit_code === 0 ? r : undefined;
      },
      60,
      2000,
    );
    expect(pinged.exit_code).toBe(0);
    const down = JSON.parse((await promisify(execFile)('node', [cli, 'topology', 'down', 'vxlan-bgp'], { env })).stdout) as {
      removed: { containers: number };
    };
    expect(down.removed.containers).toBe(4);
  });
});
