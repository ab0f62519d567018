/**
 * Records rebuilt from Docker after the store lost them (state.json deleted, an old copy put
 * back): every container and network the lab makes carries its store record in a label, a node's
 * current record is also kept in a file inside its container, and each tunnel end's file carries
 * the tunnel's record. Docker itself says which networks a container is on, at which address.
 *
 * Only objects with this store's id AND a record are rebuilt; labelled objects without one stay
 * orphans (sync_run removes them). A container whose create never wrote its files (killed between
 * `docker create` and the start) is rebuilt as an unfinished create: the record goes back, and the
 * container is made again from it, as any other unfinished create is. The user asked for the node
 * and this store had reserved it (records are reserved before Docker is touched), so completing it
 * is what converges; removing it would undo a call that was accepted.
 *
 * Topology definitions are not in labels and are not rebuilt: their nodes, networks and tunnels
 * come back with their `topology` field, and sync_run names the topologies whose file is gone.
 */
import type Docker from 'dockerode';
import type { DockerEngine } from './docker/engine.js';
import { LABELS } from './docker/labels.js';
import type { NodeCollection } from './nodes.js';
import { RECORD_FILE } from './nodes.js';
import { DaemonRecord, HostRecord, NetworkRecord, type StoreState, TunnelRecord } from './store/schema.js';
import { endsOf, recordOfBatch, TUNNEL_DIR } from './tunnels/render.js';

export interface RebuiltNode {
  coll: NodeCollection;
  rec: DaemonRecord | HostRecord;
  /** its create never put the files in: the container is made again once the record is back */
  unfinished: boolean;
}

export interface Rebuildable {
  networks: NetworkRecord[];
  nodes: RebuiltNode[];
  tunnels: TunnelRecord[];
  /** topologies that rebuilt objects belong to and the store does not know */
  topologies: string[];
}

const nameOf = (c: Docker.ContainerInfo) => (c.Names[0] ?? '').replace(/^\//, '');

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** What can be rebuilt of the labelled objects no record claims. Reads only (Docker and the snapshot). */
export async function findRebuildable(
  /** the engine a container is on */
  engineOf: (c: Docker.ContainerInfo) => DockerEngine,
  state: StoreState,
  owned: { containers: Docker.ContainerInfo[]; networks: Docker.NetworkInspectInfo[] },
): Promise<Rebuildable> {
  const networks: NetworkRecord[] = [];
  for (const n of owned.networks) {
    if (state.networks[n.Name]) continue;
    const label = parseJson(n.Labels?.[LABELS.record]);
    const rec = NetworkRecord.safeParse({ ...(label as object), id: n.Id, allocations: {} });
    if (label && rec.success && rec.data.name === n.Name) networks.push(rec.data);
  }
  const labNets = new Set([...Object.keys(state.networks), ...networks.map((n) => n.name)]);
  const nodes: RebuiltNode[] = [];
  const tunnels = new Map<string, TunnelRecord>();
  const claimed = (name: string) => !!(state.daemons[name] ?? state.hosts[name]);
  for (const c of owned.containers) {
    const name = nameOf(c);
    const label = c.Labels?.[LABELS.record];
    if (claimed(name) || !label) continue;
    const coll: NodeCollection | undefined =
      c.Labels?.[LABELS.role] === 'daemon' ? 'daemons' : c.Labels?.[LABELS.role] === 'host' ? 'hosts' : undefined;
    if (!coll) continue;
    const files = await engineOf(c).readFiles(c.Id, '/etc/nslab');
    const current = parseJson(files.get(RECORD_FILE));
    const raw = (current ?? parseJson(label)) as Record<string, unknown> | undefined;
    if (!raw || raw.name !== name) continue;
    // Docker holds the truth about networks and addresses (connects after the create change them).
    const eps = c.NetworkSettings?.Networks ?? {};
    const recorded = Array.isArray(raw.interfaces) ? (raw.interfaces as Array<{ network?: unknown }>).map((i) => String(i.network)) : [];
    const nets = Object.keys(eps)
      .filter((n) => labNets.has(n) && eps[n]?.IPAddress)
      .sort((a, b) => rank(recorded, a) - rank(recorded, b));
    const unfinished = current === undefined;
    const draft = {
      ...raw,
      // An unfinished create was never connected to all its networks: the record says where it goes.
      ...(unfinished ? {} : { interfaces: nets.map((n) => ({ network: n, ip: eps[n]?.IPAddress as string })) }),
      desired: unfinished || c.State === 'running' || c.State === 'restarting' ? 'running' : 'stopped',
      ...(unfinished ? {} : { container_id: c.Id, image: c.Image }),
    };
    const parsed = coll === 'daemons' ? DaemonRecord.safeParse(draft) : HostRecord.safeParse(draft);
    if (!parsed.success) continue;
    nodes.push({ coll, rec: parsed.data, unfinished });
    for (const [path, text] of files) {
      if (!path.startsWith(`${TUNNEL_DIR}/`) || !path.endsWith('.ip')) continue;
      const t = TunnelRecord.safeParse(recordOfBatch(text));
      if (t.success && !state.tunnels[t.data.name]) tunnels.set(t.data.name, t.data);
    }
  }
  // A tunnel comes back only when every lab end it names is (or will be) in the store.
  const known = new Set([...Object.keys(state.daemons), ...Object.keys(state.hosts), ...nodes.map((n) => n.rec.name)]);
  const rebuiltTunnels = [...tunnels.values()].filter((t) => endsOf(t).every((e) => known.has(e.container)));
  const topologies = new Set<string>();
  for (const r of [...networks, ...nodes.map((n) => n.rec), ...rebuiltTunnels])
    if (r.topology && !state.topologies[r.topology]) topologies.add(r.topology);
  return { networks, nodes, tunnels: rebuiltTunnels, topologies: [...topologies].sort() };
}

function rank(order: string[], net: string): number {
  const i = order.indexOf(net);
  return i < 0 ? order.length : i;
}

/**
 * Put the rebuilt records into the state (one transaction), addresses included; returns, per
 * name, why one could not go back (an address or name someone else holds meanwhile).
 */
export function applyRebuild(s: StoreState, r: Rebuildable): Map<string, string> {
  const failed = new Map<string, string>();
  for (const n of r.networks) if (!s.networks[n.name]) s.networks[n.name] = { ...n, allocations: {} };
  // Nodes the store still knows that sit on a rebuilt network get their addresses there back.
  for (const rec of [...Object.values(s.daemons), ...Object.values(s.hosts)]) {
    for (const i of rec.interfaces) {
      const net = r.networks.find((n) => n.name === i.network) && s.networks[i.network];
      if (net && !net.allocations[i.ip]) net.allocations[i.ip] = rec.name;
    }
  }
  for (const { coll, rec } of r.nodes) {
    if (s.daemons[rec.name] || s.hosts[rec.name]) {
      failed.set(rec.name, `'${rec.name}' is in the store again meanwhile`);
      continue;
    }
    const clash = rec.interfaces.find((i) => {
      const holder = s.networks[i.network]?.allocations[i.ip];
      return !s.networks[i.network] || (holder !== undefined && holder !== rec.name);
    });
    if (clash) {
      const holder = s.networks[clash.network]?.allocations[clash.ip];
      failed.set(rec.name, holder ? `${clash.ip} on '${clash.network}' is held by '${holder}'` : `network '${clash.network}' is unknown`);
      continue;
    }
    for (const i of rec.interfaces) (s.networks[i.network] as NetworkRecord).allocations[i.ip] = rec.name;
    (s[coll] as Record<string, DaemonRecord | HostRecord>)[rec.name] = rec;
  }
  for (const t of r.tunnels) {
    const ok = endsOf(t).every((e) => s.daemons[e.container] ?? s.hosts[e.container]);
    if (!s.tunnels[t.name] && ok) s.tunnels[t.name] = t;
    else if (!ok) failed.set(t.name, 'an end of it could not be rebuilt');
  }
  return failed;
}
