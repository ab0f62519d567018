import { dirname } from 'node:path';
import { pack } from 'tar-stream';

export interface FileEntry {
  /** absolute path inside the container */
  path: string;
  content: string;
  mode?: number;
}

/**
 * A tar (uncompressed, in memory) holding the files at their absolute paths, for a putArchive at /.
 * Config goes into containers this way, never through `echo` in a shell.
 */
export async function tarFiles(files: FileEntry[]): Promise<Buffer> {
  const p = pack();
  const dirs = new Set<string>();
  for (const f of files) {
    for (let d = dirname(f.path); d !== '/' && d !== '.'; d = dirname(d)) dirs.add(d);
  }
  for (const d of [...dirs].sort()) p.entry({ name: d.slice(1), type: 'directory', mode: 0o755 });
  for (const f of files) {
    if (!f.path.startsWith('/')) throw new Error(`file path must be absolute: ${f.path}`);
    p.entry({ name: f.path.slice(1), mode: f.mode ?? 0o644, uid: 0, gid: 0 }, f.content);
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
