import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lab } from '../../src/core/lab.js';
import { runTool } from '../../tools/index.js';
import { call, callError, root, sweep, testLab, waitFor } from '../helpers/docker.js';

/**
 * Snapshots on a real engine:
 *   r1 FRR 65101 -- core -- r2 GoBGP 65102 -- core -- r3 FRR 65103;  h1 behind r1 on lan
 * snapshot, then live changes (a new r1 <-> r3 session with a password, a new prefix on r2, a file
 * prefix of r1 withdrawn), restore: the changes are undone in the same containers; a node added to
 * the file is removed by a restore and made again by the next. Objects: snap* names, 10.210.0.0/16.
 */
const RUN = `snap-${process.pid}`;
const T = 'snap1';
const IP = { r1: '10.210.1.2', r2: '10.210.1.3', r3: '10.210.1.4' };
const LIVE_PW = 'snap-live-pw-5150';
const NEW_PREFIX = '10.210.200.0/24';
const FILE_PREFIX = '10.210.100.0/24';
const yaml = (extra = '') => `name: ${T}
networks:
  core: { subnet: 10.210.1.0/29 }
  lan: { subnet: 10.210.2.0/24 }
nodes:
  r1: { kind: frr, asn: 65101, interfaces: { core: ${IP.r1}, lan: auto }, advertise: [10.210.2.0/24, ${FILE_PREFIX}] }
  r2: { kind: gobgp, asn: 65102, interfaces: { core: ${IP.r2} }, advertise: [10.210.101.0/24] }
  r3: { kind: frr, asn: 65103, interfaces: { core: ${IP.r3} } }
  h1: { kind: host, interfaces: { lan: auto }, gateway: r1 }
${extra}bgp:
  sessions:
    - [r1, r2]
    - { a: r2, b: r3, description: 'gobgp to frr' }
`;

type Status = { neighbors: Array<{ address: string; state: string }>; routes?: Array<{ prefix: string }> };
interface Summary {
  id: string;
  topology: string;
  label?: string;
  created_at: string;
  nodes: number;
  daemons: number;
  peers: number;
  prefixes: number;
  changed_since_standup: number;
}
interface Taken extends Summary {
  daemons_changed_since_standup: Array<{
    name: string;
    peers_added?: Array<{ address: string; has_password: boolean }>;
    peers_removed?: string[];
    prefixes_advertised?: string[];
    prefixes_withdrawn?: string[];
  }>;
}
interface Restored {
  file_restored: boolean;
  standup: { ran: boolean; why: string };
  nodes: Array<{
    name: string;
    container: string;
    peers_added?: string[];
    peers_removed?: string[];
    prefixes_advertised?: string[];
    prefixes_withdrawn?: string[];
  }>;
  unchanged: number;
  warnings?: string[];
}

let lab: Lab;
const docker = new Docker();
const c = (n: string) => `${T}-${n}`;
const status = (n: string) => call<Status>(lab, 'daemon_status', { name: c(n) });
const state = async (n: string, addr: string) => (await status(n)).neighbors.find((x) => x.address === addr)?.state;
const ids = async () =>
  new Map(
    (await docker.listContainers({ all: true, filters: { label: [`netstream-lab.topology=${T}`, `netstream-lab.test=${RUN}`] } })).map(
      (x) => [(x.Names[0] ?? '').replace(/^\//, ''), x.Id],
    ),
  );
const holds = async (n: string, prefix: string) => !!(await status(n)).routes?.some((r) => r.prefix === prefix);
const noSecret = (v: unknown) => {
  const text = JSON.stringify(v);
  expect(text).not.toContain(LIVE_PW);
};
/** Every session of the file Established from both ends, and the r1 <-> r3 one only as `withR1R3` says. */
async function settled(withR1R3: 'Established' | undefined): Promise<void> {
  await waitFor(
    'the sessions',
    async () => {
      const s = await Promise.all([
        state('r1', IP.r2),
        state('r2', IP.r1),
        state('r2', IP.r3),
        state('r3', IP.r2),
        state('r1', IP.r3),
        state('r3', IP.r1),
      ]);
      const file = s.slice(0, 4).every((x) => x === 'Established');
      return file && s[4] === withR1R3 && s[5] === withR1R3 ? true : undefined;
    },
    120,
  );
}

beforeAll(async () => {
  lab = testLab(RUN);
  await call(lab, 'topology_create', { yaml: yaml() });
  const up = await call<{ established: { all: boolean } }>(lab, 'topology_standup', { name: T, wait_established_s: 120 });
  expect(up.established.all).toBe(true);
}, 400_000);

afterAll(async () => {
  await sweep(RUN);
});

describe('topology snapshots and restore on a real engine', () => {
  let clean: Taken;
  let live: Taken;

  it('a snapshot of a freshly stood-up lab: the file and every node, nothing changed since standup', async () => {
    clean = await call<Taken>(lab, 'topology_snapshot', { name: T, label: 'clean' });
    expect(clean.id).toMatch(/^\d{8}-\d{6}-[0-9a-f]{4}$/);
    expect(clean).toMatchObject({ topology: T, label: 'clean', nodes: 4, daemons: 3, peers: 4, prefixes: 3, changed_since_standup: 0 });
    expect(clean.daemons_changed_since_standup).toEqual([]);
    const file = join(lab.config.dataDir, 'snapshots', T, `${clean.id}.json`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('live changes, then a restore undoes them in the same containers, changing only what differs', async () => {
    const before = await ids();
    await call(lab, 'daemon_peer_add', { name: c('r1'), address: IP.r3, asn: 65103, password: LIVE_PW, description: 'live' });
    await call(lab, 'daemon_peer_add', { name: c('r3'), address: IP.r1, asn: 65101, password: LIVE_PW });
    await call(lab, 'daemon_route_advertise', { name: c('r2'), prefix: NEW_PREFIX });
    await call(lab, 'daemon_route_withdraw', { name: c('r1'), prefix: FILE_PREFIX });
    await settled('Established');
    await waitFor(
      'the new prefix at r1, the withdrawn one gone',
      async () => ((await holds('r1', NEW_PREFIX)) && !(await holds('r3', FILE_PREFIX)) ? true : undefined),
      60,
    );

    live = await call<Taken>(lab, 'topology_snapshot', { name: T, label: 'live changes' });
    expect(live.changed_since_standup).toBe(3);
    const changed = new Map(live.daemons_changed_since_standup.map((d) => [d.name, d]));
    expect(changed.get(c('r1'))).toMatchObject({
      peers_added: [{ address: IP.r3, has_password: true, description: 'live' }],
      prefixes_withdrawn: [FILE_PREFIX],
    });
    expect(changed.get(c('r2'))).toEqual({ name: c('r2'), prefixes_advertised: [NEW_PREFIX] });
    expect(changed.get(c('r3'))?.peers_added?.[0]).toMatchObject({ address: IP.r1, has_password: true });
    noSecret(live);
    expect(readFileSync(join(lab.config.dataDir, 'snapshots', T, `${live.id}.json`), 'utf8')).toContain(LIVE_PW);

    const back = await call<Restored>(lab, 'topology_restore', { name: T, snapshot: clean.id });
    noSecret(back);
    expect(back.file_restored).toBe(false);
    expect(back.standup.ran).toBe(false);
    expect(back.warnings ?? []).toEqual([]);
    expect(back.nodes).toEqual([
      { name: c('r1'), container: 'kept', peers_removed: [IP.r3], prefixes_advertised: [FILE_PREFIX] },
      { name: c('r2'), container: 'kept', prefixes_withdrawn: [NEW_PREFIX] },
      { name: c('r3'), container: 'kept', peers_removed: [IP.r1] },
    ]);
    expect(back.unchanged).toBe(1);
    expect(await ids()).toEqual(before);
    await settled(undefined);
    await waitFor(
      'the routes as in the snapshot',
      async () =>
        (await holds('r3', FILE_PREFIX)) && !(await holds('r1', NEW_PREFIX)) && !(await holds('r3', NEW_PREFIX)) ? true : undefined,
      60,
    );
    expect(await holds('r2', FILE_PREFIX)).toBe(true);
    expect((await lab.store.read()).daemons[c('r1')]?.neighbors.map((n) => n.address)).toEqual([IP.r2]);

    // Restoring the same snapshot again changes nothing.
    expect((await call<Restored>(lab, 'topology_restore', { name: T, snapshot: clean.id })).nodes).toEqual([]);
  }, 300_000);

  it('a restore brings live changes back too (a snapshot keeps them), live', async () => {
    const before = await ids();
    const r = await call<Restored>(lab, 'topology_restore', { name: T, snapshot: live.id });
    expect(r.standup.ran).toBe(false);
    expect(r.nodes.map((n) => n.container)).toEqual(['kept', 'kept', 'kept']);
    await settled('Established');
    await waitFor(
      'the live prefix again',
      async () => ((await holds('r3', NEW_PREFIX)) && !(await holds('r3', FILE_PREFIX)) ? true : undefined),
      60,
    );
    expect(await ids()).toEqual(before);
    await call(lab, 'topology_restore', { name: T, snapshot: clean.id });
    await settled(undefined);
  }, 300_000);

  it('a node added to the file is removed by restoring a snapshot from before, and made again (with its live peers) by one from after', async () => {
    const before = await ids();
    await call(lab, 'topology_create', { yaml: yaml('  h2: { kind: host, interfaces: { lan: auto } }\n'), replace: true });
    await call(lab, 'topology_standup', { name: T });
    const withH2 = await ids();
    expect(withH2.has(c('h2'))).toBe(true);
    // the same live peers as in the 'live changes' snapshot
    await call(lab, 'daemon_peer_add', { name: c('r1'), address: IP.r3, asn: 65103, password: LIVE_PW, description: 'live' });
    await call(lab, 'daemon_peer_add', { name: c('r3'), address: IP.r1, asn: 65101, password: LIVE_PW });
    const after = await call<Taken>(lab, 'topology_snapshot', { name: T, label: 'with h2' });
    expect(after).toMatchObject({ nodes: 5, changed_since_standup: 2 });

    const r = await call<Restored>(lab, 'topology_restore', { name: T, snapshot: clean.id });
    expect(r.file_restored).toBe(true);
    expect(r.standup.ran).toBe(true);
    expect(r.nodes).toEqual([
      { name: c('h2'), container: 'removed' },
      { name: c('r1'), container: 'kept', peers_removed: [IP.r3] },
      { name: c('r3'), container: 'kept', peers_removed: [IP.r1] },
    ]);
    expect(await ids()).toEqual(before);
    const file = await call<{ spec: { nodes: Record<string, unknown> } }>(lab, 'topology_get', { name: T });
    expect(Object.keys(file.spec.nodes).sort()).toEqual(['h1', 'r1', 'r2', 'r3']);
    await settled(undefined);

    const again = await call<Restored>(lab, 'topology_restore', { name: T, snapshot: after.id });
    expect(again.standup.ran).toBe(true);
    expect(again.nodes).toEqual([
      { name: c('h2'), container: 'created' },
      { name: c('r1'), container: 'kept', peers_added: [IP.r3] },
      { name: c('r3'), container: 'kept', peers_added: [IP.r1] },
    ]);
    const now = await ids();
    for (const [name, id] of before) expect(now.get(name)).toBe(id);
    await settled('Established');

    // Back to the live snapshot (no h2): the standup removes h2 and, as the file says, the live
    // peers, which the snapshot keeps: they are added again, and the answer says so.
    const live2 = await call<Restored>(lab, 'topology_restore', { name: T, snapshot: live.id });
    expect(live2.nodes).toEqual([
      { name: c('h2'), container: 'removed' },
      { name: c('r1'), container: 'kept', prefixes_withdrawn: [FILE_PREFIX] },
      { name: c('r2'), container: 'kept', prefixes_advertised: [NEW_PREFIX] },
    ]);
    expect(live2.warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^${c('r1')}: peers ${IP.r3} are not in the file: the standup removed them`)),
      ]),
    );
    await settled('Established');
    expect(await ids()).toEqual(before);
    await call(lab, 'topology_restore', { name: T, snapshot: clean.id });
    await settled(undefined);
  }, 400_000);

  it('lists snapshots newest first, per topology or all', async () => {
    const { snapshots } = await call<{ snapshots: Summary[] }>(lab, 'topology_snapshot_list', { name: T });
    expect(snapshots.map((s) => s.label)).toEqual(['with h2', 'live changes', 'clean']);
    const times = snapshots.map((s) => s.created_at);
    expect([...times].sort().reverse()).toEqual(times);
    expect(snapshots[1]).toMatchObject({ id: live.id, peers: 6, prefixes: 3, changed_since_standup: 3 });
    expect(snapshots[2]).toMatchObject({ id: clean.id, nodes: 4, peers: 4 });
    const all = await call<{ snapshots: Summary[] }>(lab, 'topology_snapshot_list', {});
    expect(all.snapshots.map((s) => s.id)).toEqual(snapshots.map((s) => s.id));
  });

  it('refuses hostile and wrong names, ids and labels, naming the field', async () => {
    const field = async (tool: string, args: Record<string, unknown>) => {
      const e = await callError(lab, tool, args);
      expect(e.code).toBe('INVALID_INPUT');
      return e.issues?.map((i) => i.path);
    };
    expect(await field('topology_restore', { name: T, snapshot: '../../etc/passwd' })).toEqual(['snapshot']);
    expect(await field('topology_restore', { name: T, snapshot: '__proto__' })).toEqual(['snapshot']);
    expect(await field('topology_restore', { name: '__proto__', snapshot: clean.id })).toEqual(['name']);
    expect(await field('topology_snapshot_list', { name: '../x' })).toEqual(['name']);
    expect(await field('topology_snapshot', { name: T, label: 'two\nlines' })).toEqual(['label']);
    expect(await field('topology_snapshot', { name: T, label: 'x'.repeat(101) })).toEqual(['label']);
    const proto = await runTool(lab, 'topology_snapshot', JSON.parse(`{"name":"${T}","__proto__":{"x":1}}`));
    expect(proto.ok).toBe(false);

    const unknown = await callError(lab, 'topology_restore', { name: T, snapshot: '20000101-000000-0000' });
    expect(unknown.code).toBe('NOT_FOUND');
    expect(unknown.message).toContain('20000101-000000-0000');
    expect((await callError(lab, 'topology_snapshot', { name: 'constructor' })).code).toBe('NOT_FOUND');
    // a snapshot of another topology
    await call(lab, 'topology_create', {
      yaml: 'name: snap2\nnetworks: { n: { subnet: 10.210.9.0/29 } }\nnodes: { h: { kind: host, interfaces: { n: auto } } }\n',
    });
    const other = await callError(lab, 'topology_restore', { name: 'snap2', snapshot: clean.id });
    expect(other.code).toBe('INVALID_INPUT');
    expect(other.message).toMatch(new RegExp(`${clean.id} is a snapshot of topology '${T}', not of 'snap2'`));
  });

  it('through a real front end: nslab call takes, lists and restores snapshots, passwords masked', async () => {
    const env = { ...process.env, NSLAB_DATA_DIR: lab.config.dataDir, NSLAB_EXTRA_LABELS: `netstream-lab.test=${RUN}` };
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [join(root, 'dist', 'src', 'cli', 'main.js'), ...args], { env, encoding: 'utf8', timeout: 180_000 });
    await call(lab, 'daemon_peer_add', { name: c('r1'), address: IP.r3, asn: 65103, password: LIVE_PW });
    const taken = cli('call', 'topology_snapshot', JSON.stringify({ name: T, label: 'from the cli' }));
    expect(taken.status, taken.stderr).toBe(0);
    expect(taken.stdout).not.toContain(LIVE_PW);
    const out = JSON.parse(taken.stdout) as Taken;
    expect(out.daemons_changed_since_standup).toEqual([
      { name: c('r1'), peers_added: [expect.objectContaining({ address: IP.r3, asn: 65103, has_password: true })] },
    ]);
    const listed = cli('call', 'topology_snapshot_list', JSON.stringify({ name: T }));
    expect(listed.status, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as { snapshots: Summary[] }).snapshots[0]).toMatchObject({ id: out.id, label: 'from the cli' });
    const back = cli('call', 'topology_restore', JSON.stringify({ name: T, snapshot: clean.id }));
    expect(back.status, back.stderr).toBe(0);
    expect((JSON.parse(back.stdout) as Restored).nodes).toEqual([{ name: c('r1'), container: 'kept', peers_removed: [IP.r3] }]);
    const bad = cli('call', 'topology_restore', JSON.stringify({ name: T, snapshot: '../../etc/passwd' }));
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('snapshot');
  }, 200_000);
});
