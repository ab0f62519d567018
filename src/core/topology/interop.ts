/**
 * Labs in and out: a containerlab file (and the files it binds) saved as one of our topologies,
 * and a topology written out as a containerlab file (or our own YAML) with the configurations it
 * binds, so that a lab made here runs under containerlab elsewhere. The conversions are pure
 * (../clab/); this adds what only the lab knows: the subnets already in use, each router's
 * configuration as it is now (its record's live peers and prefixes when it is deployed).
 */
import { stringify } from 'yaml';
import { drivers } from '../bgp/index.js';
import type { BgpConfig } from '../bgp/types.js';
import { exportClab, importClab } from '../clab/index.js';
import type { ExportNode } from '../clab/types.js';
import { bgpConfig } from '../daemon-config.js';
import { notFound } from '../errors.js';
import { OWN_CONFIG_PATH } from '../nodes/own.js';
import type { StoreState } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { gatewayIp } from './plan.js';
import { type Desired, type DesiredDaemon, resolveTopology } from './resolve.js';
import type { Topologies, TopologyView } from './service.js';
import { parseTopology } from './spec.js';

export const IMPORT_FORMATS = ['containerlab'] as const;
export const EXPORT_FORMATS = ['containerlab', 'yaml'] as const;

export interface ImportInput {
  format: (typeof IMPORT_FORMATS)[number];
  yaml: string;
  files?: Record<string, string> | undefined;
  name?: string | undefined;
  replace?: boolean | undefined;
}

export interface ExportOutput {
  name: string;
  format: (typeof EXPORT_FORMATS)[number];
  /** the file's text (.clab.yml, or our topology YAML) */
  text: string;
  /** lab-folder-relative path -> text of each file it binds */
  files: Record<string, string>;
  warnings: string[];
}

export class Interop {
  constructor(private readonly deps: { store: Store; topologies: Topologies; swarm: () => boolean }) {}

  /** Convert and save (not stand up): the saved topology, and what could not be honoured. */
  async import(input: ImportInput): Promise<TopologyView & { warnings: string[] }> {
    const state = await this.deps.store.read();
    // Link subnets stay clear of every network the lab has or any saved file names.
    const avoidSubnets = [
      ...Object.values(state.networks).map((n) => n.subnet),
      ...Object.values(state.topologies).flatMap((t) =>
        Object.values((t.spec as { networks?: Record<string, { subnet?: unknown }> }).networks ?? {}).flatMap((n) =>
          typeof n?.subnet === 'string' ? [n.subnet] : [],
        ),
      ),
    ];
    const { spec, warnings } = importClab({
      yaml: input.yaml,
      files: input.files ?? {},
      ...(input.name ? { name: input.name } : {}),
      avoidSubnets,
    });
    const saved = await this.deps.topologies.create({ spec, replace: input.replace });
    return { ...saved, warnings };
  }

  async export(name: string, format: ExportOutput['format']): Promise<ExportOutput> {
    const state = await this.deps.store.read();
    const rec = state.topologies[name];
    if (!rec) throw notFound('topology', name);
    if (format === 'yaml') return { name, format, text: rec.yaml ?? stringify(rec.spec), files: {}, warnings: [] };
    const spec = parseTopology({ spec: rec.spec });
    const desired = resolveTopology(spec, state, { swarm: this.deps.swarm() });
    const warnings: string[] = [];
    if (desired.tunnels.length)
      warnings.push(
        `tunnels are not exported (${desired.tunnels.map((t) => t.name).join(', ')}): containerlab has no GRE or VXLAN link between two containers' own interfaces; add them as exec lines`,
      );
    if (spec.expect?.length || spec.scenarios)
      warnings.push('expect and scenarios are netstream-lab checks: not part of a containerlab file');
    const nodes = desired.nodes.map((n): ExportNode => {
      const key = n.key;
      const file = spec.nodes[key];
      const interfaces = n.interfaces.map((i) => {
        const net = desired.networks.find((x) => x.name === i.network);
        return {
          network: net?.key ?? i.network,
          ip: i.ip,
          prefixLen: Number(net?.subnet.split('/')[1] ?? 32),
          ...(i.name ? { name: i.name } : {}),
        };
      });
      const own = n.own;
      const common = {
        key,
        interfaces,
        ...(own?.files?.length ? { files: Object.fromEntries(own.files.map((f) => [f.path, f.content])) } : {}),
        ...(own?.exec?.length ? { exec: own.exec } : {}),
        ...(file?.interface_names ? { addressesFromLab: true } : {}),
      };
      if (n.role === 'host') {
        const gw = n.gateway && gatewayIp(n.interfaces, n.gateway, (x) => desired.nodes.find((y) => y.name === x));
        return { ...common, kind: 'host', ...(gw ? { gateway: gw } : {}) };
      }
      const config = own?.config !== undefined ? [{ path: OWN_CONFIG_PATH[n.kind], content: own.config }] : renderNow(n, desired, state);
      return { ...common, kind: n.kind, config };
    });
    const networks = desired.networks.map((n) => ({ key: n.key, subnet: n.subnet }));
    const out = exportClab({ name, nodes, networks });
    return { name, format, text: out.yaml, files: out.files, warnings: [...warnings, ...out.warnings] };
  }
}

/** A router's configuration files as it runs now: from its record when deployed (live peers and prefixes), else as the file resolves. */
function renderNow(n: DesiredDaemon, desired: Desired, state: StoreState): Array<{ path: string; content: string }> {
  const rec = state.daemons[n.name];
  const cfg: BgpConfig =
    rec && rec.topology === desired.topology
      ? bgpConfig(rec, state)
      : {
          name: n.name,
          kind: n.kind,
          asn: n.asn,
          router_id: n.router_id,
          interfaces: n.interfaces.map((i) => ({
            ...i,
            subnet: desired.networks.find((x) => x.name === i.network)?.subnet ?? `${i.ip}/32`,
          })),
          neighbors: n.neighbors,
          advertise: n.advertise,
          route_server: n.route_server,
        };
  return drivers[n.kind].render(cfg).map((f) => ({ path: f.path, content: f.content }));
}
