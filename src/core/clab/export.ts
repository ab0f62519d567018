/**
 * A lab written out as a containerlab file: every node a `linux` node running our image (FRR the
 * public one), its configuration and files bound from `<node>/<file>`, its addresses put on by
 * exec lines (unless its own config or exec lines do that), and each network a link, or a bridge
 * when it joins more than two nodes. The `mgmt` network that names eth0 everywhere is containerlab's own.
 */
import { posix } from 'node:path';
import { Document } from 'yaml';
import { IMAGE_REPO } from '../images.js';
import { bareMap } from '../keys.js';
import { MGMT_NETWORK } from './import.js';
import { type ClabExportInput, type ClabExportResult, type ExportNode, Warnings } from './types.js';

export const FRR_IMAGE = 'quay.io/frrouting/frr:8.4.0';

const imageOf = (kind: ExportNode['kind']) => (kind === 'frr' ? FRR_IMAGE : `${IMAGE_REPO}/${kind}:latest`);

/** FRR's daemons file when the node brings none: zebra and staticd always run, bgpd and bfdd here. */
export const FRR_DAEMONS = `bgpd=yes
ospfd=no
ospf6d=no
ripd=no
ripngd=no
isisd=no
pimd=no
ldpd=no
nhrpd=no
eigrpd=no
babeld=no
sharpd=no
pbrd=no
bfdd=yes
fabricd=no
vrrpd=no

vtysh_enable=yes
zebra_options="  -A 127.0.0.1 -s 90000000"
bgpd_options="   -A 127.0.0.1"
staticd_options="-A 127.0.0.1"
bfdd_options="   -A 127.0.0.1"
`;

const HEADER = `containerlab topology written by netstream-lab (nslab topology export); deploy: sudo containerlab deploy -t <this file>
The files it binds (<node>/<file>) sit next to it.
Images: FRR nodes run ${FRR_IMAGE}; every other node runs ${IMAGE_REPO}/<kind>:latest (gobgp, exabgp, bird,
openbgpd, host), built from a netstream-lab checkout with \`nslab images build\`, which also tags them :latest.`;

interface Member {
  node: ExportNode;
  ifname: string;
}

export function exportClab(input: ClabExportInput): ClabExportResult {
  const warnings = new Warnings();
  const files = bareMap<string>();
  const order = new Map(input.networks.map((n, i) => [n.key, i]));
  const rank = (net: string) => order.get(net) ?? Number.MAX_SAFE_INTEGER;

  // Which network each node's interfaces are on, and their names (eth1, eth2, ... where none is given).
  const members = new Map<string, Member[]>();
  const ifnames = new Map<ExportNode, Map<string, string>>();
  const mgmtIsClabs = input.nodes.every((n) => n.interfaces.every((i) => i.network !== MGMT_NETWORK || i.name === 'eth0'));
  const isMgmt = (net: string) => net === MGMT_NETWORK && mgmtIsClabs;
  for (const node of input.nodes) {
    const names = new Map<string, string>();
    const taken = new Set(node.interfaces.map((i) => i.name).filter((n): n is string => n !== undefined));
    let next = 1;
    for (const i of [...node.interfaces].sort((a, b) => rank(a.network) - rank(b.network))) {
      if (isMgmt(i.network)) continue;
      let name = i.name;
      while (name === undefined || (i.name === undefined && taken.has(name))) name = `eth${next++}`;
      taken.add(name);
      names.set(i.network, name);
      const list = members.get(i.network) ?? [];
      list.push({ node, ifname: name });
      members.set(i.network, list);
    }
    ifnames.set(node, names);
  }

  // Networks: two members make a link, more a bridge (made on the containerlab machine first).
  const clabNodes = bareMap<Record<string, unknown>>();
  const bridges = bareMap<Record<string, unknown>>();
  const links: Array<{ endpoints: string[] }> = [];
  const hostNames = new Set<string>(input.nodes.map((n) => n.key));
  const leftOut = new Set<string>();
  const nets = [...members.keys()].sort((a, b) => rank(a) - rank(b));
  for (const net of nets) {
    const list = members.get(net) as Member[];
    if (list.length === 1) {
      warnings.add(`networks.${net}: only ${list[0]?.node.key} is on it; left out (a containerlab link joins two endpoints)`);
      leftOut.add(`${list[0]?.node.key}\0${net}`);
      continue;
    }
    if (list.length === 2) {
      links.push({ endpoints: list.map((m) => `${m.node.key}:${m.ifname}`) });
      continue;
    }
    const bridge = bridgeName(net, hostNames);
    bridges[bridge] = { kind: 'bridge' };
    list.forEach((m, i) => {
      links.push({ endpoints: [`${m.node.key}:${m.ifname}`, `${bridge}:${portName(bridge, i + 1, hostNames)}`] });
    });
    warnings.add(
      `networks.${net}: joins ${list.length} nodes, so it is bridge ${bridge}: containerlab needs that Linux bridge made on its machine first (sudo ip link add ${bridge} type bridge && sudo ip link set ${bridge} up)`,
    );
  }

  for (const node of input.nodes) {
    const binds: string[] = [];
    const used = new Set<string>();
    const bind = (path: string, content: string) => {
      let file = `${node.key}/${posix.basename(path)}`;
      for (let n = 2; used.has(file); n++) file = `${node.key}/${n}-${posix.basename(path)}`;
      used.add(file);
      files[file] = content;
      binds.push(`${file}:${path}`);
    };
    const placed = new Set<string>();
    for (const c of node.config ?? []) {
      bind(c.path, c.content);
      placed.add(c.path);
    }
    for (const path of Object.keys(node.files ?? {})) {
      if (placed.has(path)) continue;
      bind(path, (node.files as Record<string, string>)[path] as string);
      placed.add(path);
    }
    if (node.kind === 'frr' && !placed.has('/etc/frr/daemons')) bind('/etc/frr/daemons', FRR_DAEMONS);

    const exec = [...(node.exec ?? [])];
    const names = ifnames.get(node) as Map<string, string>;
    if (!node.addressesFromLab) {
      for (const i of [...node.interfaces].sort((a, b) => rank(a.network) - rank(b.network))) {
        const ifname = names.get(i.network);
        if (ifname === undefined || leftOut.has(`${node.key}\0${i.network}`)) continue;
        exec.push(`ip addr add ${i.ip}/${i.prefixLen} dev ${ifname}`);
      }
    }
    if (node.kind === 'host' && node.gateway) exec.push(`ip route replace default via ${node.gateway}`);
    clabNodes[node.key] = {
      kind: 'linux',
      image: imageOf(node.kind),
      ...(binds.length ? { binds } : {}),
      ...(exec.length ? { exec } : {}),
    };
  }
  for (const b of Object.keys(bridges)) clabNodes[b] = bridges[b] as Record<string, unknown>;

  const doc = new Document({ name: input.name, topology: { nodes: { ...clabNodes }, ...(links.length ? { links } : {}) } });
  doc.commentBefore = HEADER.split('\n')
    .map((l) => ` ${l}`)
    .join('\n');
  return { yaml: doc.toString({ lineWidth: 0 }), files: { ...files }, warnings: warnings.done() };
}

const IFNAME = /^[A-Za-z][A-Za-z0-9_.-]{0,14}$/;

/** A Linux bridge name (at most 15 characters) for a network, unique among nodes and bridges. */
function bridgeName(net: string, used: Set<string>): string {
  let name = IFNAME.test(net) && !used.has(net) ? net : `br-${net}`.slice(0, 15);
  for (let n = 2; used.has(name) || !IFNAME.test(name); n++) name = `br-${net.slice(0, 15 - 4 - String(n).length)}-${n}`;
  used.add(name);
  return name;
}

/** The host-side name of a bridge port. */
function portName(bridge: string, i: number, used: Set<string>): string {
  let name = `${bridge.slice(0, 15 - 2 - String(i).length)}-p${i}`;
  for (let n = 2; used.has(name); n++) name = `${bridge.slice(0, 8)}-p${i}-${n}`.slice(0, 15);
  used.add(name);
  return name;
}
