import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { LABELS } from '../../src/core/docker/labels.js';
import { createLab, type Lab } from '../../src/core/lab.js';
import { call, owner, root, sweep, TEST_LABEL, testLab, waitFor } from '../helpers/docker.js';

/**
 * The store file of a running lab is lost (state.json and its .bak deleted). A new server on the
 * same data folder keeps the store's id (store-id beside it) and `sync_run apply` rebuilds every
 * record from what the objects carry: networks, daemons with the peers added after their create,
 * a host connected to a second network later, a VXLAN tunnel. The lab then works and tears down.
 * No label holds a BGP password; the passwords come back from the record files in the containers.
 *   h1 (a, later b) -- r1 FRR (a, b) -- (b) r2 GoBGP, VXLAN t1 between r1 and r2 over b
 */
const RUN = `trust-rb-${process.pid}`;
const docker = new Docker();
let lab: Lab;

type Drift = { kind: string; name: string; object?: string; repaired?: boolean; error?: string };
type Sync = { in_sync: boolean; drift: Drift[] };
const ours = (r: Sync) =>
  r.drift
    .filter((d) => d.kind !== 'stale_rule')
    .map((d) => `${d.kind} ${d.object ?? ''} ${d.name}`)
    .sort();
const views = async (l: Lab) => ({
  daemons: await call(l, 'daemon_list', {}),
  hosts: await call(l, 'host_list', {}),
  networks: await call(l, 'network_list', {}),
  tunnels: await call(l, 'tunnel_list', {}),
});
const established = async (l: Lab, name: string) => {
  const s = await call<{ neighbors: Array<{ address: string; state: string }> }>(l, 'daemon_status', { name });
  return s.neighbors.length > 0 && s.neighbors.every((n) => n.state === 'Established') ? s.neighbors : undefined;
};

describe('records rebuilt from labels after the store is lost', () => {
  beforeAll(async () => {
    lab = testLab(RUN);
    await call(lab, 'network_create', { name: 'trust-rb-a', subnet: '10.242.10.0/24' });
    await call(lab, 'network_create', { name: 'trust-rb-b', subnet: '10.242.11.0/24' });
    await call(lab, 'daemon_create', {
      name: 'trust-rb-r1',
      kind: 'frr',
      asn: 65001,
      interfaces: [
        { network: 'trust-rb-a', ip: '10.242.10.2' },
        { network: 'trust-rb-b', ip: '10.242.11.2' },
      ],
      advertise: ['10.241.100.0/24'],
    });
    await call(lab, 'daemon_create', {
      name: 'trust-rb-r2',
      kind: 'gobgp',
      asn: 65002,
      interfaces: [{ network: 'trust-rb-b', ip: '10.242.11.3' }],
      neighbors: [{ address: '10.242.11.2', asn: 65001, password: 'sekret' }],
    });
    await call(lab, 'host_create', { name: 'trust-rb-h1', interfaces: [{ network: 'trust-rb-a' }], gateway: 'trust-rb-r1' });
    // Changes after the create: the labels keep the create-time record, these must come back too.
    await call(lab, 'daemon_peer_add', { name: 'trust-rb-r1', address: '10.242.11.3', asn: 65002, password: 'sekret' });
    await call(lab, 'network_connect', { network: 'trust-rb-b', container: 'trust-rb-h1' });
    await call(lab, 'tunnel_create', {
      name: 't1',
      mode: 'vxlan',
      a: { container: 'trust-rb-r1', tunnel_ip: '10.241.0.1/30' },
      b: { container: 'trust-rb-r2', tunnel_ip: '10.241.0.2/30' },
    });
    await waitFor('r1 <-> r2 Established', () => established(lab, 'trust-rb-r1'), 60);
  });

  afterAll(async () => {
    await sweep(RUN);
  });

  it('keeps BGP passwords out of every label: docker inspect shows none', async () => {
    const label = [`${TEST_LABEL}=${RUN}`];
    const containers = await docker.listContainers({ all: true, filters: { label } });
    expect(containers.map((c) => c.Names[0]).sort()).toEqual(['/trust-rb-h1', '/trust-rb-r1', '/trust-rb-r2']);
    for (const c of containers) {
      const labels = (await docker.getContainer(c.Id).inspect()).Config.Labels;
      expect(JSON.stringify(labels)).not.toContain('sekret');
      expect(JSON.stringify(labels)).not.toContain('password');
    }
    // r2 was created with the password: its record label has the peer, without it.
    const r2 = (await docker.getContainer('trust-rb-r2').inspect()).Config.Labels;
    expect(JSON.parse(r2[LABELS.record] as string).neighbors).toEqual([{ address: '10.242.11.2', asn: 65001 }]);
    for (const n of await docker.listNetworks({ filters: { label } })) expect(JSON.stringify(n.Labels)).not.toContain('sekret');
  });

  it('rebuilds every record of the running lab in a new server, which then shows and tears down the lab', async () => {
    const before = await views(lab);
    const id = (await lab.store.read()).id;
    expect((await readFile(join(lab.config.dataDir, 'store-id'), 'utf8')).trim()).toBe(id);
    await rm(lab.store.file);
    await rm(`${lab.store.file}.bak`);

    // A new server process on the same data folder (the running one refuses a deleted store).
    const again = createLab(
      loadConfig(
        { ...process.env, NSLAB_DATA_DIR: lab.config.dataDir, NSLAB_EXTRA_LABELS: `${TEST_LABEL}=${RUN},${TEST_LABEL}.owner=${owner()}` },
        {},
        root,
      ),
    );
    expect(await again.store.id()).toBe(id);
    expect((await call<{ daemons: unknown[] }>(again, 'daemon_list', {})).daemons).toEqual([]);
    const report = await call<Sync>(again, 'sync_run', {});
    expect(ours(report)).toEqual([
      'missing_record daemon trust-rb-r1',
      'missing_record daemon trust-rb-r2',
      'missing_record host trust-rb-h1',
      'missing_record network trust-rb-a',
      'missing_record network trust-rb-b',
      'missing_record tunnel t1',
    ]);
    const applied = await call<Sync>(again, 'sync_run', { apply: true });
    expect(applied.drift.filter((d) => d.repaired === false)).toEqual([]);

    expect(await views(again)).toEqual(before);
    // The peer added after the create, and its password, came back from the file in the container.
    const rebuilt = await again.store.read();
    expect(rebuilt.daemons['trust-rb-r1']?.neighbors).toEqual([{ address: '10.242.11.3', asn: 65002, password: 'sekret' }]);
    // The password that is in no label came back from the record file (0600) in the container.
    expect(rebuilt.daemons['trust-rb-r2']?.neighbors).toEqual([{ address: '10.242.11.2', asn: 65001, password: 'sekret' }]);
    expect(await waitFor('r1 <-> r2 Established', () => established(again, 'trust-rb-r1'), 30)).toHaveLength(1);
    const ping = await call<{ exit_code: number }>(again, 'daemon_exec', {
      name: 'trust-rb-r1',
      command: ['ping', '-c', '1', '-W', '2', '10.241.0.2'],
    });
    expect(ping.exit_code).toBe(0);
    expect(ours(await call<Sync>(again, 'sync_run', {}))).toEqual([]);

    // Everything rebuilt is this store's again: a clean teardown leaves nothing labelled.
    await call(again, 'tunnel_delete', { container: 'trust-rb-r1', name: 't1' });
    for (const h of ['trust-rb-h1']) await call(again, 'host_delete', { name: h });
    for (const d of ['trust-rb-r1', 'trust-rb-r2']) await call(again, 'daemon_delete', { name: d });
    for (const n of ['trust-rb-a', 'trust-rb-b']) await call(again, 'network_delete', { name: n });
    const label = [`${TEST_LABEL}=${RUN}`];
    expect(await docker.listContainers({ all: true, filters: { label } })).toEqual([]);
    expect(await docker.listNetworks({ filters: { label } })).toEqual([]);
  });
  it('rebuilds a topology’s nodes and networks; the definition, created again from its file, stands up keeping them', async () => {
    const spec = {
      name: 'trust-rbt',
      networks: { lan: { subnet: '10.242.13.0/24' } },
      nodes: { h1: { kind: 'host', interfaces: { lan: 'auto' } }, h2: { kind: 'host', interfaces: { lan: 'auto' } } },
    };
    const dir = lab.config.dataDir;
    const server = () =>
      createLab(
        loadConfig(
          { ...process.env, NSLAB_DATA_DIR: dir, NSLAB_EXTRA_LABELS: `${TEST_LABEL}=${RUN},${TEST_LABEL}.owner=${owner()}` },
          {},
          root,
        ),
      );
    let l = server();
    await call(l, 'topology_create', { spec });
    await call(l, 'topology_standup', { name: 'trust-rbt' });
    const ids = async () =>
      (await docker.listContainers({ filters: { label: ['netstream-lab.topology=trust-rbt'] } })).map((c) => c.Id).sort();
    const before = await ids();
    await rm(l.store.file);
    await rm(`${l.store.file}.bak`, { force: true });
    l = server();
    const report = await call<Sync>(l, 'sync_run', {});
    expect(ours(report)).toEqual([
      'missing_record host trust-rbt-h1',
      'missing_record host trust-rbt-h2',
      'missing_record network trust-rbt-lan',
      'missing_topology  trust-rbt',
    ]);
    await call(l, 'sync_run', { apply: true });
    await call(l, 'topology_create', { spec });
    const plan = await call<{ items: Array<{ action: string }> }>(l, 'topology_plan', { name: 'trust-rbt' });
    expect(new Set(plan.items.map((i) => i.action))).toEqual(new Set(['keep']));
    await call(l, 'topology_standup', { name: 'trust-rbt' });
    expect(await ids()).toEqual(before);
    await call(l, 'topology_teardown', { name: 'trust-rbt' });
    expect(await ids()).toEqual([]);
  });
});
