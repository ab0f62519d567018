/** A containerlab file made into our topology spec (see index.ts for the rules). */
import { bareMap } from '../keys.js';
import { ExecLine, IfName, OWN_LIMITS } from '../nodes/own.js';
import { type NodeSpec, parseTopology, type TopologySpec } from '../topology/spec.js';
import { bindDestinations, ownFromBinds, resolveBinds } from './binds.js';
import { type ClabNode, Inheritance, notHonoured } from './inherit.js';
import { BRIDGE_KINDS, isOurImage, kindByBinds, kindByImage, leftOutReason, NODE_KINDS, type OurKind } from './kinds.js';
import { addressLines, type ClabLink, type Endpoint, readLinks } from './links.js';
import { isLocalName, topologyName, uniqueName } from './names.js';
import { entry, labFiles, parseClab, refuse, str } from './parse.js';
import { SubnetPool, writtenRanges } from './subnets.js';
import { type ClabImportInput, type ClabImportResult, Warnings } from './types.js';

/** The management network every imported node joins as eth0, as containerlab gives each node one. */
export const MGMT_NETWORK = 'mgmt';
const MGMT_IF = 'eth0';

const ROOT_FIELDS = new Set(['name', 'topology']);
const TOPOLOGY_FIELDS = new Set(['nodes', 'links', 'defaults', 'kinds', 'groups']);

interface Kept {
  clab: ClabNode;
  key: string;
  kind: OurKind;
  spec: NodeSpec;
  /** exec lines from link addresses, run before the node's own */
  linkExec: string[];
}

interface Net {
  key: string;
  members: Endpoint[];
}

export function importClab(input: ClabImportInput): ClabImportResult {
  const warnings = new Warnings();
  const warn = (w: string) => warnings.add(w);
  const { root, topology, nodes, links } = parseClab(input.yaml);
  const files = labFiles(input.files, warn);
  for (const f of Object.keys(root))
    if (!ROOT_FIELDS.has(f)) warn(`${f}: not honoured${f === 'mgmt' ? ' (the lab makes its own management network)' : ''}`);
  for (const f of Object.keys(topology)) if (!TOPOLOGY_FIELDS.has(f)) warn(`topology.${f}: not honoured (unknown field)`);

  const clabName = str(entry(root, 'name'), 'name');
  const name = input.name ?? topologyName(clabName);
  if (input.name === undefined && name !== clabName)
    warn(`name: ${clabName === undefined ? 'not given' : `"${clabName}"`}; the topology is named ${name} here`);

  // Nodes: which are kept, which are bridges, which are left out.
  const inheritance = new Inheritance(topology);
  const kept = new Map<string, Kept>();
  const bridges = new Map<string, Net>();
  const leftOut = new Set<string>();
  const usedNodes = new Set<string>();
  const usedNets = new Set<string>([MGMT_NETWORK]);
  const warned = new Set<string>();
  for (const nodeName of Object.keys(nodes)) {
    const clab = inheritance.resolve(nodeName, nodes[nodeName]);
    if (clab.kind === undefined) throw refuse(`${clab.path}.kind`, 'is required (set it on the node, its group or topology.defaults)');
    if (BRIDGE_KINDS.has(clab.kind)) {
      const key = uniqueName(nodeName, usedNets, 'bridge');
      if (key !== nodeName) warn(`${clab.path}: the ${clab.kind} is network ${key} here`);
      bridges.set(nodeName, { key, members: [] });
      continue;
    }
    if (!NODE_KINDS.has(clab.kind)) {
      warn(`${clab.path}: left out: ${leftOutReason(clab.kind)}`);
      leftOut.add(nodeName);
      continue;
    }
    if (clab.networkMode) {
      warn(
        `${clab.networkMode.path}: ${clab.networkMode.value} is not honoured: every node has its own network namespace here; the node is left out`,
      );
      leftOut.add(nodeName);
      continue;
    }
    for (const o of clab.others) {
      if (warned.has(o.path)) continue;
      warned.add(o.path);
      warn(notHonoured(o.path, o.field));
    }
    const key = uniqueName(nodeName, usedNodes);
    if (key !== nodeName) warn(`${clab.path}: named ${key} here (node names are 1-30 lower-case letters, digits, "_" and "-")`);
    kept.set(nodeName, nodeSpec(clab, key, files, warn));
  }
  if (kept.size === 0) throw refuse('topology.nodes', 'no node can be imported (only linux and frr nodes run here)');

  // Links: one network each; a bridge's links make one network.
  const nets: Net[] = [];
  const ifUsed = new Map<string, string>();
  for (const link of readLinks(links, warn)) {
    const ends = [link.a, link.b];
    for (const e of ends) {
      if (!Object.hasOwn(nodes, e.node)) throw refuse(`${e.path}`, `node ${e.node} is not in topology.nodes`);
    }
    const out = ends.find((e) => leftOut.has(e.node));
    if (out) {
      warn(`${link.path}: left out (node ${out.node} is left out)`);
      continue;
    }
    const bridged = ends.filter((e) => bridges.has(e.node));
    if (bridged.length === 2) {
      warn(`${link.path}: left out: a link between two bridges is not made here`);
      continue;
    }
    if (link.a.node === link.b.node) {
      warn(`${link.path}: left out: a link from ${link.a.node} to itself cannot be a lab network`);
      continue;
    }
    const members = ends.filter((e) => !bridges.has(e.node));
    for (const e of members) checkIface(e, ifUsed);
    if (bridged[0]) (bridges.get(bridged[0].node) as Net).members.push(members[0] as Endpoint);
    else nets.push({ key: linkKey(link, kept, usedNets), members });
  }
  for (const [bridgeName, net] of bridges) {
    if (net.members.length === 0) warn(`topology.nodes.${bridgeName}: left out: the bridge has no links to imported nodes`);
    else nets.push(net);
  }

  // Subnets clear of every address the lab writes and of what the caller already uses.
  const pool = new SubnetPool(writtenRanges([input.yaml, ...Object.values(files)]), input.avoidSubnets ?? []);
  const subnet = (members: number, what: string) => {
    const s = pool.take(members);
    if (!s) throw refuse(what, 'no free subnet is left for it: the lab writes addresses all over the ranges a lab network may use');
    return s;
  };
  const spec: TopologySpec = { name, networks: bareMap(), nodes: bareMap() };
  spec.networks[MGMT_NETWORK] = { subnet: subnet(kept.size, 'topology.nodes') };
  for (const net of nets) spec.networks[net.key] = { subnet: subnet(net.members.length, 'topology.links') };

  for (const k of kept.values()) {
    k.spec.interfaces = bareMap();
    k.spec.interfaces[MGMT_NETWORK] = 'auto';
    k.spec.interface_names = bareMap();
    k.spec.interface_names[MGMT_NETWORK] = MGMT_IF;
  }
  for (const net of nets) {
    for (const e of net.members) {
      const k = kept.get(e.node) as Kept;
      (k.spec.interfaces as Record<string, string>)[net.key] = 'auto';
      (k.spec.interface_names as Record<string, string>)[net.key] = e.iface;
      k.linkExec.push(...addressLines(e, e.iface));
    }
  }
  for (const k of kept.values()) {
    const exec = [...k.linkExec, ...(k.spec.exec ?? [])];
    if (exec.length > OWN_LIMITS.exec)
      warn(`${k.clab.path}.exec: only the first ${OWN_LIMITS.exec} exec lines run here (${exec.length} given)`);
    if (exec.length) k.spec.exec = exec.slice(0, OWN_LIMITS.exec);
    spec.nodes[k.key] = k.spec;
  }
  return { spec: parseTopology({ spec }), warnings: warnings.done() };
}

function nodeSpec(clab: ClabNode, key: string, files: Record<string, string>, warn: (w: string) => void): Kept {
  const image = clab.image?.value;
  const kind: OurKind =
    (image ? kindByImage(image) : undefined) ?? kindByBinds(bindDestinations(clab)) ?? (clab.kind === 'frr' ? 'frr' : 'host');
  if (!image) warn(`${clab.path}: no image; runs as our ${kind} image`);
  else if (!isOurImage(image, kind))
    warn(`${clab.image?.path}: ${image} is not used here; the node runs as our ${kind} image (netstream-lab/${kind})`);
  const own = ownFromBinds(kind, resolveBinds(clab, files, warn), clab.path, warn);
  const exec: string[] = [];
  for (const line of clab.exec) {
    const text = line.value.replaceAll('__clabNodeName__', clab.name);
    const ok = ExecLine.safeParse(text);
    if (ok.success) exec.push(text);
    else warn(`${line.path}: dropped: ${ok.error.issues[0]?.message}`);
  }
  const base = { interfaces: { [MGMT_NETWORK]: 'auto' }, ...(own.files ? { files: own.files } : {}), ...(exec.length ? { exec } : {}) };
  const spec: NodeSpec =
    kind === 'host'
      ? { kind, ...base }
      : { kind, ...base, ...(own.config !== undefined ? { config: own.config } : { asn: 'auto' as const }) };
  return { clab, key, kind, spec, linkExec: [] };
}

function checkIface(e: Endpoint, used: Map<string, string>): void {
  if (e.iface === MGMT_IF) {
    throw refuse(
      e.path,
      `${e.node}:${e.iface}: eth0 is the management interface containerlab gives every node (here too); links use eth1 and up`,
    );
  }
  const ok = IfName.safeParse(e.iface);
  if (!ok.success) throw refuse(e.path, `${e.iface} ${ok.error.issues[0]?.message}`);
  const id = `${e.node}:${e.iface}`;
  const other = used.get(id);
  if (other) throw refuse(e.path, `${id} is already an endpoint of ${other}`);
  used.set(id, e.path.replace(/\.endpoints\.\d+$/, ''));
}

function linkKey(link: ClabLink, kept: Map<string, Kept>, used: Set<string>): string {
  const a = kept.get(link.a.node)?.key;
  const b = kept.get(link.b.node)?.key;
  const pair = `${a}-${b}`;
  if (isLocalName(pair) && !used.has(pair)) {
    used.add(pair);
    return pair;
  }
  return uniqueName(`link${link.index + 1}`, used);
}
