import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BgpNeighbor } from '../../src/core/bgp/types.js';
import { changesBetween, peerDiff } from '../../src/core/topology/snapshot-diff.js';
import { newSnapshotId, SNAPSHOT_ID, type SnapshotFile, SnapshotFiles } from '../../src/core/topology/snapshot-files.js';

const snap = (id: string, at: string, topology = 'snapu'): SnapshotFile => ({
  version: 1,
  id,
  topology,
  created_at: at,
  deployed: true,
  file: { spec: { name: topology } },
  nodes: [],
});
const idAt = (i: number) => `20260101-0000${String(i % 60).padStart(2, '0')}-${(i + 0x1000).toString(16).slice(-4)}`;

describe('snapshot files', () => {
  it('makes ids of the time and 16 random bits, that pass the id rule', () => {
    const id = newSnapshotId(new Date('2026-12-06T23:15:00Z'));
    expect(id).toMatch(/^20261206-231500-[0-9a-f]{4}$/);
    expect(SNAPSHOT_ID.test(id)).toBe(true);
  });

  it('writes 0600 files in a 0700 folder, keeps 50 per topology (the oldest dropped) and lists newest first', async () => {
    const files = new SnapshotFiles(mkdtempSync(join(tmpdir(), 'nslab-snapu-')));
    for (let i = 0; i < 50; i++)
      expect((await files.write(snap(idAt(i), new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString()))).dropped).toEqual([]);
    const last = await files.write(snap('20260102-000000-abcd', '2026-01-02T00:00:00.000Z'));
    expect(last.dropped).toEqual([idAt(0)]);
    const dir = join(files.root, 'snapu');
    expect(readdirSync(dir)).toHaveLength(50);
    expect(statSync(join(dir, '20260102-000000-abcd.json')).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const { snapshots } = await files.list('snapu');
    expect(snapshots[0]?.id).toBe('20260102-000000-abcd');
    expect(snapshots[49]?.id).toBe(idAt(1));
    // every file parsed; a damaged one is named, not fatal to the list
    writeFileSync(join(dir, '20260103-000000-0000.json'), '{not json');
    expect((await files.list('snapu')).unreadable).toEqual(['snapu/20260103-000000-0000.json']);
  });

  it('never builds a path from an id or a topology name that breaks the rules', async () => {
    const files = new SnapshotFiles(mkdtempSync(join(tmpdir(), 'nslab-snapu-')));
    await expect(files.read('snapu', '../../etc/passwd')).rejects.toMatchObject({ code: 'INVALID_INPUT', issues: [{ path: 'snapshot' }] });
    await expect(files.read('../x', '20260101-000000-0000')).rejects.toMatchObject({ code: 'INVALID_INPUT', issues: [{ path: 'name' }] });
    await expect(files.list('__proto__')).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(files.holders('constructor')).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    expect(await files.read('snapu', '20260101-000000-0000')).toBeUndefined();
  });
});

describe('snapshot comparisons', () => {
  const a: BgpNeighbor = { address: '10.0.0.2', asn: 65002 };
  const b: BgpNeighbor = { address: '10.0.0.3', asn: 65003, password: 'x' };
  it('turns one set of peers and prefixes into another: a peer with other settings is removed and added', () => {
    const d = peerDiff(
      { neighbors: [a, b], advertise: ['10.1.0.0/24'] },
      { neighbors: [{ ...a, asn: 65009 }], advertise: ['10.2.0.0/24'] },
    );
    expect(d).toEqual({
      remove: ['10.0.0.2', '10.0.0.3'],
      add: [{ ...a, asn: 65009 }],
      advertise: ['10.2.0.0/24'],
      withdraw: ['10.1.0.0/24'],
    });
  });

  it('reports per node what changed and whether its container is the same', () => {
    const node = (name: string, id: string, neighbors = [a], advertise: string[] = []) => ({
      name,
      role: 'daemon' as const,
      kind: 'frr',
      container_id: id,
      neighbors,
      advertise,
    });
    const out = changesBetween(
      [node('r1', 'c1', [a, b], ['10.1.0.0/24']), node('r2', 'c2'), node('r3', 'c3')],
      [node('r1', 'c1', [{ ...a, hold_s: 9 }], []), node('r2', 'c2'), node('r3', 'c9'), node('r4', 'c4')],
    );
    expect(out).toEqual([
      { name: 'r1', container: 'kept', peers_removed: ['10.0.0.3'], peers_changed: ['10.0.0.2'], prefixes_withdrawn: ['10.1.0.0/24'] },
      { name: 'r3', container: 'recreated' },
      { name: 'r4', container: 'created', peers_added: ['10.0.0.2'] },
    ]);
  });
});
