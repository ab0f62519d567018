/**
 * OpenSSH's known_hosts, read the way `ssh` reads it (sshd(8), "SSH_KNOWN_HOSTS FILE FORMAT"), so
 * that an ssh:// engine is trusted exactly when `ssh` would trust it without asking: plain, wildcard
 * and negated host patterns, hashed names (`|1|salt|hash`), `[host]:port` for other ports than 22,
 * and `@revoked` keys. `@cert-authority` lines are skipped: host certificates are not negotiated.
 */
import { createHash, createHmac } from 'node:crypto';

export interface KnownKey {
  marker?: 'revoked' | 'cert-authority';
  /** the host field as written: a comma list of patterns, or one hashed name */
  hosts: string;
  type: string;
  key: Buffer;
  file: string;
  line: number;
}

/** The entries of one file; lines that are not entries (comments, garbage) are skipped as ssh does. */
export function parseKnownHosts(text: string, file: string): KnownKey[] {
  const out: KnownKey[] = [];
  text.split('\n').forEach((raw, i) => {
    const fields = raw.trim().split(/\s+/);
    if (!fields[0] || fields[0].startsWith('#')) return;
    let marker: KnownKey['marker'];
    if (fields[0].startsWith('@')) {
      const m = fields.shift();
      if (m !== '@revoked' && m !== '@cert-authority') return;
      marker = m === '@revoked' ? 'revoked' : 'cert-authority';
    }
    const [hosts, type, b64] = fields;
    if (!hosts || !type || !b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return;
    const key = Buffer.from(b64, 'base64');
    // The blob names its own type; a line whose type field disagrees is not a key of that type.
    if (blobType(key) !== type) return;
    out.push({ ...(marker ? { marker } : {}), hosts, type, key, file, line: i + 1 });
  });
  return out;
}

/** The name ssh looks a host up by: `host` on port 22, `[host]:port` on any other. */
export function lookupName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

/** One glob (`*`, `?`) against a name, case-insensitively. */
function glob(pattern: string, name: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'i').test(name);
}

/** Whether a line's host field names this host: a hashed name, or patterns with none negated matching. */
export function hostsMatch(hosts: string, name: string): boolean {
  if (hosts.startsWith('|1|')) {
    const [, , salt, hash] = hosts.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  let hit = false;
  for (const p of hosts.split(',')) {
    if (p.startsWith('!')) {
      if (glob(p.slice(1), name)) return false;
    } else if (glob(p, name)) hit = true;
  }
  return hit;
}

/** The type a key blob names (its first SSH string), e.g. ssh-ed25519. */
export function blobType(key: Buffer): string | undefined {
  if (key.length < 4) return undefined;
  const len = key.readUInt32BE(0);
  return len > 0 && len < 64 && key.length >= 4 + len ? key.subarray(4, 4 + len).toString('latin1') : undefined;
}

/** OpenSSH's fingerprint of a key: `SHA256:` and base64 without padding. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

export type HostKeyVerdict =
  | { ok: true }
  | { ok: false; why: 'unknown' }
  /** a key of the same type is known for the host, or only keys of other types: possibly an attacker's */
  | { ok: false; why: 'changed'; known: KnownKey }
  | { ok: false; why: 'revoked'; known: KnownKey };

/** ssh's verdict on the key a host offered. A revoked key is refused whatever host its line names. */
export function checkHostKey(entries: readonly KnownKey[], host: string, port: number, key: Buffer): HostKeyVerdict {
  const revoked = entries.find((e) => e.marker === 'revoked' && e.key.equals(key));
  if (revoked) return { ok: false, why: 'revoked', known: revoked };
  const name = lookupName(host, port);
  const mine = entries.filter((e) => e.marker === undefined && hostsMatch(e.hosts, name));
  if (mine.some((e) => e.key.equals(key))) return { ok: true };
  const type = blobType(key);
  const other = mine.find((e) => e.type === type) ?? mine[0];
  return other ? { ok: false, why: 'changed', known: other } : { ok: false, why: 'unknown' };
}

/** ssh2's host key algorithms for each known key type (an RSA key signs with SHA-2 too). */
const ALGORITHMS: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

/**
 * The host key algorithms to ask for first, as ssh does: those of the keys known for this host.
 * Otherwise a host known by its RSA key that also has an Ed25519 key would offer the Ed25519 one,
 * and be refused as unknown.
 */
export function preferredAlgorithms(entries: readonly KnownKey[], host: string, port: number): string[] {
  const name = lookupName(host, port);
  const types = new Set(entries.filter((e) => e.marker === undefined && hostsMatch(e.hosts, name)).map((e) => e.type));
  return [...types].flatMap((t) => ALGORITHMS[t] ?? []);
}
