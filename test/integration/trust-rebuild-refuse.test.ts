import { rm } from 'node:fs/promises';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { LABELS, MAX_RECORD_LABEL } from '../../src/core/docker/labels.js';
import { createLab, type Lab } from '../../src/core/lab.js';
import { bridgeName } from '../../src/core/networks.js';
import { RECORD_FILE } from '../../src/core/nodes/records.js';
import { RECORD_LINE, tunnelFile } from '../../src/core/tunnels/render.js';
import { call, owner, root, sweep, TEST_LABEL, testLab } from '../helpers/docker.js';

/**
 * Nothing a container wrote is trusted when a lost store is rebuilt. Before the store is lost,
 * containers rewrite their own files as a compromised one would: r2 puts a crafted inner address
 * of r1's end into its tunnel file (a line break and `dev lo`, which would become lines of r1's
 * `ip -batch` file), one host renames itself in its record file, another claims another engine;
 * networks appear with this store's labels and a bridge name not derived from their name, or
 * internal: false with no NSLAB_ALLOW_EXTERNAL. sync_run names each of these records with the
 * field and why, puts none of them back and removes none of their objects; the rest is rebuilt,
 * including a daemon whose record is too big for a label (from its record file).
 * A host whose record file is gone (a create killed before it wrote it) comes back from its label.
 *   r1 FRR (a, b) -- (b) r2 FRR, VXLAN t9 between them over b; hosts and the big daemon on a
 */
const RUN = `trust-rf-${process.pid}`;
const docker = new Docker();
const INJECTED = 'link set eth0 down';
/** The test labels of this run (with the owner, so that a concurrent run's sweep leaves them alone). */
const TEST_LABELS = { [TEST_LABEL]: RUN, [`${TEST_LABEL}.owner`]: owner() };
let lab: Lab;

type Drift = { kind: string; name: string; object?: string; detail: string; repaired?: boolean; error?: string };
type Sync = { in_sync: boolean; drift: Drift[] };
const ours = (r: Sync) =>
  r.drift
    .filter((d) => d.kind !== 'stale_rule')
    .map((d) => `${d.kind} ${d.object ?? ''} ${d.name}`)
    .sort();

/** Write a file inside a lab container the way something running there would: docker exec. */
async function writeInside(tool: 'daemon_exec' | 'host_exec', name: string, path: string, content: string): Promise<void> {
  const b64 = Buffer.from(content).toString('base64');
  const r = await call<{ exit_code: number; stderr: string }>(lab, tool, {
    name,
    command: ['sh', '-c', `echo ${b64} | base64 -d > ${path}`],
  });
  expect(r.exit_code, r.stderr).toBe(0);
}

async function readInside(tool: 'daemon_exec' | 'host_exec', l: Lab, name: string, path: string): Promise<string> {
  const r = await call<{ exit_code: number; stdout: string }>(l, tool, { name, command: ['cat', path] });
  expect(r.exit_code).toBe(0);
  return r.stdout;
}

/** Every file under /etc/nslab and /etc/frr of a container, as one text. */
async function allFiles(l: Lab, name: string): Promise<string> {
  const r = await call<{ stdout: string }>(l, 'daemon_exec', {
    name,
    command: ['sh', '-c', 'find /etc/nslab /etc/frr -type f -exec cat {} +'],
  });
  return r.stdout;
}

/** Whether every interface in the container is up (a crafted batch line would have downed eth0). */
async function linksUp(l: Lab, name: string): Promise<Array<{ ifname: string; up: boolean }>> {
  const r = await call<{ stdout: string }>(l, 'daemon_exec', { name, command: ['ip', '-j', 'link', 'show'] });
  return (JSON.parse(r.stdout) as Array<{ ifname: string; flags: string[] }>).map((x) => ({
    ifname: x.ifname,
    up: x.flags.includes('UP'),
  }));
}

/** A Docker network with this store's labels made by hand, as anyone with access to the engine could. */
async function labelledNetwork(id: string, rec: Record<string, unknown>, opts: { internal: boolean; bridge: string }) {
  await docker.createNetwork({
    Name: rec.name as string,
    Driver: 'bridge',
    Internal: opts.internal,
    IPAM: { Driver: 'default', Config: [{ Subnet: rec.subnet as string, Gateway: rec.gateway as string }] },
    Options: { 'com.docker.network.bridge.name': opts.bridge },
    Labels: {
      ...TEST_LABELS,
      [LABELS.managed]: 'true',
      [LABELS.role]: 'network',
      [LABELS.store]: id,
      [LABELS.bridge]: opts.bridge,
      [LABELS.record]: JSON.stringify(rec),
    },
  });
}

describe('a rebuilt store takes nothing a container wrote unchecked', () => {
  beforeAll(async () => {
    lab = testLab(RUN);
    await call(lab, 'network_create', { name: 'trust-rf-a', subnet: '10.237.10.0/24' });
    await call(lab, 'network_create', { name: 'trust-rf-b', subnet: '10.237.11.0/24' });
    await call(lab, 'daemon_create', {
      name: 'trust-rf-r1',
      kind: 'frr',
      asn: 65001,
      interfaces: [
        { network: 'trust-rf-a', ip: '10.237.10.2' },
        { network: 'trust-rf-b', ip: '10.237.11.2' },
      ],
    });
    await call(lab, 'daemon_create', {
      name: 'trust-rf-r2',
      kind: 'frr',
      asn: 65002,
      interfaces: [{ network: 'trust-rf-b', ip: '10.237.11.3' }],
    });
    await call(lab, 'tunnel_create', {
      name: 't9',
      mode: 'vxlan',
      a: { container: 'trust-rf-r1', tunnel_ip: '172.31.9.1/30' },
      b: { container: 'trust-rf-r2', tunnel_ip: '172.31.9.2/30' },
    });
    for (const h of ['trust-rf-hname', 'trust-rf-heng', 'trust-rf-hunf'])
      await call(lab, 'host_create', { name: h, interfaces: [{ network: 'trust-rf-a' }] });
    await call(lab, 'daemon_create', { name: 'trust-rf-big', kind: 'frr', asn: 65003, interfaces: [{ network: 'trust-rf-a' }] });
  });

  afterAll(async () => {
    await sweep(RUN);
  });

  it('refuses crafted records by field, rebuilds the rest (a record too big for a label too), and injects nothing into another container', async () => {
    // A daemon whose record outgrew a label: daemon_route_advertise has no total bound; 4000
    // prefixes are put in the store at once here, and the container made again from it.
    const prefixes = Array.from({ length: 4000 }, (_, i) => `100.${64 + Math.floor(i / 256)}.${i % 256}.0/24`);
    await lab.store.update((s) => {
      (s.daemons['trust-rf-big'] as { advertise: string[] }).advertise = prefixes;
    });
    await docker.getContainer('trust-rf-big').remove({ force: true });
    await call(lab, 'daemon_start', { name: 'trust-rf-big' });
    const big = await docker.getContainer('trust-rf-big').inspect();
    expect(big.Config.Labels[LABELS.record]).toBeUndefined();
    expect(big.Config.Labels[LABELS.role]).toBe('daemon');
    expect((await readInside('daemon_exec', lab, 'trust-rf-big', RECORD_FILE)).length).toBeGreaterThan(MAX_RECORD_LABEL);

    // r2 is compromised: it rewrites the record line of its tunnel file with r1's inner address
    // carrying a line break and more `ip` words.
    const path = tunnelFile('t9');
    const file = await readInside('daemon_exec', lab, 'trust-rf-r2', path);
    const line = file.split('\n').find((l) => l.startsWith(RECORD_LINE)) as string;
    const t9 = JSON.parse(line.slice(RECORD_LINE.length));
    t9.a.tunnel_ip = `172.31.9.1/30 dev lo\n${INJECTED} #`;
    await writeInside('daemon_exec', 'trust-rf-r2', path, file.replace(line, `${RECORD_LINE}${JSON.stringify(t9)}`));
    // Two hosts rewrite their record files: a name no tool takes, an engine they are not on.
    for (const [h, change] of [
      ['trust-rf-hname', { name: 'Bad Name!' }],
      ['trust-rf-heng', { engine: 'elsewhere' }],
    ] as const) {
      const rec = JSON.parse(await readInside('host_exec', lab, h, RECORD_FILE));
      await writeInside('host_exec', h, RECORD_FILE, JSON.stringify({ ...rec, ...change }));
    }
    // One loses its record file, as a create killed before writing it leaves it: rebuilt from its label.
    expect((await call<{ exit_code: number }>(lab, 'host_exec', { name: 'trust-rf-hunf', command: ['rm', RECORD_FILE] })).exit_code).toBe(
      0,
    );
    const ids = new Map(
      await Promise.all(
        ['trust-rf-r1', 'trust-rf-r2', 'trust-rf-big', 'trust-rf-hname', 'trust-rf-heng', 'trust-rf-hunf'].map(
          async (n) => [n, (await docker.getContainer(n).inspect()).Id] as const,
        ),
      ),
    );

    // The store is lost; networks with this store's labels appear, made by hand.
    const id = (await lab.store.read()).id as string;
    await rm(lab.store.file);
    await rm(`${lab.store.file}.bak`);
    const at = new Date().toISOString();
    const net = (name: string, subnet: string, more: object) => ({
      name,
      subnet: `${subnet}.0/24`,
      gateway: `${subnet}.1`,
      driver: 'bridge',
      internal: true,
      created_at: at,
      ...more,
    });
    await labelledNetwork(id, net('trust-rf-wrongbr', '10.237.12', { bridge: 'nslwrongbr01' }), { internal: true, bridge: 'nslwrongbr01' });
    const openBridge = bridgeName('trust-rf-open');
    await labelledNetwork(id, net('trust-rf-open', '10.237.13', { internal: false, bridge: openBridge }), {
      internal: false,
      bridge: openBridge,
    });

    const again = createLab(
      loadConfig(
        {
          ...process.env,
          NSLAB_DATA_DIR: lab.config.dataDir,
          NSLAB_EXTRA_LABELS: Object.entries(TEST_LABELS)
            .map(([k, v]) => `${k}=${v}`)
            .join(','),
          NSLAB_ALLOW_EXTERNAL: '',
        },
        {},
        root,
      ),
    );
    const expected = [
      'missing_record daemon trust-rf-big',
      'missing_record daemon trust-rf-r1',
      'missing_record daemon trust-rf-r2',
      'missing_record host trust-rf-hunf',
      'missing_record network trust-rf-a',
      'missing_record network trust-rf-b',
      'refused_record host trust-rf-heng',
      'refused_record host trust-rf-hname',
      'refused_record network trust-rf-open',
      'refused_record network trust-rf-wrongbr',
      'refused_record tunnel t9',
    ];
    expect(ours(await call<Sync>(again, 'sync_run', {}))).toEqual(expected);
    const applied = await call<Sync>(again, 'sync_run', { apply: true });
    expect(ours(applied)).toEqual(expected);
    expect(applied.drift.filter((d) => d.repaired === false)).toEqual([]);
    const refused = (name: string) => applied.drift.find((d) => d.kind === 'refused_record' && d.name === name)?.detail ?? '';
    // Each names where it was read, the field, and why.
    expect(refused('t9')).toContain(`${path} in container 'trust-rf-r2'`);
    expect(refused('t9')).toMatch(/a\.tunnel_ip: must be an IPv4 prefix/);
    expect(refused('t9')).not.toContain('\n');
    expect(refused('trust-rf-hname')).toMatch(/record\.json in container 'trust-rf-hname'.*: name: must be 2-63 characters/);
    expect(refused('trust-rf-heng')).toMatch(/engine: no engine named 'elsewhere'/);
    expect(refused('trust-rf-wrongbr')).toMatch(/bridge: must be nsl[0-9a-f]{12}, the bridge name of network 'trust-rf-wrongbr'/);
    expect(refused('trust-rf-open')).toMatch(/internal: a network with internal: false reaches outside the machine.*NSLAB_ALLOW_EXTERNAL/);

    // Nothing refused went back; nothing refused was removed either.
    const state = await again.store.read();
    expect(Object.keys(state.tunnels)).toEqual([]);
    expect(Object.keys(state.hosts)).toEqual(['trust-rf-hunf']);
    expect(Object.keys(state.networks).sort()).toEqual(['trust-rf-a', 'trust-rf-b']);
    for (const [n, cid] of ids) if (n !== 'trust-rf-hunf') expect((await docker.getContainer(n).inspect()).Id).toBe(cid);
    // The unfinished create was completed from its label: a new container, at the address it had.
    const hunf = state.hosts['trust-rf-hunf'];
    expect(hunf?.container_id).not.toBe(ids.get('trust-rf-hunf'));
    expect((await docker.getContainer('trust-rf-hunf').inspect()).Id).toBe(hunf?.container_id);
    expect(JSON.parse(await readInside('host_exec', again, 'trust-rf-hunf', RECORD_FILE)).interfaces).toEqual(hunf?.interfaces);
    for (const n of ['trust-rf-wrongbr', 'trust-rf-open']) expect((await docker.getNetwork(n).inspect()).Name).toBe(n);

    // The record too big for a label is back whole, its container kept.
    expect(state.daemons['trust-rf-big']?.advertise).toEqual(prefixes);
    expect(state.daemons['trust-rf-big']?.container_id).toBe(ids.get('trust-rf-big'));

    // r1 got nothing of it: not now, and not when its container is made again from the store.
    const clean = async () => {
      expect(await allFiles(again, 'trust-rf-r1')).not.toContain(INJECTED);
      expect(await allFiles(again, 'trust-rf-r1')).not.toContain('dev lo');
      const links = await linksUp(again, 'trust-rf-r1');
      expect(links.filter((x) => x.ifname.startsWith('eth'))).toHaveLength(2);
      expect(links.filter((x) => !x.up)).toEqual([]);
    };
    await clean();
    await docker.getContainer('trust-rf-r1').remove({ force: true });
    const remade = await call<Sync>(again, 'sync_run', { apply: true });
    const r1 = remade.drift.find((d) => d.name === 'trust-rf-r1');
    expect(r1, r1?.error).toMatchObject({ kind: 'missing_container', repaired: true });
    await clean();
    expect((await call<{ tunnels: unknown[] }>(again, 'tunnel_list', {})).tunnels).toEqual([]);
  });
});
