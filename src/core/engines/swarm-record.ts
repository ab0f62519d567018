import { chmod, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * What `engine_join` changed, so that `engine_leave` undoes exactly that and nothing else: whether
 * it initialised the swarm on the first engine, and which engines it joined (with their node ids).
 */
export interface SwarmRecord {
  manager: string;
  initialized: boolean;
  joined: Array<{ engine: string; node_id: string }>;
  at: string;
}

export class SwarmFile {
  readonly path: string;
  constructor(dataDir: string) {
    this.path = join(dataDir, 'swarm.json');
  }

  async read(): Promise<SwarmRecord | undefined> {
    try {
      return JSON.parse(await readFile(this.path, 'utf8')) as SwarmRecord;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new Error(`${this.path} cannot be read (${(err as Error).message}); remove it only after checking each engine's swarm by hand`);
    }
  }

  async write(r: SwarmRecord): Promise<void> {
    const tmp = `${this.path}.tmp`;
    await writeFile(tmp, `${JSON.stringify(r, null, 2)}\n`, { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, this.path);
  }

  async clear(): Promise<void> {
    await rm(this.path, { force: true });
  }
}
