/**
 * Helpers shared by the BGP drivers: mapping each daemon's session-state names onto the six
 * BGP FSM names, merging daemon output with the configured neighbors, and checking the user
 * strings (descriptions, passwords) that end up in config files.
 */
import { BGP_STATES, type BgpConfig, type BgpInterface, type BgpState, type NeighborStatus } from './types.js';

const BY_LOWER = new Map<string, BgpState>(BGP_STATES.map((s) => [s.toLowerCase(), s]));

/** GoBGP's API enum (PeerState.SessionState): UNKNOWN=0, IDLE=1 ... ESTABLISHED=6. */
const GOBGP_ENUM: Record<number, BgpState> = {
  0: 'Idle',
  1: 'Idle',
  2: 'Connect',
  3: 'Active',
  4: 'OpenSent',
  5: 'OpenConfirm',
  6: 'Established',
};

/**
 * Map a daemon's state name onto one of the six FSM names.
 *
 * Accepts any case and separators ("ESTABLISHED", "established", "open_sent", "OPENSENT",
 * "SESSION_STATE_ESTABLISHED"), FRR's qualified forms ("Idle (Admin)", "Idle (PfxCt)",
 * "Active (Policy)"), FRR's transient "Clearing"/"Deleted" (both Idle) and GoBGP's numeric
 * enum. Returns undefined for anything else.
 */
export function mapBgpState(raw: unknown): BgpState | undefined {
  if (typeof raw === 'number') {
    return Number.isInteger(raw) ? GOBGP_ENUM[raw] : undefined;
  }
  if (typeof raw !== 'string') return undefined;
  let s = raw.trim();
  if (/^\d+$/.test(s)) return GOBGP_ENUM[Number(s)];
  // "Idle (Admin)" -> "Idle"
  const paren = s.indexOf('(');
  if (paren > 0) s = s.slice(0, paren);
  s = s
    .trim()
    .toLowerCase()
    .replace(/^(session_state_|bgp_fsm_)/, '')
    .replace(/[\s_-]/g, '');
  const direct = BY_LOWER.get(s);
  if (direct) return direct;
  if (s === 'clearing' || s === 'deleted' || s === 'unknown' || s === 'down') return 'Idle';
  return undefined;
}

/** Like mapBgpState, but unknown names become Idle (a session that is not up). */
export function toBgpState(raw: unknown): BgpState {
  return mapBgpState(raw) ?? 'Idle';
}

/**
 * The neighbors a daemon reported, configured ones first in configuration order, then any it
 * reported that are not configured (e.g. a dynamic peer). A configured neighbor the daemon did
 * not report is left out: a state is only ever one the daemon gave.
 */
export function mergeWithConfigured(reported: NeighborStatus[], cfg: BgpConfig): NeighborStatus[] {
  const byAddr = new Map<string, NeighborStatus>();
  for (const r of reported) if (!byAddr.has(r.address)) byAddr.set(r.address, r);
  const out: NeighborStatus[] = [];
  for (const n of cfg.neighbors) {
    const r = byAddr.get(n.address);
    if (r) {
      out.push(r);
      byAddr.delete(n.address);
    }
  }
  return [...out, ...byAddr.values()];
}

/** Parse a daemon's JSON output, or throw an Error that says which daemon/command it was. */
export function parseJsonOutput(stdout: string, what: string): unknown {
  const text = stdout.trim();
  if (text === '') throw new Error(`${what}: empty output (is the daemon running?)`);
  try {
    return JSON.parse(text);
  } catch (e) {
    const head = text.length > 120 ? `${text.slice(0, 120)}...` : text;
    throw new Error(`${what}: output is not JSON (${(e as Error).message}): ${JSON.stringify(head)}`);
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A finite non-negative number, or undefined. */
export function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^\d+(\.\d+)?$/.test(v.trim())) return Number(v);
  return undefined;
}

/** Every ASN in an AS path string such as "65001 65003" or "65001 {65010,65011}". */
export function asNumbersInPath(path: string): number[] {
  const out: number[] = [];
  for (const m of path.matchAll(/\d+/g)) out.push(Number(m[0]));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Checks on the strings that go into config files

/** C0 and C1 controls, DEL, and the Unicode line/paragraph separators. */
export function isControlCodePoint(c: number): boolean {
  return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029;
}

/**
 * A double-quoted string with backslash escapes (TOML basic strings, ExaBGP's quoted words):
 * quotes, backslashes and control characters escaped, `\uXXXX` for the rest of the controls.
 */
export function quoteEscaped(value: string, hex: 'lower' | 'upper'): string {
  const named: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };
  let out = '"';
  for (const ch of value) {
    const c = ch.codePointAt(0) ?? 0;
    const code = c.toString(16).padStart(4, '0');
    out += named[ch] ?? (isControlCodePoint(c) ? `\\u${hex === 'upper' ? code.toUpperCase() : code}` : ch);
  }
  return `${out}"`;
}

/** Throw an Error naming `field` unless `value` is free of control characters (newlines included). */
export function assertNoControlChars(value: string, field: string): void {
  if ([...value].some((ch) => isControlCodePoint(ch.codePointAt(0) ?? 0))) {
    throw new Error(`${field} must not contain control characters such as newlines`);
  }
}

/** Throw unless `value` has at most `max` UTF-8 bytes. */
export function assertMaxBytes(value: string, max: number, field: string): void {
  const len = Buffer.byteLength(value, 'utf8');
  if (len > max) throw new Error(`${field} is too long (${len} bytes, at most ${max})`);
}

/** TCP MD5 keys are at most 80 bytes (TCP_MD5SIG_MAXKEYLEN) and, here, printable text. */
export const MD5_MAX_BYTES = 80;
/** Longest description accepted (FRR reads config lines into a 4 KiB buffer). */
export const DESCRIPTION_MAX_CHARS = 255;

export function checkPassword(password: string, field: string): void {
  if (password.length === 0) throw new Error(`${field} must not be empty`);
  assertNoControlChars(password, field);
  assertMaxBytes(password, MD5_MAX_BYTES, field);
}

/** Length only: whether control characters are allowed depends on the config language. */
export function checkDescription(description: string, field: string): void {
  if ([...description].length > DESCRIPTION_MAX_CHARS) {
    throw new Error(`${field} is too long (at most ${DESCRIPTION_MAX_CHARS} characters)`);
  }
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIPv4(s: string): boolean {
  return IPV4.test(s);
}

/** Throw unless `s` is a dotted-quad IPv4 address. Everything written unquoted into a config is checked. */
export function assertIPv4(s: string, field: string): void {
  if (!isIPv4(s)) throw new Error(`${field} must be an IPv4 address, got ${JSON.stringify(s)}`);
}

export function assertIPv4Cidr(s: string, field: string): void {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s);
  if (!m || !isIPv4(m[1] ?? '') || Number(m[2]) > 32) {
    throw new Error(`${field} must be an IPv4 prefix in CIDR form, got ${JSON.stringify(s)}`);
  }
}

export function assertAsn(n: number, field: string): void {
  if (!Number.isInteger(n) || n < 1 || n > 4294967295) {
    throw new Error(`${field} must be an AS number between 1 and 4294967295, got ${n}`);
  }
}

/** Host names and similar single words that go unquoted into a config. */
export function assertWord(s: string, field: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(s)) {
    throw new Error(`${field} must be 1-63 letters, digits, '.', '_' or '-', got ${JSON.stringify(s)}`);
  }
}

export function assertMultihop(n: number, field: string): void {
  if (!Number.isInteger(n) || n < 1 || n > 255) throw new Error(`${field} must be an integer between 1 and 255`);
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

/** Whether `ip` lies in `cidr` (both IPv4). */
export function ipv4InSubnet(ip: string, cidr: string): boolean {
  const [net, lenStr] = cidr.split('/');
  if (net === undefined || lenStr === undefined || !isIPv4(net) || !isIPv4(ip)) return false;
  const len = Number(lenStr);
  if (!Number.isInteger(len) || len < 0 || len > 32) return false;
  if (len === 0) return true;
  const size = 2 ** (32 - len);
  return Math.floor(ipv4ToInt(ip) / size) === Math.floor(ipv4ToInt(net) / size);
}

/** The interface whose subnet contains `peer`, else the first interface. */
export function localInterfaceFor(peer: string, interfaces: BgpInterface[]): BgpInterface | undefined {
  return interfaces.find((i) => ipv4InSubnet(peer, i.subnet)) ?? interfaces[0];
}

/** Checks every driver applies to the parts of a BgpConfig written unquoted into a config. */
export function checkCommonConfig(cfg: BgpConfig): void {
  assertAsn(cfg.asn, 'asn');
  assertIPv4(cfg.router_id, 'router_id');
  for (const [i, iface] of cfg.interfaces.entries()) {
    assertIPv4(iface.ip, `interfaces[${i}].ip`);
  }
  const seen = new Set<string>();
  for (const [i, n] of cfg.neighbors.entries()) {
    const f = `neighbors[${i}]`;
    assertIPv4(n.address, `${f}.address`);
    if (seen.has(n.address)) throw new Error(`${f}.address ${n.address} is configured twice`);
    seen.add(n.address);
    assertAsn(n.asn, `${f}.asn`);
    if (n.multihop !== undefined) assertMultihop(n.multihop, `${f}.multihop`);
    if (n.password !== undefined) checkPassword(n.password, `${f}.password`);
    if (n.description !== undefined) checkDescription(n.description, `${f}.description`);
    checkTimers(n, f);
  }
  for (const [i, p] of cfg.advertise.entries()) assertIPv4Cidr(p, `advertise[${i}]`);
}

/** Lab timers shared by all drivers: sessions come up (and notice a dead peer) within seconds. */
export const LAB_TIMERS = { keepalive: 3, hold: 9, connectRetry: 2 } as const;

/** The hold time and keepalive interval a neighbor runs with: what it sets, else the lab's. */
export function neighborTimers(n: { hold_s?: number | undefined; keepalive_s?: number | undefined }): { hold: number; keepalive: number } {
  const hold = n.hold_s ?? LAB_TIMERS.hold;
  const keepalive = n.keepalive_s ?? (hold === 0 ? 0 : Math.min(LAB_TIMERS.keepalive, Math.floor(hold / 3)));
  return { hold, keepalive };
}

/** Why a neighbor's keepalive_s cannot go with its hold time (given or the lab's), or undefined. */
export function timersProblem(n: { hold_s?: number | undefined; keepalive_s?: number | undefined }): string | undefined {
  if (n.keepalive_s === undefined) return undefined;
  const { hold } = neighborTimers(n);
  const whose = n.hold_s === undefined ? `the lab's default hold time (${hold} s)` : `hold_s (${hold})`;
  if (hold === 0) return 'hold_s 0 turns keepalives off: leave keepalive_s out';
  if (n.keepalive_s * 3 > hold) {
    return `${n.keepalive_s} is more than a third of ${whose}: give at most ${Math.floor(hold / 3)}${n.hold_s === undefined ? `, or set hold_s to at least ${n.keepalive_s * 3}` : ''}`;
  }
  return undefined;
}

/** Throw an Error naming the field unless the neighbor's timers are ones BGP allows. */
export function checkTimers(n: { hold_s?: number | undefined; keepalive_s?: number | undefined }, field: string): void {
  const h = n.hold_s;
  if (h !== undefined && !(Number.isInteger(h) && (h === 0 || (h >= 3 && h <= 65535)))) {
    throw new Error(`${field}.hold_s must be 0 or between 3 and 65535 seconds, got ${h}`);
  }
  const k = n.keepalive_s;
  if (k !== undefined && !(Number.isInteger(k) && k >= 1 && k <= 21845)) {
    throw new Error(`${field}.keepalive_s must be between 1 and 21845 seconds, got ${k}`);
  }
  const problem = timersProblem(n);
  if (problem) throw new Error(`${field}.keepalive_s: ${problem}`);
}
