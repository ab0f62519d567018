/**
 * What a tunnel is inside a container, as data and as `ip` commands. Pure: nothing here touches
 * Docker. The same lines are run by the core when it creates or repairs a tunnel, and by each lab
 * image's entrypoint (nslab-tunnels) at every container start, from the files rendered here.
 */
import { createHash } from 'node:crypto';
import type { FileEntry } from '../docker/archive.js';
import type { StoreState, TunnelMode, TunnelRecord } from '../store/schema.js';

export const TUNNEL_DIR = '/etc/nslab/tunnels';
/** ifalias of every tunnel interface the lab makes: the mark that lets it touch only its own. */
export const TUNNEL_ALIAS = 'netstream-lab';
export const VXLAN_PORT = 4789;
export const DEFAULT_TTL = 64;

/** Bytes each encapsulation adds: outer IPv4 20 + GRE 4 (+4 with a key); VXLAN: IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14. */
export function overhead(mode: TunnelMode, key: number | undefined): number {
  return mode === 'vxlan' ? 50 : key === undefined ? 24 : 28;
}

/** One end of a tunnel as the kernel of its container should have it. */
export interface TunnelEnd {
  name: string;
  mode: TunnelMode;
  container: string;
  local: string;
  remote: string;
  /** inner address with prefix length */
  address: string;
  /** the other end's inner address, when the other end is a lab container too */
  peerAddress?: string | undefined;
  key?: number | undefined;
  ttl: number;
  mtu: number;
}

/** The ends of a tunnel that are inside lab containers (one or two). */
export function endsOf(t: TunnelRecord): TunnelEnd[] {
  const common = { name: t.name, mode: t.mode, key: t.key, ttl: t.ttl, mtu: t.mtu };
  const a: TunnelEnd = {
    ...common,
    container: t.a.container,
    local: t.a.underlay_ip,
    remote: 'remote_ip' in t.b ? t.b.remote_ip : t.b.underlay_ip,
    address: t.a.tunnel_ip,
  };
  if ('remote_ip' in t.b) return [a];
  return [
    { ...a, peerAddress: t.b.tunnel_ip },
    {
      ...common,
      container: t.b.container,
      local: t.b.underlay_ip,
      remote: t.a.underlay_ip,
      address: t.b.tunnel_ip,
      peerAddress: t.a.tunnel_ip,
    },
  ];
}

/** The end of `t` inside `container`, if it has one. */
export function endIn(t: TunnelRecord, container: string): TunnelEnd | undefined {
  return endsOf(t).find((e) => e.container === container);
}

/**
 * A VXLAN end's MAC address, fixed by tunnel and container (locally administered, unicast): a
 * recreated or restarted end keeps it, so the far end's ARP entry stays right and traffic resumes
 * at once instead of after the neighbour cache times out.
 */
export function vxlanMac(e: Pick<TunnelEnd, 'name' | 'container'>): string {
  const h = createHash('sha256').update(`${e.name}\0${e.container}`).digest();
  return ['02', ...[...h.subarray(0, 5)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

/** `ip link add` arguments (without `ip`) for the interface of one end. `name` is spelled out: ip
 * reads a bare word such as `tx` as an abbreviated keyword (txqueuelen). */
export function linkAddArgs(e: TunnelEnd): string[] {
  if (e.mode === 'vxlan') {
    if (e.key === undefined) throw new Error('a VXLAN tunnel needs a VNI (key)');
    return [
      'link',
      'add',
      'name',
      e.name,
      'address',
      vxlanMac(e),
      'type',
      'vxlan',
      'id',
      String(e.key),
      'local',
      e.local,
      'remote',
      e.remote,
      'dstport',
      String(VXLAN_PORT),
      'ttl',
      String(e.ttl),
    ];
  }
  const args = ['link', 'add', 'name', e.name, 'type', 'gre', 'local', e.local, 'remote', e.remote, 'ttl', String(e.ttl)];
  if (e.key !== undefined) args.push('key', String(e.key));
  return args;
}

/** Every step that makes one end, in order, as `ip` argument lists. */
export function setupSteps(e: TunnelEnd): string[][] {
  return [
    linkAddArgs(e),
    ['link', 'set', 'dev', e.name, 'mtu', String(e.mtu), 'alias', TUNNEL_ALIAS],
    ['addr', 'replace', e.address, 'dev', e.name],
    ['link', 'set', 'dev', e.name, 'up'],
  ];
}

/** The line of a tunnel file that carries the tunnel's store record (a comment to `ip -batch`). */
export const RECORD_LINE = '# record ';

/**
 * The `ip -batch` file of one end (all values are validated addresses, numbers and names). With
 * the tunnel's record, that goes in too, as a comment line of JSON (one line: JSON escapes line
 * breaks), so that sync_run can rebuild a lost store's tunnels from the containers.
 */
export function renderBatch(e: TunnelEnd, record?: TunnelRecord): string {
  const rec = record ? `${RECORD_LINE}${JSON.stringify(record)}\n` : '';
  return `# netstream-lab tunnel ${e.name} (${e.mode}); applied by nslab-tunnels at container start\n${rec}${setupSteps(e)
    .map((s) => s.join(' '))
    .join('\n')}\n`;
}

/** The record a tunnel file carries, if any (not validated here). */
export function recordOfBatch(text: string): unknown {
  const line = text.split('\n').find((l) => l.startsWith(RECORD_LINE));
  if (!line) return undefined;
  try {
    return JSON.parse(line.slice(RECORD_LINE.length));
  } catch {
    return undefined;
  }
}

export const tunnelFile = (name: string): string => `${TUNNEL_DIR}/${name}.ip`;

/** The tunnel files a container needs, from the store: one per tunnel that ends in it. */
export function tunnelFiles(state: StoreState, container: string): FileEntry[] {
  const out: FileEntry[] = [];
  for (const t of Object.values(state.tunnels ?? {})) {
    const e = endIn(t, container);
    if (e) out.push({ path: tunnelFile(e.name), content: renderBatch(e, t), mode: 0o644 });
  }
  return out;
}
