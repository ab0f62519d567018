/**
 * What a node may bring of its own instead of what the lab renders for it: the daemon's whole
 * configuration (`config`), files to place (`files`: container path -> text), commands run in the
 * container once it has started (`exec`, as containerlab runs them), and the names its interfaces
 * carry inside the container (`eth1`, ...), whatever order Docker attached them in.
 *
 * Exec lines are split into argv here (shell-like quoting, no shell): they run inside the lab's
 * own contained container, never on this machine. A line that wants a shell says `sh -c '...'`.
 */
import { z } from 'zod';
import type { DaemonKind } from '../bgp/types.js';
import type { FileEntry } from '../docker/archive.js';

export const OWN_LIMITS = { files: 32, fileBytes: 262_144, exec: 64, execChars: 2000, configBytes: 262_144 } as const;

/** Where each kind's own configuration goes (the file its image's entrypoint starts the daemon with). */
export const OWN_CONFIG_PATH: Record<DaemonKind, string> = {
  frr: '/etc/frr/frr.conf',
  gobgp: '/etc/gobgp/gobgpd.toml',
  exabgp: '/etc/exabgp/exabgp.conf',
  bird: '/etc/bird/bird.conf',
  openbgpd: '/etc/bgpd.conf',
};

/** Places a file may not go: the kernel's and Docker's, and the lab's own bookkeeping. */
const FORBIDDEN_DIRS = ['/proc', '/sys', '/dev', '/etc/nslab', '/run/nslab'];

export const ContainerPath = z
  .string()
  .max(255)
  .regex(/^\/[A-Za-z0-9._@+/-]*[A-Za-z0-9._@+-]$/, 'must be an absolute file path inside the container (letters, digits, . _ @ + - /)')
  .refine((p) => !p.split('/').some((s) => s === '..' || s === '.'), 'must not contain "." or ".." segments')
  .refine((p) => !FORBIDDEN_DIRS.some((d) => p === d || p.startsWith(`${d}/`)), `must not be under ${FORBIDDEN_DIRS.join(', ')}`);

export const OwnConfig = z
  .string()
  .min(1)
  .max(OWN_LIMITS.configBytes)
  .describe(
    "the daemon's whole configuration (FRR frr.conf, GoBGP gobgpd.toml, ExaBGP exabgp.conf, bird.conf, bgpd.conf), used instead of the rendered one",
  );

export const OwnFiles = z
  .record(ContainerPath, z.string().max(OWN_LIMITS.fileBytes))
  .refine((r) => Object.keys(r).length <= OWN_LIMITS.files, { message: `at most ${OWN_LIMITS.files} files` })
  .describe('container path -> text, placed before the container starts (e.g. /etc/frr/daemons)');

export const ExecLine = z
  .string()
  .min(1)
  .max(OWN_LIMITS.execChars)
  .superRefine((line, ctx) => {
    const argv = splitArgs(line);
    if (typeof argv === 'string') ctx.addIssue({ code: 'custom', message: argv });
  });

export const ExecLines = z
  .array(ExecLine)
  .max(OWN_LIMITS.exec)
  .describe('commands run in the container after it starts, in order (split like a shell, run without one)');

/** Linux interface names: at most 15 characters; `lo` and the lab's own tunnel names are not for links. */
export const IfName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_.-]{0,14}$/, 'must be a Linux interface name: a letter, then up to 14 letters, digits, "_", "." or "-"')
  .refine((n) => n !== 'lo', '"lo" is the loopback');

/** What a node record keeps of its own (absent: everything is rendered). */
export interface NodeOwn {
  config?: string | undefined;
  files?: Array<{ path: string; content: string }> | undefined;
  exec?: string[] | undefined;
}

/** Split a command line like a POSIX shell would into words (quotes, backslashes), without running one. */
export function splitArgs(line: string): string[] | string {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else cur += c;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1] as string)) cur += line[++i];
      else cur += c;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) return `has an unclosed ${quote} quote`;
  if (inWord) out.push(cur);
  if (out.length === 0) return 'is empty';
  return out;
}

/** The AS a daemon's own configuration declares, where it says one (0 otherwise: e.g. an OSPF-only FRR). */
export function ownAsn(kind: DaemonKind, config: string): number {
  const patterns: Record<DaemonKind, RegExp> = {
    frr: /^\s*router bgp (\d+)\s*$/m,
    gobgp: /^\s*as\s*[=:]\s*(\d+)/m,
    exabgp: /\blocal-as\s+(\d+)/,
    bird: /\blocal\b[^;]*?\bas\s+(\d+)/,
    openbgpd: /^\s*AS\s+(\d+)/m,
  };
  const m = patterns[kind].exec(config);
  const n = m ? Number(m[1]) : 0;
  return Number.isSafeInteger(n) && n > 0 && n <= 4294967295 ? n : 0;
}

/** Written by the entrypoint once the interfaces have their names (exec lines wait for it). */
export const NAMED_MARK = '/run/nslab/named';

/** The file that names interfaces inside the container: one `<docker address> <name>` per line. */
export const IFNAMES_PATH = '/etc/nslab/ifnames';

export function ifnamesFile(interfaces: Array<{ ip: string; name?: string | undefined }>): FileEntry[] {
  const lines = interfaces.filter((i) => i.name).map((i) => `${i.ip} ${i.name}`);
  return lines.length ? [{ path: IFNAMES_PATH, content: `${lines.join('\n')}\n` }] : [];
}

/** Written once the lab has run a node's exec lines: from then on its entrypoint runs them at each start. */
export const EXEC_RAN_MARK = '/etc/nslab/exec-ran';

/** The node's own files, its config among them when it has one, and its exec lines as argv files for later starts. */
export function ownFiles(own: NodeOwn | undefined, kind?: DaemonKind): FileEntry[] {
  const files: FileEntry[] = [];
  for (const [i, line] of (own?.exec ?? []).entries()) {
    const argv = splitArgs(line);
    if (typeof argv !== 'string') files.push({ path: `/etc/nslab/exec/${String(i).padStart(3, '0')}`, content: `${argv.join('\0')}\0` });
  }
  if (own?.config !== undefined && kind) files.push({ path: OWN_CONFIG_PATH[kind], content: own.config, mode: 0o640 });
  for (const f of own?.files ?? []) files.push({ path: f.path, content: f.content, mode: 0o644 });
  return files;
}

/**
 * The peers an own configuration names (IPv4 neighbor addresses): FRR `neighbor <ip> remote-as`,
 * BIRD `neighbor <ip> as`, GoBGP `neighbor-address = "<ip>"`, ExaBGP and OpenBGPD `neighbor <ip> {`.
 * Waiting for sessions waits for these even before the daemon has loaded its file, and the
 * sessions between two nodes of a lab are drawn and checked from them.
 */
export function ownPeers(kind: DaemonKind, config: string): string[] {
  const ip = '(\\d{1,3}(?:\\.\\d{1,3}){3})';
  const patterns: Record<DaemonKind, RegExp> = {
    frr: new RegExp(`^\\s*neighbor\\s+${ip}\\s+remote-as\\b`, 'gm'),
    bird: new RegExp(`\\bneighbor\\s+${ip}\\b[^;]*\\bas\\b`, 'g'),
    gobgp: new RegExp(`neighbor-address\\s*[=:]\\s*["']?${ip}`, 'g'),
    exabgp: new RegExp(`^\\s*neighbor\\s+${ip}\\s*\\{`, 'gm'),
    openbgpd: new RegExp(`^\\s*neighbor\\s+${ip}\\s*\\{`, 'gm'),
  };
  const out = new Set<string>();
  for (const m of config.matchAll(patterns[kind])) out.add(m[1] as string);
  return [...out];
}

/**
 * The IPv4 addresses (CIDR) a node's own exec lines and config put on its interfaces (`ip addr
 * add 10.0.12.1/30 dev eth1`, FRR's `ip address 10.0.12.1/30`): the lab's own addresses, which
 * checks may send traffic to, and which name a node in a traceroute.
 */
export function ownAddresses(own: NodeOwn | undefined): string[] {
  const out: string[] = [];
  const cidr = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/;
  for (const line of own?.exec ?? []) {
    const argv = splitArgs(line);
    if (typeof argv === 'string') continue;
    const words = argv.filter((w) => w !== '-4');
    const i = words.findIndex((w, k) => k > 0 && /^a(d(d(r(e(ss?)?)?)?)?)?$/.test(w) && words[k - 1] === 'ip');
    if (i < 0 || !['add', 'replace', 'change'].includes(words[i + 1] ?? '')) continue;
    const a = words[i + 2] ?? '';
    if (cidr.test(a)) out.push(a);
  }
  for (const m of (own?.config ?? '').matchAll(/^\s*ip address (\d{1,3}(?:\.\d{1,3}){3}\/\d{1,2})\s*$/gm)) out.push(m[1] as string);
  return [...new Set(out)];
}
