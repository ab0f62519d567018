/**
 * Records rebuilt from Docker after the store lost them (state.json deleted, an old copy put
 * back): every container and network the lab makes carries its store record in a label (without
 * passwords, and none when too big: 64 KiB), a node's current record is also kept in a file inside
 * its container, and each tunnel end's file carries the tunnel's record. Docker itself says which
 * networks a container is on, at which address.
 *
 * Only objects with this store's id AND a record are rebuilt; labelled objects without one stay
 * orphans (sync_run removes them). A container whose create never wrote its files (killed between
 * `docker create` and the start) is rebuilt as an unfinished create: the record goes back, and the
 * container is made again from it, as any other unfinished create is. The user asked for the node
 * and this store had reserved it (records are reserved before Docker is touched), so completing it
 * is what converges; removing it would undo a call that was accepted. Its label holds no
 * passwords, so its peers come back without them.
 *
 * The files are the container's to rewrite, so nothing read is trusted: every record passes the
 * checks of rebuild-check.ts (the field rules of tool input, and what Docker and the labels say),
 * and one that does not is refused, named with its fields, and left alone: neither put back nor
 * removed as an orphan.
 *
 * Topology definitions are not in labels and are not rebuilt: their nodes, networks and tunnels
 * come back with their `topology` field, and sync_run names the topologies whose file is gone.
 */
import type { ContainerSummary, NetworkInfo } from './docker/engine.js';
import { LABELS } from './docker/labels.js';
import type { Placement } from './engines/placement.js';
import type { FieldIssue } from './errors.js';
import { checkAddress, parseSubnet, swarmRange } from './ipam.js';
import type { NodeCollection } from './nodes/records.js';
import { RECORD_FILE } from './nodes/records.js';
import { checkNetwork, checkNode, checkTunnel, type EngineNames } from './rebuild-check.js';
import type { DaemonRecord, HostRecord, NetworkRecord, StoreState, TunnelRecord } from './store/schema.js';
import { endsOf, recordOfBatch, TUNNEL_DIR, tunnelFile } from './tunnels/render.js';

export interface RebuiltNode {
  coll: NodeCollection;
  rec: DaemonRecord | HostRecord;
  /** its create never put the files in: the container is made again once the record is back */
  unfinished: boolean;
}

/** A record found on a lab object that does not pass its checks (rebuild-check.ts): never put back. */
export interface RefusedRecord {
  object: 'network' | 'daemon' | 'host' | 'tunnel';
  /** the network or container it was found on (a tunnel: its name) */
  name: string;
  /** where the record was read */
  source: string;
  problems: FieldIssue[];
}

export interface Rebuildable {
  networks: NetworkRecord[];
  nodes: RebuiltNode[];
  tunnels: TunnelRecord[];
  /** topologies that rebuilt objects belong to and the store does not know */
  topologies: string[];
  /** records that failed their checks; their objects are left as they are (not orphans) */
  refused: RefusedRecord[];
}

const nameOf = (c: ContainerSummary) => (c.Names[0] ?? '').replace(/^\//, '');
const has = (map: Record<string, unknown>, key: string) => Object.hasOwn(map, key);

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A tunnel file as one end's container holds it. */
interface TunnelCopy {
  container: string;
  raw: unknown;
}

/**
 * What can be rebuilt of the labelled objects no record claims, each record checked first
 * (rebuild-check.ts), and what is refused with why. Reads only (Docker and the snapshot).
 */
export async function findRebuildable(
  placement: Placement,
  state: StoreState,
  owned: { containers: ContainerSummary[]; networks: NetworkInfo[]; engineOf: Map<string, string> },
  policy: { allowExternal: boolean },
): Promise<Rebuildable> {
  const engines: EngineNames = { names: placement.names, default: placement.defaultName };
  const refused: RefusedRecord[] = [];
  const networks: NetworkRecord[] = [];
  for (const n of owned.networks) {
    if (has(state.networks, n.Name)) continue;
    const text = n.Labels?.[LABELS.record];
    if (text === undefined) continue;
    const label = parseJson(text);
    const source = `the label ${LABELS.record} of Docker network '${n.Name}'`;
    const checked = checkNetwork(label, await networkSeen(placement, n, label), { allowExternal: policy.allowExternal, engines });
    if (checked.ok) networks.push({ ...checked.rec, id: n.Id, allocations: {} });
    else refused.push({ object: 'network', name: n.Name, source, problems: checked.problems });
  }
  const labNets = new Set([...Object.keys(state.networks), ...networks.map((n) => n.name)]);
  const refusedNets = new Set(refused.map((r) => r.name));
  const nodes: RebuiltNode[] = [];
  const tunnelCopies = new Map<string, TunnelCopy[]>();
  const claimed = (name: string) => has(state.daemons, name) || has(state.hosts, name);
  for (const c of owned.containers) {
    const name = nameOf(c);
    const coll: NodeCollection | undefined =
      c.Labels?.[LABELS.role] === 'daemon' ? 'daemons' : c.Labels?.[LABELS.role] === 'host' ? 'hosts' : undefined;
    if (claimed(name) || !coll) continue;
    const engineName = owned.engineOf.get(c.Id) ?? placement.defaultName;
    const files = await placement.of(engineName).readFiles(c.Id, '/etc/nslab');
    const labelText = c.Labels?.[LABELS.record];
    const fileText = files.get(RECORD_FILE);
    // Only the label: a create killed before it wrote the file. Only the file: a record too big
    // for a label. Neither: nothing to rebuild from, an orphan (sync_run removes it).
    if (labelText === undefined && fileText === undefined) continue;
    const labelRecord = parseJson(labelText) as Record<string, unknown> | undefined;
    const unfinished = fileText === undefined;
    const raw = unfinished ? labelRecord : parseJson(fileText);
    const object = coll === 'daemons' ? 'daemon' : 'host';
    const source = unfinished ? `the label ${LABELS.record} of container '${name}'` : `${RECORD_FILE} in container '${name}'`;
    const refuse = (problems: FieldIssue[]) => refused.push({ object, name, source, problems });
    if (typeof raw !== 'object' || raw === null) {
      refuse([{ path: '(record)', message: 'is not a JSON object' }]);
      continue;
    }
    // Docker holds the truth about networks and addresses (connects after the create change them).
    const eps = c.NetworkSettings?.Networks ?? {};
    const rawIfaces = (raw as { interfaces?: unknown }).interfaces;
    const recorded = Array.isArray(rawIfaces) ? rawIfaces.map((i) => String((i as { network?: unknown })?.network)) : [];
    const nets = Object.keys(eps)
      .filter((n) => labNets.has(n) && eps[n]?.IPAddress)
      .sort((a, b) => rank(recorded, a) - rank(recorded, b));
    const draft = {
      ...raw,
      // An unfinished create was never connected to all its networks: the record says where it goes.
      ...(unfinished ? {} : { interfaces: nets.map((n) => ({ network: n, ip: eps[n]?.IPAddress as string })) }),
    };
    const checked = checkNode(
      draft,
      {
        coll,
        name,
        labels: c.Labels ?? {},
        engine: engineName,
        labelRecord: labelRecord && typeof labelRecord === 'object' ? labelRecord : undefined,
      },
      engines,
    );
    if (!checked.ok) {
      refuse(checked.problems);
      continue;
    }
    // On a network whose own record was refused: half a node is not put back.
    const onRefused = (unfinished ? checked.rec.interfaces.map((i) => i.network) : Object.keys(eps)).filter((n) => refusedNets.has(n));
    if (onRefused.length) {
      refuse([{ path: 'interfaces', message: `it is on network '${onRefused[0]}', whose record was refused` }]);
      continue;
    }
    const rec = {
      ...checked.rec,
      desired: unfinished || c.State === 'running' || c.State === 'restarting' ? ('running' as const) : ('stopped' as const),
      ...(unfinished ? {} : { container_id: c.Id, image: c.Image }),
    } as DaemonRecord | HostRecord;
    nodes.push({ coll, rec, unfinished });
    for (const [path, text] of files) {
      if (!path.startsWith(`${TUNNEL_DIR}/`) || !path.endsWith('.ip')) continue;
      const file = path.slice(TUNNEL_DIR.length + 1, -3);
      if (has(state.tunnels, file)) continue;
      const copies = tunnelCopies.get(file) ?? [];
      copies.push({ container: name, raw: recordOfBatch(text) });
      tunnelCopies.set(file, copies);
    }
  }
  const known = new Set([...Object.keys(state.daemons), ...Object.keys(state.hosts), ...nodes.map((n) => n.rec.name)]);
  const refusedNodes = new Set(refused.filter((r) => r.object !== 'network').map((r) => r.name));
  const tunnels: TunnelRecord[] = [];
  for (const [file, copies] of tunnelCopies) {
    const t = await checkTunnelCopies(file, copies, { placement, owned, labNets, known, refusedNodes });
    if ('problems' in t) refused.push({ object: 'tunnel', name: file, source: t.source, problems: t.problems });
    else tunnels.push(t);
  }
  const topologies = new Set<string>();
  for (const r of [...networks, ...nodes.map((n) => n.rec), ...tunnels])
    if (r.topology && !has(state.topologies, r.topology)) topologies.add(r.topology);
  return { networks, nodes, tunnels, topologies: [...topologies].sort(), refused };
}

/** What Docker says about a network, and whether it is on the engine its record names. */
async function networkSeen(placement: Placement, n: NetworkInfo, label: unknown) {
  const claimed = (label ?? {}) as { engine?: unknown; driver?: unknown };
  let engine: string | undefined;
  if (claimed.driver === 'overlay') engine = placement.defaultName;
  else {
    const name = typeof claimed.engine === 'string' ? claimed.engine : placement.defaultName;
    // Found by id on that engine, or not there (another engine's network, or an engine that does not answer).
    if (placement.names.includes(name)) {
      const info = await placement
        .of(name)
        .inspectNetwork(n.Id)
        .catch(() => undefined);
      if (info) engine = name;
    }
  }
  const ipam = n.IPAM?.Config?.[0];
  return {
    name: n.Name,
    driver: n.Driver,
    internal: n.Internal,
    subnet: ipam?.Subnet,
    gateway: ipam?.Gateway,
    options: n.Options ?? {},
    labels: n.Labels ?? {},
    engine,
  };
}

/**
 * A tunnel comes back when every copy of its file passes checkTunnel, every copy says the same,
 * each lab end is a node that is (or will be) in the store, holds the file, and has the recorded
 * underlay address on the underlay network in Docker: one container alone cannot put a tunnel
 * (an interface, an address) into another.
 */
async function checkTunnelCopies(
  file: string,
  copies: TunnelCopy[],
  ctx: {
    placement: Placement;
    owned: { containers: ContainerSummary[]; engineOf: Map<string, string> };
    labNets: Set<string>;
    known: Set<string>;
    refusedNodes: Set<string>;
  },
): Promise<TunnelRecord | { source: string; problems: FieldIssue[] }> {
  const where = (c: string) => `${tunnelFile(file)} in container '${c}'`;
  const checked = [];
  for (const copy of copies) {
    const r = checkTunnel(copy.raw, { file, container: copy.container });
    if (!r.ok) return { source: where(copy.container), problems: r.problems };
    checked.push({ container: copy.container, rec: r.rec });
  }
  const first = checked[0] as { container: string; rec: TunnelRecord };
  const rec = first.rec;
  const source = where(first.container);
  const problem = (path: string, message: string) => ({ source, problems: [{ path, message }] });
  if (!ctx.labNets.has(rec.underlay)) return problem('underlay', `'${rec.underlay}' is not a lab network of this store`);
  const containers = new Map(ctx.owned.containers.map((c) => [nameOf(c), c]));
  for (const [field, end] of [
    ['a', rec.a],
    ['b', rec.b],
  ] as const) {
    if (!('container' in end)) continue;
    if (ctx.refusedNodes.has(end.container)) return problem(`${field}.container`, `the record of '${end.container}' was refused`);
    if (!ctx.known.has(end.container)) return problem(`${field}.container`, `'${end.container}' is not a lab daemon or host of this store`);
    const c = containers.get(end.container);
    const ip = c?.NetworkSettings?.Networks?.[rec.underlay]?.IPAddress;
    if (ip !== end.underlay_ip)
      return problem(`${field}.underlay_ip`, `is not the address of '${end.container}' on '${rec.underlay}' in Docker`);
    let copy = checked.find((x) => x.container === end.container);
    if (!copy && c) {
      // An end the store still knows: its file was not read with the rebuilt nodes'.
      const files = await ctx.placement.of(ctx.owned.engineOf.get(c.Id)).readFiles(c.Id, TUNNEL_DIR);
      const r = checkTunnel(recordOfBatch(files.get(tunnelFile(file)) ?? ''), { file, container: end.container });
      if (r.ok) copy = { container: end.container, rec: r.rec };
    }
    if (!copy) return problem(`${field}.container`, `'${end.container}' holds no valid file of this tunnel`);
    if (JSON.stringify(copy.rec) !== JSON.stringify(rec)) return problem(field, `the file in '${end.container}' says otherwise`);
  }
  return rec;
}

function addressProblem(net: NetworkRecord | undefined, ip: string, field: string): string | undefined {
  const subnet = net && parseSubnet(net.subnet);
  if (!net || typeof subnet !== 'object') return undefined;
  const why = checkAddress(subnet, net.gateway, {}, ip, net.driver === 'overlay' ? swarmRange(subnet) : undefined);
  return why ? `${field}: ${why}` : undefined;
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
  for (const { coll, rec, unfinished } of r.nodes) {
    if (s.daemons[rec.name] || s.hosts[rec.name]) {
      failed.set(rec.name, `'${rec.name}' is in the store again meanwhile`);
      continue;
    }
    // Addresses in use are Docker's; an unfinished create's come from its label and must be ones
    // a create could have reserved (not the gateway, the network address, Docker's swarm block).
    const misplaced = unfinished
      ? rec.interfaces.map((i, n) => addressProblem(s.networks[i.network], i.ip, `interfaces.${n}.ip`)).find(Boolean)
      : undefined;
    if (misplaced) {
      failed.set(rec.name, misplaced);
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
