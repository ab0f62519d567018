/**
 * What a rebuilt record must be before it goes back into the store. A lost store is rebuilt from
 * what the objects carry (rebuild.ts), and much of that was written by whatever runs inside a lab
 * container: its /etc/nslab/record.json and tunnel files are the container's to rewrite. A value
 * from there ends up in other containers' files and commands (a tunnel end's inner address is a
 * line of the other end's `ip -batch` file, a neighbor's description a line of a daemon config), so
 * each record passes the field rules every tool input passes (fields.ts), and then what Docker and
 * the lab's own labels say about the object: its name, the engine it is on, its bridge, its kind.
 * Anything else is refused with the field and why; nothing of a refused record is put back.
 *
 * Unknown fields are dropped rather than refused (a newer netstream-lab may have written more); no
 * list is bounded by count here, as later calls (daemon_peer_add, daemon_route_advertise) may grow
 * a record past the create limits: the label (64 KiB) and the file read (1 MiB) bound it.
 */
import { z } from 'zod';
import { drivers } from './bgp/index.js';
import { neighborRefusals } from './bgp/refusals.js';
import { timersProblem } from './bgp/states.js';
import { DAEMON_KINDS } from './bgp/types.js';
import { LABELS } from './docker/labels.js';
import type { FieldIssue } from './errors.js';
import {
  Asn,
  Cidr,
  EngineName,
  HostGateway,
  Ipv4,
  Name,
  NeighborFields,
  Prefix,
  SubnetCidr,
  TunnelKey,
  TunnelMtu,
  TunnelName,
  TunnelTtl,
  UnicastIpv4,
  vniProblem,
} from './fields.js';
import { checkAddress, innerAddressProblem, parseCidr, parseSubnet, type Subnet } from './ipam.js';
import { bridgeName } from './networks.js';
import type { NodeCollection } from './nodes/records.js';
import { type DaemonRecord, type HostRecord, NetworkRecord, TUNNEL_MODES, type TunnelRecord } from './store/schema.js';
import { TopologyName } from './topology/spec.js';
import { issueText } from './validation.js';

export type Checked<T> = { ok: true; rec: T } | { ok: false; problems: FieldIssue[] };

/** Every record the lab writes has its creation time from toISOString(). */
const CreatedAt = z.iso.datetime({ message: 'must be an ISO time like 2026-01-31T12:00:00.000Z' });
const InterfaceField = z.object({ network: Name, ip: Ipv4 });

/** The neighbor fields of daemon_create / daemon_peer_add. */
const NeighborField = z.object(NeighborFields);

const DaemonFields = z.object({
  name: Name,
  kind: z.enum(DAEMON_KINDS),
  asn: Asn,
  router_id: Ipv4,
  interfaces: z.array(InterfaceField),
  neighbors: z.array(NeighborField),
  advertise: z.array(Prefix),
  route_server: z.boolean().optional(),
  topology: TopologyName.optional(),
  engine: EngineName.optional(),
  created_at: CreatedAt,
});

/** host_create's gateway (an address or a node's name) and loopback. */
const HostFields = z.object({
  name: Name,
  interfaces: z.array(InterfaceField),
  gateway: HostGateway.optional(),
  loopback: Cidr.optional(),
  topology: TopologyName.optional(),
  engine: EngineName.optional(),
  created_at: CreatedAt,
});

const NetworkFields = z.object({
  name: Name,
  subnet: SubnetCidr,
  gateway: Ipv4,
  driver: NetworkRecord.shape.driver,
  engine: EngineName.optional(),
  parent: z.string().optional(),
  internal: z.boolean(),
  bridge: z.string().optional(),
  topology: TopologyName.optional(),
  created_at: CreatedAt,
});

/** tunnel_create's ends, with the underlay address the lab filled in. */
const LabEnd = z.object({ container: Name, tunnel_ip: Cidr, underlay_ip: Ipv4 });
const RemoteEnd = z.object({ remote_ip: UnicastIpv4 });
const TunnelFields = z.object({
  name: TunnelName,
  mode: z.enum(TUNNEL_MODES),
  underlay: Name,
  a: LabEnd,
  b: z.unknown(),
  key: TunnelKey.optional(),
  ttl: TunnelTtl,
  mtu: TunnelMtu,
  topology: TopologyName.optional(),
  created_at: CreatedAt,
});

const issue = (path: string, message: string): FieldIssue => ({ path, message });

function parse<T>(schema: z.ZodType<T>, raw: unknown, prefix: Array<string | number> = []): Checked<T> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return { ok: false, problems: [issue('(record)', 'is not a JSON object')] };
  const r = schema.safeParse(raw);
  return r.success ? { ok: true, rec: r.data } : { ok: false, problems: r.error.issues.flatMap((i) => issueText(i, prefix)) };
}

const result = <T>(rec: T, problems: FieldIssue[]): Checked<T> => (problems.length ? { ok: false, problems } : { ok: true, rec });

/** Where the engines are: the configured names, the first being the default. */
export interface EngineNames {
  names: string[];
  default: string;
}

/** A record's engine, whose absence means the default engine, must be the one it was found on. */
function engineProblem(recEngine: string | undefined, foundOn: string | undefined, engines: EngineNames): FieldIssue | undefined {
  if (recEngine !== undefined && !engines.names.includes(recEngine))
    return issue('engine', `no engine named '${recEngine}' (NSLAB_ENGINES)`);
  if (foundOn === undefined) return issue('engine', `the object is not on engine '${recEngine ?? engines.default}'`);
  if ((recEngine ?? engines.default) !== foundOn) {
    return issue('engine', `says engine '${recEngine ?? engines.default}', but the object is on engine '${foundOn}'`);
  }
  return undefined;
}

/** What Docker and the lab's own labels say about a network (a container cannot change these). */
export interface NetworkSeen {
  name: string;
  driver: string;
  internal: boolean;
  subnet: string | undefined;
  gateway: string | undefined;
  /** Docker's options: the bridge name, a macvlan's parent */
  options: Record<string, string>;
  labels: Record<string, string>;
  /** the engine it was found on, when it is on the one its record names (undefined otherwise) */
  engine: string | undefined;
}

/**
 * A network record from its label, checked as network_create checks its input, against the
 * network Docker has, and against the egress gate: a network that reaches outside the machine
 * (internal: false, macvlan) comes back only where the operator allows those (NSLAB_ALLOW_EXTERNAL).
 */
export function checkNetwork(
  raw: unknown,
  seen: NetworkSeen,
  policy: { allowExternal: boolean; engines: EngineNames },
): Checked<Omit<NetworkRecord, 'allocations'>> {
  const parsed = parse(NetworkFields, raw);
  if (!parsed.ok) return parsed;
  const rec = parsed.rec;
  const problems: FieldIssue[] = [];
  if (rec.name !== seen.name) problems.push(issue('name', `does not match the Docker network's name '${seen.name}'`));
  if (seen.subnet !== undefined && rec.subnet !== seen.subnet) problems.push(issue('subnet', `Docker's network has subnet ${seen.subnet}`));
  const subnet = parseSubnet(rec.subnet) as Subnet;
  const gw = seen.gateway ?? rec.gateway;
  if (rec.gateway !== gw) problems.push(issue('gateway', `Docker's network has gateway ${gw}`));
  else {
    const why = checkAddress(subnet, '', {}, rec.gateway);
    if (why) problems.push(issue('gateway', why));
  }
  if (rec.driver !== seen.driver) problems.push(issue('driver', `Docker's network is a ${seen.driver} network`));
  if (rec.internal !== seen.internal) problems.push(issue('internal', `Docker's network has internal: ${seen.internal}`));
  if (!policy.allowExternal && !rec.internal) {
    problems.push(
      issue(
        'internal',
        'a network with internal: false reaches outside the machine; it is refused unless the operator sets NSLAB_ALLOW_EXTERNAL',
      ),
    );
  }
  if (!policy.allowExternal && rec.driver === 'macvlan') {
    problems.push(
      issue('driver', 'a macvlan network reaches outside the machine; it is refused unless the operator sets NSLAB_ALLOW_EXTERNAL'),
    );
  }
  // The bridge name is where sync_run opens forwarding (iptables): it is derived from the name, never taken as given.
  const bridge = rec.driver === 'bridge' ? bridgeName(rec.name) : undefined;
  if (rec.bridge !== bridge) {
    problems.push(
      issue('bridge', bridge ? `must be ${bridge}, the bridge name of network '${rec.name}'` : `a ${rec.driver} network has no bridge`),
    );
  } else if (bridge && (seen.options['com.docker.network.bridge.name'] !== bridge || seen.labels[LABELS.bridge] !== bridge)) {
    problems.push(issue('bridge', `Docker's network does not use bridge ${bridge}`));
  }
  if (rec.driver === 'macvlan' ? rec.parent !== seen.options.parent : rec.parent !== undefined) {
    problems.push(
      issue('parent', rec.driver === 'macvlan' ? "does not match the Docker network's parent" : 'only a macvlan network has a parent'),
    );
  }
  if (rec.driver === 'overlay') {
    if (rec.engine !== undefined) problems.push(issue('engine', 'an overlay network spans the swarm and names no engine'));
  } else {
    const p = engineProblem(rec.engine, seen.engine, policy.engines);
    if (p) problems.push(p);
  }
  if (rec.topology !== seen.labels[LABELS.topology]) problems.push(issue('topology', "does not match the network's topology label"));
  return result(rec, problems);
}

/** What Docker and the lab's own labels say about a node's container. */
export interface NodeSeen {
  coll: NodeCollection;
  /** its Docker name */
  name: string;
  labels: Record<string, string>;
  /** the engine it is on */
  engine: string;
  /** its record label as the lab wrote it at create (absent when too big for a label) */
  labelRecord: Record<string, unknown> | undefined;
}

/** Fields no call changes after a create: the record file must agree with the label on them. */
const FIXED_FIELDS = ['kind', 'asn', 'router_id', 'gateway', 'loopback', 'created_at'] as const;

/**
 * A daemon or host record (from its record file, or its label for a create that never wrote the
 * file), checked as daemon_create / host_create check their input, against its container (name,
 * engine, kind and topology labels) and, for fields no call changes, against its label.
 */
export function checkNode(
  raw: unknown,
  seen: NodeSeen,
  engines: EngineNames,
): Checked<Omit<DaemonRecord, 'desired'> | Omit<HostRecord, 'desired'>> {
  const parsed = seen.coll === 'daemons' ? parse(DaemonFields, raw) : parse(HostFields, raw);
  if (!parsed.ok) return parsed;
  const rec = parsed.rec;
  const problems: FieldIssue[] = [];
  if (rec.name !== seen.name) problems.push(issue('name', `does not match the container's name '${seen.name}'`));
  const kind = 'kind' in rec ? rec.kind : 'host';
  if (kind !== seen.labels[LABELS.nodeKind])
    problems.push(issue(seen.coll === 'daemons' ? 'kind' : '(record)', "does not match the container's kind label"));
  if (rec.topology !== seen.labels[LABELS.topology]) problems.push(issue('topology', "does not match the container's topology label"));
  const e = engineProblem(rec.engine, seen.engine, engines);
  if (e) problems.push(e);
  if (seen.labelRecord) {
    for (const f of FIXED_FIELDS) {
      const [a, b] = [(rec as Record<string, unknown>)[f], seen.labelRecord[f]];
      if (a !== b) problems.push(issue(f, 'differs from the record the lab put in the container label, and no call changes it'));
    }
  }
  dupes(
    rec.interfaces.map((i) => i.network),
    'interfaces',
    'network',
    problems,
  );
  if ('neighbors' in rec) {
    dupes(
      rec.neighbors.map((n) => n.address),
      'neighbors',
      'address',
      problems,
    );
    dupes(rec.advertise, 'advertise', undefined, problems);
    const noRs = drivers[rec.kind].noRouteServer;
    if (rec.route_server && noRs) problems.push(issue('route_server', noRs));
    rec.neighbors.forEach((n, i) => {
      const timers = timersProblem(n);
      if (timers) problems.push(issue(`neighbors.${i}.keepalive_s`, timers));
      for (const { field, why } of neighborRefusals(rec.kind, n)) {
        problems.push(issue(`neighbors.${i}.${field}`, `not supported by ${rec.kind}: ${why}`));
      }
    });
  }
  return result(rec, problems);
}

function dupes(values: string[], list: string, field: string | undefined, problems: FieldIssue[]): void {
  const seen = new Set<string>();
  values.forEach((v, i) => {
    if (seen.has(v)) problems.push(issue(field ? `${list}.${i}.${field}` : `${list}.${i}`, 'is listed twice'));
    seen.add(v);
  });
}

/**
 * A tunnel record from a tunnel file, checked as tunnel_create checks its input, and against the
 * file it was found in: its name is the file's, and the container holding the file is one of its ends.
 */
export function checkTunnel(raw: unknown, where: { file: string; container: string }): Checked<TunnelRecord> {
  const parsed = parse(TunnelFields, raw);
  const b = typeof raw === 'object' && raw !== null ? (raw as { b?: unknown }).b : undefined;
  const remote = typeof b === 'object' && b !== null && 'remote_ip' in b;
  const end = parse<z.infer<typeof LabEnd> | z.infer<typeof RemoteEnd>>(remote ? RemoteEnd : LabEnd, b, ['b']);
  if (!parsed.ok || !end.ok) return { ok: false, problems: [...(parsed.ok ? [] : parsed.problems), ...(end.ok ? [] : end.problems)] };
  const rec: TunnelRecord = { ...parsed.rec, b: end.rec };
  const problems: FieldIssue[] = [];
  if (rec.name !== where.file) problems.push(issue('name', `does not match the file it is in (${where.file}.ip)`));
  const ends = [rec.a, ...('container' in rec.b ? [rec.b] : [])];
  if (!ends.some((x) => x.container === where.container))
    problems.push(issue('a.container', `the file is in '${where.container}', which is neither end`));
  if ('container' in rec.b && rec.b.container === rec.a.container) problems.push(issue('b.container', 'both ends are the same container'));
  for (const [field, x] of [
    ['a', rec.a],
    ['b', rec.b],
  ] as const) {
    if (!('tunnel_ip' in x)) continue;
    const why = innerAddressProblem(x.tunnel_ip);
    if (why) problems.push(issue(`${field}.tunnel_ip`, why));
  }
  if ('tunnel_ip' in rec.b) {
    const [a, b2] = [parseCidr(rec.a.tunnel_ip), parseCidr(rec.b.tunnel_ip)];
    if (typeof a !== 'string' && typeof b2 !== 'string' && a.cidr !== b2.cidr)
      problems.push(issue('b.tunnel_ip', 'is not in the same subnet as a.tunnel_ip'));
    if (rec.a.tunnel_ip.split('/')[0] === rec.b.tunnel_ip.split('/')[0])
      problems.push(issue('b.tunnel_ip', 'both ends have the same inner address'));
  }
  // A VXLAN record must carry its VNI: tunnel_create allocated one.
  const vni = rec.mode === 'vxlan' ? vniProblem(rec.key ?? 0) : undefined;
  if (vni) problems.push(issue('key', vni));
  return result(rec, problems);
}

/**
 * Text read from a container as one line for a report: control characters (a crafted value's line
 * breaks) shown as `?`, and cut, so that what a container wrote cannot shape the report around it.
 */
export function printable(s: string, max: number): string {
  const t = s.replace(/[\p{Cc}\u2028\u2029]/gu, '?');
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

/** The problems of a refused record, as one line: `field: why; field: why`. */
export function problemText(problems: FieldIssue[]): string {
  const shown = problems.slice(0, 10).map((p) => `${printable(p.path, 80)}: ${printable(p.message, 300)}`);
  return `${shown.join('; ')}${problems.length > shown.length ? `; and ${problems.length - shown.length} more` : ''}`;
}
