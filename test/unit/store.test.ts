import { execFile } from 'node:child_process';
import { mkdtemp, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { LabError } from '../../src/core/errors.js';
import { Store } from '../../src/core/store/store.js';

const run = promisify(execFile);
const tmp = () => mkdtemp(join(tmpdir(), 'nslab-store-'));

const network = {
  name: 'shared',
  subnet: '10.0.0.0/24',
  gateway: '10.0.0.1',
  driver: 'bridge' as const,
  internal: true,
  created_at: new Date(0).toISOString(),
  allocations: {},
};

describe('store', () => {
  it('creates an empty, versioned store on first use and keeps what an update leaves', async () => {
    const store = new Store(join(await tmp(), 'nested', 'dir'));
    expect(await store.read()).toEqual({
      version: 1,
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      networks: {},
      daemons: {},
      hosts: {},
      tunnels: {},
      topologies: {},
      faults: {},
    });
    await store.update((s) => {
      s.networks.shared = network;
    });
    const onDisk = JSON.parse(await readFile(store.file, 'utf8'));
    expect(onDisk.networks.shared.subnet).toBe('10.0.0.0/24');
  });

  it('keeps its id in store-id too: a state.json made again after a loss takes the same id; a mismatch or a bad file is refused', async () => {
    const dir = await tmp();
    const first = new Store(dir);
    const id = await first.id();
    expect((await readFile(join(dir, 'store-id'), 'utf8')).trim()).toBe(id);
    expect((await stat(join(dir, 'store-id'))).mode & 0o777).toBe(0o600);
    await unlink(first.file);
    // A new process on the same folder: the new, empty state.json is the same store.
    const again = new Store(dir);
    expect(await again.id()).toBe(id);
    expect((await again.read()).networks).toEqual({});
    // An id file that disagrees with state.json is refused, naming both and what to do.
    await writeFile(join(dir, 'store-id'), 'ffffffff-0000-4000-8000-000000000000\n');
    const e = (await new Store(dir).id().catch((err: unknown) => err)) as LabError;
    expect(e).toBeInstanceOf(LabError);
    expect(e.message).toContain(`has id ${id}, but`);
    expect(e.hint).toMatch(/remove .*store-id to keep/);
    await writeFile(join(dir, 'store-id'), 'not an id!\n');
    await unlink(join(dir, 'state.json'));
    const bad = (await new Store(dir).read().catch((err: unknown) => err)) as LabError;
    expect(bad.message).toContain('does not hold a store id');
    await expect(stat(join(dir, 'state.json'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('keeps the last good copy beside the store, and notices a store deleted while it runs', async () => {
    const store = new Store(await tmp());
    await store.update((s) => {
      s.networks.shared = network;
    });
    await store.update((s) => {
      delete s.networks.shared;
    });
    expect(JSON.parse(await readFile(`${store.file}.bak`, 'utf8')).networks.shared.subnet).toBe('10.0.0.0/24');
    expect((await stat(`${store.file}.bak`)).mode & 0o777).toBe(0o600);
    await unlink(store.file);
    for (const attempt of [() => store.read(), () => store.update(() => undefined)]) {
      const e = await attempt().catch((err: unknown) => err as LabError);
      expect(e).toBeInstanceOf(LabError);
      expect((e as LabError).message).toMatch(/state\.json is unusable: it was deleted while netstream-lab was running/);
      expect((e as LabError).hint).toMatch(/state\.json\.bak/);
    }
    // nothing was written in its place
    await expect(stat(store.file)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('keeps the store private to its owner: folder 0700, state.json 0600 after every write', async () => {
    const store = new Store(join(await tmp(), 'private'));
    await store.read();
    expect((await stat(store.dataDir)).mode & 0o777).toBe(0o700);
    expect((await stat(store.file)).mode & 0o777).toBe(0o600);
    await store.update((s) => {
      s.networks.shared = network;
    });
    expect((await stat(store.file)).mode & 0o777).toBe(0o600);
  });

  it('writes nothing when an update throws', async () => {
    const store = new Store(await tmp());
    await store.update((s) => {
      s.networks.shared = network;
    });
    const before = await readFile(store.file, 'utf8');
    await expect(
      store.update((s) => {
        delete s.networks.shared;
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await readFile(store.file, 'utf8')).toBe(before);
  });

  it('loses nothing when two processes write at once', async () => {
    const dir = await tmp();
    const store = new Store(dir);
    await store.update((s) => {
      s.networks.shared = network;
    });
    const writer = join(import.meta.dirname, '..', 'helpers', 'store-writer.ts');
    const tsx = join(import.meta.dirname, '..', '..', 'node_modules', '.bin', 'tsx');
    await Promise.all([run(tsx, [writer, dir, 'a', '40']), run(tsx, [writer, dir, 'b', '40'])]);
    const allocations = (await store.read()).networks.shared?.allocations ?? {};
    expect(Object.values(allocations).filter((v) => v === 'a')).toHaveLength(40);
    expect(Object.values(allocations).filter((v) => v === 'b')).toHaveLength(40);
  }, 60_000);

  it('reports a corrupt store with its path and leaves the file untouched', async () => {
    const store = new Store(await tmp());
    await store.read();
    await writeFile(store.file, '{"version": 1, "networks": {');
    const err = await store.read().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LabError);
    expect((err as LabError).code).toBe('STORE_ERROR');
    expect((err as LabError).message).toContain(store.file);
    expect((err as LabError).message).toContain('not valid JSON');
    await expect(store.update(() => undefined)).rejects.toThrow(/unusable/);
    expect(await readFile(store.file, 'utf8')).toBe('{"version": 1, "networks": {');
  });

  it('keeps fields it does not know, at the top and inside records, through a read and a write', async () => {
    const store = new Store(await tmp());
    await store.update((s) => {
      s.networks.shared = network;
    });
    const onDisk = JSON.parse(await readFile(store.file, 'utf8'));
    onDisk.future_top = { a: 1 };
    onDisk.networks.shared.future_field = 'kept';
    await writeFile(store.file, JSON.stringify(onDisk));
    await store.update((s) => {
      (s.networks.shared as { gateway: string }).gateway = '10.0.0.254';
    });
    const after = JSON.parse(await readFile(store.file, 'utf8'));
    expect(after.future_top).toEqual({ a: 1 });
    expect(after.networks.shared.future_field).toBe('kept');
    expect(after.networks.shared.gateway).toBe('10.0.0.254');
  });

  it('refuses a store written by a newer version instead of misreading it', async () => {
    const store = new Store(await tmp());
    await store.read();
    await writeFile(store.file, JSON.stringify({ version: 99, networks: {}, daemons: {}, hosts: {} }));
    await expect(store.read()).rejects.toThrow(/written by a newer netstream-lab \(store version 99; this one reads 1\)/);
  });

  it('refuses a store whose shape does not match the schema, naming the field', async () => {
    const store = new Store(await tmp());
    await store.read();
    await writeFile(store.file, JSON.stringify({ version: 1, networks: { x: { name: 'x' } }, daemons: {}, hosts: {} }));
    await expect(store.read()).rejects.toThrow(/networks\.x\.subnet/);
  });
});
