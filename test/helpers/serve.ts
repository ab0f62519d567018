import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { root } from './docker.js';

export interface Served {
  url: string;
  child: ChildProcess;
  /** what the server wrote on stderr (its log) */
  log(): string;
  /** SIGTERM, then wait for the exit code */
  stop(): Promise<number | null>;
}

/** Start `nslab serve` from dist/ as a user would, on a free port; resolves when it listens. */
export function serve(env: Record<string, string>, args: string[] = []): Promise<Served> {
  const child = spawn(process.execPath, [join(root, 'dist', 'src', 'cli', 'main.js'), 'serve', '--port', '0', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nslab serve did not start in 20 s: ${stderr}`)), 20_000);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`nslab serve exited with ${code}: ${stderr}`));
    });
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      const line = stdout.split('\n')[0];
      if (!stdout.includes('\n') || !line) return;
      clearTimeout(timer);
      const url = (JSON.parse(line) as { listening: string }).listening;
      resolve({
        url,
        child,
        log: () => stderr,
        stop: async () => {
          if (child.exitCode === null) child.kill('SIGTERM');
          return exited;
        },
      });
    });
  });
}
