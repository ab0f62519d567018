import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { catalogue } from '../../tools/index.js';
import { root, testEnv } from '../helpers/docker.js';

/** The CLI as a shell user meets it: exit codes, JSON when piped, tables on a terminal, completion. */
const main = join(root, 'dist', 'src', 'cli', 'main.js');
const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...testEnv(`cli-${process.pid}`) };
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

const nslab = (args: string[], input?: string) =>
  spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', env, timeout: 60_000, ...(input === undefined ? {} : { input }) });

/** Run on a pseudo-terminal (util-linux `script`), the way a person at a shell sees it. */
const onTerminal = (args: string[]) => {
  const cmd = [process.execPath, main, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return spawnSync('script', ['-qec', cmd, '/dev/null'], {
    encoding: 'utf8',
    env: { ...env, TERM: 'xterm', COLUMNS: '200' },
    timeout: 60_000,
  });
};

describe('nslab on the command line', () => {
  it('prints one version, the one in package.json, and help everywhere', () => {
    expect(nslab(['--version']).stdout.trim()).toBe(version);
    for (const args of [['--help'], ['call', '--help'], ['topology', 'up', '--help'], ['serve', '--help'], ['images', 'build', '--help']]) {
      const r = nslab(args);
      expect(r.status, args.join(' ')).toBe(0);
      expect(r.stdout).toContain('Usage: nslab');
    }
  });

  it('call: the structured result on stdout and exit 0; the error on stderr and exit 1', () => {
    const ok = nslab(['call', 'network_list']);
    expect(ok.status, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ networks: [] });
    const stdin = nslab(['call', 'daemon_list', '-'], '{}');
    expect(JSON.parse(stdin.stdout)).toEqual({ daemons: [] });

    const bad = nslab(['call', 'network_create', '{"name":"cli-x","subnet":"10.0.0.0/33"}']);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain('subnet');
    const missing = nslab(['call', 'daemon_get', '{"name":"cli-nothing"}']);
    expect(missing.status).toBe(1);
    // The hint is in the shell's words: the command to type, not a bare tool name.
    expect(missing.stderr).toContain('nslab call daemon_list');
    expect(nslab(['call', 'no_such_tool']).status).toBe(1);
    expect(nslab(['call', 'network_list', '{not json']).stderr).toContain('not valid JSON');
  });

  it('tools: JSON when piped, a table on a terminal', () => {
    const piped = JSON.parse(nslab(['tools']).stdout) as { tools: Array<{ name: string; effect: string }> };
    expect(piped.tools.map((t) => t.name)).toEqual(catalogue.map((t) => t.name));
    expect(piped.tools.find((t) => t.name === 'daemon_exec')?.effect).toBe('destructive');
    const tty = onTerminal(['tools']);
    expect(tty.status, tty.stderr).toBe(0);
    expect(tty.stdout).toMatch(/TOOL\s+TOOLSET\s+EFFECT\s+TITLE/);
    expect(tty.stdout).toMatch(/network_create\s+networks\s+write/);
  });

  it('topology status of an unknown name fails with exit 1 on a terminal too', () => {
    const r = onTerminal(['topology', 'status', 'cli-nothing']);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("topology 'cli-nothing' not found");
  });

  it('completes commands, options, tool names and image kinds, and prints scripts a shell accepts', () => {
    const words = (...w: string[]) =>
      nslab(['__complete', ...w])
        .stdout.trim()
        .split('\n');
    expect(words('')).toEqual(expect.arrayContaining(['mcp', 'serve', 'call', 'topology', 'images', 'completion']));
    expect(words('')).not.toContain('__complete');
    expect(words('call', 'network_c')).toEqual(['network_create', 'network_connect']);
    expect(words('topology', 'up', '--d')).toEqual(['--dry-run']);
    expect(words('topology', 'up', 'ex')).toEqual([':files']);
    expect(words('images', 'build', 'frr', '')).toEqual(['base', 'gobgp', 'exabgp', 'bird', 'openbgpd', 'host']);
    const bash = spawnSync('bash', ['-c', `eval "$(${process.execPath} ${main} completion bash)"; complete -p nslab`], {
      encoding: 'utf8',
      env,
    });
    expect(bash.stdout).toContain('-F _nslab nslab');
    expect(nslab(['completion', 'tcsh']).status).toBe(1);
  });
});
