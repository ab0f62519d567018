/**
 * containerlab's inheritance, field by field: a node's value, else its group's, else its kind's,
 * else the defaults'. Lists that containerlab merges (exec, binds) are merged from defaults to node,
 * exec with duplicates dropped and binds keyed by destination (the most specific one wins); maps
 * (env, labels, sysctls) are merged too, the rest replaced. The kind comes from the node, its group,
 * the defaults' group or the defaults; the group from the node, its kind's entry or the defaults.
 */
import { entry, mapOf, type RawMap, refuse, str, strList } from './parse.js';

/** A value and the field path it was written at. */
export interface Sourced<T> {
  value: T;
  path: string;
}

export interface ClabNode {
  /** the name as written */
  name: string;
  path: string;
  kind: string | undefined;
  image: Sourced<string> | undefined;
  binds: Array<Sourced<string>>;
  exec: Array<Sourced<string>>;
  networkMode: Sourced<string> | undefined;
  /** fields set on one of the node's levels that the lab does not honour (field path -> field) */
  others: Array<{ path: string; field: string }>;
}

/** Fields read here; everything else set anywhere is reported as not honoured. */
const READ = new Set(['kind', 'group', 'image', 'binds', 'exec', 'network-mode']);

interface Level {
  path: string;
  def: RawMap | undefined;
}

export class Inheritance {
  readonly #defaults: RawMap | undefined;
  readonly #kinds: RawMap | undefined;
  readonly #groups: RawMap | undefined;

  constructor(topology: RawMap) {
    this.#defaults = mapOf(entry(topology, 'defaults'), 'topology.defaults');
    this.#kinds = mapOf(entry(topology, 'kinds'), 'topology.kinds');
    this.#groups = mapOf(entry(topology, 'groups'), 'topology.groups');
  }

  #group(name: string | undefined): Level {
    const path = `topology.groups.${name}`;
    return { path, def: name === undefined ? undefined : mapOf(entry(this.#groups, name), path) };
  }

  #kindDef(name: string | undefined): Level {
    const path = `topology.kinds.${name}`;
    return { path, def: name === undefined ? undefined : mapOf(entry(this.#kinds, name), path) };
  }

  resolve(name: string, raw: unknown): ClabNode {
    const path = `topology.nodes.${name}`;
    const node: Level = { path, def: mapOf(raw, path) };
    const defaults: Level = { path: 'topology.defaults', def: this.#defaults };
    const text = (l: Level, f: string) => (l.def ? str(entry(l.def, f), `${l.path}.${f}`) || undefined : undefined);
    const kind =
      text(node, 'kind') ??
      text(this.#group(text(node, 'group')), 'kind') ??
      text(this.#group(text(defaults, 'group')), 'kind') ??
      text(defaults, 'kind');
    const groupName = text(node, 'group') ?? text(this.#kindDef(kind), 'group') ?? text(defaults, 'group');
    // Most specific first.
    const levels = [node, this.#group(groupName), this.#kindDef(kind), defaults].filter((l) => l.def !== undefined);
    const first = (f: string): Sourced<string> | undefined => {
      for (const l of levels) {
        const v = text(l, f);
        if (v !== undefined) return { value: v, path: `${l.path}.${f}` };
      }
      return undefined;
    };
    const merged = (f: string): Array<Sourced<string>> =>
      [...levels]
        .reverse()
        .flatMap((l) => strList(entry(l.def, f), `${l.path}.${f}`).map((value, i) => ({ value, path: `${l.path}.${f}.${i}` })));

    const exec: Array<Sourced<string>> = [];
    const seen = new Set<string>();
    for (const e of merged('exec')) {
      if (seen.has(e.value)) continue;
      seen.add(e.value);
      exec.push(e);
    }
    const binds = new Map<string, Sourced<string>>();
    for (const b of merged('binds')) {
      const parts = b.value.split(':');
      if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1]) {
        throw refuse(b.path, `"${b.value}" is not a bind: write <file in the lab's folder>:<path in the container>[:ro]`);
      }
      const dst = (parts[1] as string).replace(/(.)\/+$/, '$1');
      binds.delete(dst);
      binds.set(dst, b);
    }
    const others: ClabNode['others'] = [];
    for (const l of levels)
      for (const f of Object.keys(l.def as RawMap)) if (!READ.has(f)) others.push({ path: `${l.path}.${f}`, field: f });
    if (groupName !== undefined && !this.#group(groupName).def) others.push({ path: `${path}.group`, field: 'group' });
    return { name, path, kind, image: first('image'), binds: [...binds.values()], exec, networkMode: first('network-mode'), others };
  }
}

const REASONS: Record<string, string> = {
  ports: 'ports are not published: publishing to this machine needs NSLAB_ALLOW_EXTERNAL, and is not mapped',
  'mgmt-ipv4': 'the management network and its addresses are the lab’s own',
  'mgmt-ipv6': 'the management network and its addresses are the lab’s own',
  env: 'environment variables are not set in lab containers',
  'env-files': 'environment variables are not set in lab containers',
  cmd: 'our images start their daemon themselves',
  entrypoint: 'our images start their daemon themselves',
  'startup-config': 'a linux node takes its configuration from its binds',
  cpu: 'resource limits are not set',
  'cpu-set': 'resource limits are not set',
  memory: 'resource limits are not set',
  'shm-size': 'resource limits are not set',
  sysctls: 'sysctls are not set',
  labels: 'container labels are the lab’s own',
  'wait-for': 'nodes start together; exec lines run once each has started',
  stages: 'nodes start together; exec lines run once each has started',
  user: 'containers run as their image’s user',
  group: 'the group is not defined in topology.groups',
};

const KNOWN = new Set([
  ...Object.keys(REASONS),
  'type',
  'startup-delay',
  'enforce-startup-config',
  'suppress-startup-config',
  'auto-remove',
  'restart-policy',
  'config',
  'image-pull-policy',
  'license',
  'position',
  'hostname',
  'volumes',
  'devices',
  'cap-add',
  'privileged',
  'cgroupns-mode',
  'cgroup-parent',
  'pid-mode',
  'tmpfs',
  'security-opts',
  'runtime',
  'extras',
  'dns',
  'certificate',
  'healthcheck',
  'credentials',
  'aliases',
  'components',
  'link-apply-mode',
]);

/** The warning for a field the lab does not honour. */
export function notHonoured(path: string, field: string): string {
  const why = Object.hasOwn(REASONS, field) ? REASONS[field] : KNOWN.has(field) ? undefined : 'unknown field';
  return `${path}: not honoured${why ? ` (${why})` : ''}`;
}
