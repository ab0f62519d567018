import type { Progress } from '../core/progress.js';

/** Terminal rendering shared by the CLI commands: a progress bar on stderr, plain tables on stdout. */

/** A one-line progress bar on stderr, redrawn in place. */
export function progressBar(stream: NodeJS.WriteStream): Progress & { done: () => void } {
  let last = 0;
  const width = 24;
  const draw: Progress = (message, fraction) => {
    if (fraction !== undefined) last = Math.max(0, Math.min(1, fraction));
    const filled = Math.round(last * width);
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(last * 100)).padStart(3)}% ${message}`;
    stream.write(`\r\x1b[2K${line.slice(0, (stream.columns || 100) - 1)}`);
  };
  return Object.assign(draw, { done: () => stream.write('\r\x1b[2K') });
}

export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return `${rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

/** JSON when asked for or when stdout is not a terminal (a pipe, a file): scripts get data, people get tables. */
export const wantsJson = (flag: boolean | undefined): boolean => !!flag || !process.stdout.isTTY;
