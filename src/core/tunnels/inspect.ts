/**
 * Reading a tunnel back from the kernel (`ip -d -j link`, `ip -j addr`) and comparing it with what
 * was saved. Pure: the outputs come in as text, so every case is unit-tested with real captures.
 */
import { TUNNEL_ALIAS, type TunnelEnd, VXLAN_PORT } from './render.js';

export interface LinkObservation {
  ifname: string;
  /** info_kind: vxlan, gre, ... (undefined for a plain device) */
  kind?: string | undefined;
  /** carries the lab's ifalias: made by netstream-lab */
  ours: boolean;
  /** administratively up (flag UP) */
  up: boolean;
  /** the kernel's operstate; a working GRE or VXLAN interface reports UNKNOWN, which is up */
  operstate: string;
  mtu: number;
  local?: string | undefined;
  remote?: string | undefined;
  key?: number | undefined;
  ttl?: number | undefined;
  port?: number | undefined;
}

export interface AddrObservation {
  ifname: string;
  mtu: number;
  /** IPv4 addresses with prefix length */
  addresses: string[];
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseJsonArray(stdout: string, what: string): Record<string, unknown>[] {
  let data: unknown;
  try {
    data = JSON.parse(stdout.trim() || '[]');
  } catch (err) {
    throw new Error(`${what}: output is not JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(data)) throw new Error(`${what}: expected a JSON array`);
  return data.filter(isObj);
}

/** A GRE key as iproute2 prints it ("0.0.0.42", or a number in some versions). */
export function parseKey(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v !== 'string') return undefined;
  if (/^\d+$/.test(v)) return Number(v);
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(v);
  if (!m) return undefined;
  return ((Number(m[1]) * 256 + Number(m[2])) * 256 + Number(m[3])) * 256 + Number(m[4]);
}

/** Every link in `ip -d -j link show` output. */
export function parseLinks(stdout: string): LinkObservation[] {
  return parseJsonArray(stdout, 'ip -d -j link show').map((l) => {
    const info = isObj(l.linkinfo) ? l.linkinfo : {};
    const data = isObj(info.info_data) ? info.info_data : {};
    const flags = Array.isArray(l.flags) ? l.flags : [];
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
    const kind = str(info.info_kind);
    return {
      ifname: str(l.ifname) ?? '',
      kind,
      ours: l.ifalias === TUNNEL_ALIAS,
      up: flags.includes('UP'),
      operstate: str(l.operstate) ?? 'UNKNOWN',
      mtu: typeof l.mtu === 'number' ? l.mtu : 0,
      local: str(data.local),
      remote: str(data.remote),
      key: kind === 'vxlan' ? parseKey(data.id) : parseKey(data.okey ?? data.ikey ?? data.key),
      ttl: typeof data.ttl === 'number' ? data.ttl : undefined,
      port: typeof data.port === 'number' ? data.port : undefined,
    };
  });
}

/** Every interface's MTU and IPv4 addresses, from `ip -j addr show`. */
export function parseAddrs(stdout: string): AddrObservation[] {
  return parseJsonArray(stdout, 'ip -j addr show').map((l) => ({
    ifname: typeof l.ifname === 'string' ? l.ifname : '',
    mtu: typeof l.mtu === 'number' ? l.mtu : 0,
    addresses: (Array.isArray(l.addr_info) ? l.addr_info.filter(isObj) : [])
      .filter((a) => a.family === 'inet' && typeof a.local === 'string')
      .map((a) => `${a.local}/${a.prefixlen}`),
  }));
}

/** The interface holding `ip` (the underlay interface of a tunnel end). */
export function interfaceWith(addrs: AddrObservation[], ip: string): AddrObservation | undefined {
  return addrs.find((a) => a.addresses.some((c) => c.split('/')[0] === ip));
}

/** A link whose kind or endpoints differ must be made again; an MTU, address or state is set in place. */
export interface Mismatch {
  field: 'mode' | 'local' | 'remote' | 'key' | 'ttl' | 'port' | 'mtu';
  expected: string;
  found: string;
  /** recreate: the kernel cannot change it in place */
  recreate: boolean;
}

export function compareLink(e: TunnelEnd, l: LinkObservation): Mismatch[] {
  const out: Mismatch[] = [];
  const add = (field: Mismatch['field'], expected: unknown, found: unknown, recreate = true) => {
    if (String(expected) !== String(found ?? 'none'))
      out.push({ field, expected: String(expected), found: String(found ?? 'none'), recreate });
  };
  add('mode', e.mode, l.kind);
  if (l.kind !== e.mode) return out;
  add('local', e.local, l.local);
  add('remote', e.remote, l.remote);
  add('key', e.key ?? 'none', l.key);
  add('ttl', e.ttl, l.ttl);
  if (e.mode === 'vxlan') add('port', VXLAN_PORT, l.port);
  add('mtu', e.mtu, l.mtu, false);
  return out;
}

export const describeMismatch = (m: Mismatch): string => `${m.field} is ${m.found}, expected ${m.expected}`;

/** Words in `ip` errors that mean the kernel has no driver for the tunnel type. */
export function isUnsupportedKernelError(text: string): boolean {
  return /Unknown device type|Operation not supported|No such device|not supported/i.test(text);
}
