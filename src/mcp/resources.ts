import { basename } from 'node:path';
import { McpError, type ReadResourceResult, type Resource, type ResourceTemplate } from '@modelcontextprotocol/sdk/types.js';
import { stringify } from 'yaml';
import { runTool } from '../../tools/index.js';
import { drivers } from '../core/bgp/index.js';
import { bgpConfig } from '../core/daemon-config.js';
import type { Lab } from '../core/lab.js';

/** JSON-RPC code the MCP specification gives an unknown resource. */
export const RESOURCE_NOT_FOUND = -32002;

type Contents = ReadResourceResult['contents'];
type Vars = Record<string, string>;

interface Kind {
  template: string;
  title: string;
  description: string;
  mimeType: string;
  /** shown only while this tool is (toolsets, read-only mode) */
  tool: string;
  /** concrete resources/list entries: one per name, or none for per-file templates */
  listed: boolean;
  /** one resource with no variables (listed as is, not offered as a template) */
  fixed?: boolean;
  /** candidates for a template variable, given the others already chosen */
  complete(lab: Lab, variable: string, vars: Vars): Promise<string[]>;
  read(lab: Lab, vars: Vars, uri: string, frontEnd: string): Promise<Contents>;
}

const topologyNames = async (lab: Lab) => Object.keys((await lab.store.read()).topologies).sort();
const daemonNames = async (lab: Lab) => Object.keys((await lab.store.read()).daemons).sort();

const notFound = (uri: string, why: string) => new McpError(RESOURCE_NOT_FOUND, `Resource not found: ${uri} (${why})`, { uri });

/** A tool's result, or the MCP error a resource read answers with. */
async function viaTool(lab: Lab, tool: string, args: unknown, uri: string, frontEnd: string): Promise<Record<string, unknown>> {
  const out = await runTool(lab, tool, args, { caller: { front_end: frontEnd } });
  if (out.ok) return out.result;
  if (out.error.code === 'NOT_FOUND' || out.error.code === 'INVALID_INPUT') throw notFound(uri, out.error.message);
  throw new McpError(-32603, `${uri}: ${out.error.toText()}`, { uri });
}

const HIDDEN = 'NSLAB-PASSWORD-HIDDEN';

/** The files the daemon's driver renders from the store, with BGP passwords hidden. */
async function daemonFiles(lab: Lab, name: string, uri: string) {
  const state = await lab.store.read();
  const rec = state.daemons[name];
  if (!rec) throw notFound(uri, `daemon '${name}' not found`);
  const shown = { ...rec, neighbors: rec.neighbors.map((n) => (n.password === undefined ? n : { ...n, password: HIDDEN })) };
  const b64 = Buffer.from(HIDDEN).toString('base64');
  return drivers[rec.kind]
    .render(bgpConfig(shown, state))
    .map((f) => ({ path: f.path, text: f.content.replaceAll(HIDDEN, '***').replaceAll(b64, '***') }));
}

const fileMime = (path: string) => (path.endsWith('.toml') ? 'application/toml' : 'text/plain');
const configUri = (name: string, path: string) => `nslab://daemon/${encodeURIComponent(name)}/config/${basename(path)}`;

const jsonOf = async (lab: Lab, tool: string, args: unknown, uri: string, fe: string): Promise<Contents> => [
  { uri, mimeType: 'application/json', text: JSON.stringify(await viaTool(lab, tool, args, uri, fe), null, 2) },
];

export const RESOURCE_KINDS: readonly Kind[] = [
  {
    template: 'nslab://topology/{name}/file',
    title: 'Topology file',
    description: 'A saved topology file as YAML (the text it was created from, or the saved spec written as YAML).',
    mimeType: 'application/yaml',
    tool: 'topology_get',
    listed: true,
    complete: (lab) => topologyNames(lab),
    read: async (lab, v, uri, fe) => {
      const t = (await viaTool(lab, 'topology_get', { name: v.name }, uri, fe)) as { yaml?: string; spec: unknown };
      return [{ uri, mimeType: 'application/yaml', text: t.yaml ?? stringify(t.spec) }];
    },
  },
  {
    template: 'nslab://topology/{name}/status',
    title: 'Topology status',
    description:
      "A topology as it runs (topology_status): each node's container and daemon state, each BGP session from both ends, each tunnel.",
    mimeType: 'application/json',
    tool: 'topology_status',
    listed: true,
    complete: (lab) => topologyNames(lab),
    read: async (lab, v, uri, fe) => [
      {
        uri,
        mimeType: 'application/json',
        text: JSON.stringify(await viaTool(lab, 'topology_status', { name: v.name }, uri, fe), null, 2),
      },
    ],
  },
  {
    template: 'nslab://daemon/{name}/config',
    title: 'Daemon configuration',
    description:
      'The configuration files netstream-lab renders for a daemon (frr.conf, gobgpd.toml, exabgp.conf, bird.conf, bgpd.conf), one content per file, from the store (passwords hidden).',
    mimeType: 'text/plain',
    tool: 'daemon_get',
    listed: true,
    complete: (lab) => daemonNames(lab),
    read: async (lab, v, uri) =>
      (await daemonFiles(lab, v.name as string, uri)).map((f) => ({
        uri: configUri(v.name as string, f.path),
        mimeType: fileMime(f.path),
        text: f.text,
      })),
  },
  {
    template: 'nslab://daemon/{name}/config/{file}',
    title: 'Daemon configuration file',
    description: 'One configuration file of a daemon, by its file name (as listed by nslab://daemon/{name}/config).',
    mimeType: 'text/plain',
    tool: 'daemon_get',
    listed: false,
    complete: async (lab, variable, vars) => {
      if (variable === 'name') return daemonNames(lab);
      if (!vars.name) return [];
      const files = await daemonFiles(lab, vars.name, '').catch(() => []);
      return files.map((f) => basename(f.path));
    },
    read: async (lab, v, uri) => {
      const f = (await daemonFiles(lab, v.name as string, uri)).find((x) => basename(x.path) === v.file);
      if (!f) throw notFound(uri, `daemon '${v.name}' has no configuration file '${v.file}'`);
      return [{ uri, mimeType: fileMime(f.path), text: f.text }];
    },
  },
  {
    template: 'nslab://events',
    title: 'Lab events',
    description:
      'The newest 100 events of the lab event stream (event_list): sessions up and down, nodes died or started, drift, faults, verify results, standups and teardowns. Subscribe to hear of each new one.',
    mimeType: 'application/json',
    tool: 'event_list',
    listed: true,
    fixed: true,
    complete: async () => [],
    read: (lab, _v, uri, fe) => jsonOf(lab, 'event_list', { limit: 100 }, uri, fe),
  },
  {
    template: 'nslab://daemon/{name}/status',
    title: 'Daemon status',
    description:
      "A daemon as it runs (daemon_status): its container's state, whether the BGP daemon answers, each neighbor's state, its routes. Subscribe to hear when its sessions or container change.",
    mimeType: 'application/json',
    tool: 'daemon_status',
    listed: true,
    complete: (lab) => daemonNames(lab),
    read: (lab, v, uri, fe) => jsonOf(lab, 'daemon_status', { name: v.name }, uri, fe),
  },
];

/** Variables of a URI that fits a template (`{x}` matches one path segment), or undefined. */
export function matchTemplate(template: string, uri: string): Vars | undefined {
  const names: string[] = [];
  const pattern = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_, n: string) => {
    names.push(n);
    return '([^/?#]+)';
  });
  const m = new RegExp(`^${pattern}$`).exec(uri);
  if (!m) return undefined;
  try {
    return Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1] as string)]));
  } catch {
    return undefined;
  }
}

const expand = (template: string, vars: Vars) => template.replace(/\{(\w+)\}/g, (_, n: string) => encodeURIComponent(vars[n] ?? ''));

export class Resources {
  constructor(
    private readonly lab: Lab,
    private readonly visible: () => Set<string>,
    private readonly frontEnd: string,
  ) {}

  kinds(): Kind[] {
    const tools = this.visible();
    return RESOURCE_KINDS.filter((k) => tools.has(k.tool));
  }

  templates(): ResourceTemplate[] {
    return this.kinds()
      .filter((k) => !k.fixed)
      .map((k) => ({
        uriTemplate: k.template,
        name: k.template,
        title: k.title,
        description: k.description,
        mimeType: k.mimeType,
      }));
  }

  async list(): Promise<Resource[]> {
    const out: Resource[] = [];
    for (const k of this.kinds().filter((x) => x.listed)) {
      if (k.fixed) {
        out.push({ uri: k.template, name: k.title.toLowerCase(), title: k.title, description: k.description, mimeType: k.mimeType });
        continue;
      }
      for (const name of await k.complete(this.lab, 'name', {})) {
        out.push({
          uri: expand(k.template, { name }),
          name: `${name} ${k.title.toLowerCase()}`,
          title: `${k.title}: ${name}`,
          mimeType: k.mimeType,
        });
      }
    }
    return out;
  }

  async read(uri: string): Promise<ReadResourceResult> {
    for (const k of this.kinds()) {
      const vars = matchTemplate(k.template, uri);
      if (vars) return { contents: await k.read(this.lab, vars, uri, this.frontEnd) };
    }
    throw notFound(
      uri,
      `not a netstream-lab resource; the templates are ${
        this.kinds()
          .map((k) => k.template)
          .join(', ') || 'none in this mode'
      }`,
    );
  }

  /** Completion of a template variable: names from the store that start with what was typed. */
  async complete(template: string, variable: string, typed: string, context: Vars): Promise<string[]> {
    const k = this.kinds().find((x) => x.template === template);
    if (!k?.template.includes(`{${variable}}`)) return [];
    return (await k.complete(this.lab, variable, context)).filter((n) => n.startsWith(typed));
  }
}
