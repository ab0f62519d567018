/**
 * A node's binds (`src:dst[:ro|rw]`, `src` in the lab's folder) as the files to place in its
 * container, and which of them is the daemon's own configuration. A bind that reaches outside the
 * lab's folder is refused; one whose file was not given is a warning.
 */
import { posix } from 'node:path';
import type { DaemonKind } from '../bgp/types.js';
import { bareMap } from '../keys.js';
import { ContainerPath, OWN_LIMITS } from '../nodes/own.js';
import type { ClabNode } from './inherit.js';
import type { OurKind } from './kinds.js';
import { labPath, refuse } from './parse.js';

export interface BoundFile {
  /** path in the container */
  dst: string;
  content: string;
  /** the bind's field path */
  field: string;
}

/** The destinations a node's binds name, as written (for kind detection, whether or not their files were given). */
export const bindDestinations = (node: ClabNode): string[] =>
  node.binds.map((b) => (b.value.split(':')[1] as string).replace(/(.)\/+$/, '$1'));

/** Every file the node's binds place, from the lab's files. */
export function resolveBinds(node: ClabNode, files: Record<string, string>, warn: (w: string) => void): BoundFile[] {
  const out: BoundFile[] = [];
  for (const bind of node.binds) {
    const [rawSrc, rawDst] = bind.value.split(':') as [string, string];
    if (/__clab(Dir|NodeDir|LabName)__/.test(rawSrc)) {
      warn(`${bind.path}: ${rawSrc} is a folder containerlab makes when it deploys; not placed`);
      continue;
    }
    const src = labPath(rawSrc.replaceAll('__clabNodeName__', node.name));
    if (src === undefined) {
      throw refuse(
        bind.path,
        `${rawSrc} is outside the lab's folder: binds may only name files next to the .clab.yml file (absolute paths, "~" and ".." out of it are refused)`,
      );
    }
    if (!rawDst.startsWith('/')) {
      warn(`${bind.path}: ${rawDst} is not an absolute path in the container; not placed`);
      continue;
    }
    const dstDir = rawDst.endsWith('/');
    const dst = posix.normalize(rawDst).replace(/(.)\/+$/, '$1');
    const placed: Array<[string, string]> = [];
    if (src !== '.' && Object.hasOwn(files, src)) {
      placed.push([dstDir ? posix.join(dst, posix.basename(src)) : dst, files[src] as string]);
    } else {
      const prefix = src === '.' ? '' : `${src}/`;
      for (const key of Object.keys(files))
        if (key.startsWith(prefix)) placed.push([posix.join(dst, key.slice(prefix.length)), files[key] as string]);
      if (placed.length === 0) {
        warn(`${bind.path}: ${rawSrc} is not among the lab's files; not placed (give it next to the .clab.yml file)`);
        continue;
      }
    }
    for (const [path, content] of placed) {
      const ok = ContainerPath.safeParse(path);
      if (!ok.success) warn(`${bind.path}: ${path} cannot be placed: ${ok.error.issues[0]?.message}`);
      else out.push({ dst: path, content, field: bind.path });
    }
  }
  return out;
}

const looksToml = (text: string) => /^\s*\[\s*global[\].]/m.test(text);

/** The bound file that is the daemon's own configuration, if any. */
function pickConfig(kind: DaemonKind, bound: BoundFile[], warn: (w: string) => void): BoundFile | undefined {
  const at = (...paths: string[]) => paths.map((p) => bound.find((b) => b.dst === p)).find((b) => b !== undefined);
  switch (kind) {
    case 'frr':
      return at('/etc/frr/frr.conf');
    case 'bird':
      return at('/etc/bird/bird.conf', '/etc/bird.conf', '/etc/bird/bird2.conf');
    case 'openbgpd':
      return at('/etc/bgpd.conf', '/etc/openbgpd/bgpd.conf');
    case 'exabgp': {
      const confs = bound.filter((b) => b.dst.startsWith('/etc/exabgp/') && b.dst.endsWith('.conf') && !b.dst.endsWith('/exabgp.env'));
      return at('/etc/exabgp/exabgp.conf') ?? (confs.length === 1 ? confs[0] : undefined);
    }
    case 'gobgp': {
      const cands = bound.filter((b) => /(^\/etc\/gobgp\/|\/gobgpd?\.)[^/]*\.(toml|conf|ya?ml|json)$/.test(b.dst));
      const toml = cands.find((b) => b.dst.endsWith('.toml')) ?? cands.find((b) => b.dst.endsWith('.conf') && looksToml(b.content));
      if (!toml) for (const c of cands) warn(`${c.field}: ${c.dst} is not a TOML GoBGP configuration (only TOML is read); kept as a file`);
      return toml;
    }
  }
}

export interface Own {
  config?: string;
  files?: Record<string, string>;
}

/** The node's own configuration and files from what it binds. */
export function ownFromBinds(kind: OurKind, bound: BoundFile[], nodePath: string, warn: (w: string) => void): Own {
  const cfg = kind === 'host' ? undefined : pickConfig(kind, bound, warn);
  const own: Own = {};
  if (cfg && cfg.content.trim() !== '') own.config = cfg.content;
  else if (cfg) warn(`${cfg.field}: ${cfg.dst} is empty`);
  const files = bareMap<string>();
  let count = 0;
  for (const b of bound) {
    if (b === cfg) continue;
    if (Object.hasOwn(files, b.dst)) continue;
    if (count >= OWN_LIMITS.files) {
      warn(`${b.field}: ${b.dst} not placed: a node takes at most ${OWN_LIMITS.files} files`);
      continue;
    }
    files[b.dst] = b.content;
    count++;
  }
  if (count > 0) own.files = files;
  if (kind !== 'host' && own.config === undefined) {
    if (kind === 'frr') {
      own.config = 'frr defaults traditional\n';
      warn(`${nodePath}: no /etc/frr/frr.conf is bound: it starts with an empty FRR configuration (frr defaults traditional)`);
    } else {
      warn(`${nodePath}: no ${kind} configuration is bound: it runs the configuration the lab renders (AS auto, no sessions)`);
    }
  }
  return own;
}
