import { execFileSync } from 'node:child_process';
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkHostKey,
  fingerprint,
  hostsMatch,
  lookupName,
  parseKnownHosts,
  preferredAlgorithms,
} from '../../src/core/docker/known-hosts.js';
import { hostKeyRefusal, knownHostsFiles } from '../../src/core/docker/ssh-trust.js';

/** An SSH public key blob of `type` (the shape only matters here: type string, then key bytes). */
function blob(type: string, seed = randomBytes(32)): Buffer {
  const name = Buffer.from(type);
  const len = (b: Buffer) => Buffer.from([0, 0, (b.length >> 8) & 0xff, b.length & 0xff]);
  return Buffer.concat([len(name), name, len(seed), seed]);
}
const line = (hosts: string, key: Buffer, marker = '') =>
  `${marker ? `${marker} ` : ''}${hosts} ${key.subarray(4, 4 + key.readUInt32BE(0)).toString()} ${key.toString('base64')} a comment`;
const hashed = (name: string, salt = randomBytes(20)) =>
  `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;

const ed = blob('ssh-ed25519');
const ed2 = blob('ssh-ed25519');
const rsa = blob('ssh-rsa');

describe('known_hosts, read the way ssh reads it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nslab-kh-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names a host as ssh does: plain on port 22, [host]:port on others', () => {
    expect(lookupName('Host2', 22)).toBe('host2');
    expect(lookupName('host2', 2222)).toBe('[host2]:2222');
    expect(lookupName('::1', 2222)).toBe('[::1]:2222');
  });

  it('matches plain, wildcard, negated and hashed host fields', () => {
    expect(hostsMatch('host1,host2', 'host2')).toBe(true);
    expect(hostsMatch('HOST2', 'host2')).toBe(true);
    expect(hostsMatch('*.lab.example', 'b.lab.example')).toBe(true);
    expect(hostsMatch('*.lab.example,!bad.lab.example', 'bad.lab.example')).toBe(false);
    expect(hostsMatch('host?', 'host22')).toBe(false);
    expect(hostsMatch('host2', '[host2]:2222')).toBe(false);
    expect(hostsMatch('[host2]:2222', '[host2]:2222')).toBe(true);
    expect(hostsMatch(hashed('[host2]:2222'), '[host2]:2222')).toBe(true);
    expect(hostsMatch(hashed('host2'), '[host2]:2222')).toBe(false);
    expect(hostsMatch('|1|garbage', 'host2')).toBe(false);
  });

  it('parses entries and markers, and skips comments, unknown markers and lines whose type lies', () => {
    const text = [
      '# a comment',
      '',
      line('host2', ed),
      line('host3', rsa, '@revoked'),
      line('*.lab', ed2, '@cert-authority'),
      line('host4', ed, '@bogus'),
      `host5 ssh-rsa ${ed.toString('base64')}`,
      'host6 ssh-ed25519 not-base64!',
    ].join('\n');
    const entries = parseKnownHosts(text, '/k');
    expect(entries.map((e) => [e.hosts, e.type, e.marker, e.line])).toEqual([
      ['host2', 'ssh-ed25519', undefined, 3],
      ['host3', 'ssh-rsa', 'revoked', 4],
      ['*.lab', 'ssh-ed25519', 'cert-authority', 5],
    ]);
  });

  it('accepts the known key, and tells an unknown host from a changed or revoked key', () => {
    const entries = parseKnownHosts(
      [line('[host2]:2222', ed), line(hashed('host3'), rsa), line('host9', ed2, '@revoked')].join('\n'),
      '/k',
    );
    expect(checkHostKey(entries, 'host2', 2222, ed)).toEqual({ ok: true });
    expect(checkHostKey(entries, 'host3', 22, rsa)).toEqual({ ok: true });
    expect(checkHostKey(entries, 'host2', 22, ed)).toEqual({ ok: false, why: 'unknown' });
    expect(checkHostKey(entries, 'host2', 2222, blob('ssh-ed25519'))).toMatchObject({ ok: false, why: 'changed', known: { line: 1 } });
    // Only a key of another type is known: refused as changed too, ssh warns as well.
    expect(checkHostKey(entries, 'host3', 22, ed)).toMatchObject({ ok: false, why: 'changed', known: { type: 'ssh-rsa' } });
    // A revoked key is refused whichever host offers it, even one that lists it as its own.
    expect(checkHostKey(entries, 'host2', 2222, ed2)).toMatchObject({ why: 'revoked', known: { line: 3 } });
    expect(checkHostKey([...entries, ...parseKnownHosts(line('host4', ed2), '/k')], 'host4', 22, ed2)).toMatchObject({ why: 'revoked' });
  });

  it('asks first for the key types known for the host (an RSA key signs with SHA-2 too)', () => {
    const entries = parseKnownHosts([line('host3', rsa), line('host2', ed)].join('\n'), '/k');
    expect(preferredAlgorithms(entries, 'host3', 22)).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    expect(preferredAlgorithms(entries, 'host1', 22)).toEqual([]);
  });

  it("prints fingerprints as ssh-keygen does, and agrees with ssh-keygen's own known_hosts lines", () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
    const key = blob('ssh-ed25519', raw);
    const pub = join(dir, 'k.pub');
    writeFileSync(pub, `ssh-ed25519 ${key.toString('base64')} x\n`);
    expect(fingerprint(key)).toBe(execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', pub], { encoding: 'utf8' }).split(' ')[1]);
    // ssh-keygen -H hashes a known_hosts file in place: its hashed [host]:port line must match.
    const kh = join(dir, 'known_hosts');
    writeFileSync(kh, `[10.0.0.9]:2222 ssh-ed25519 ${key.toString('base64')}\n`);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', kh], { stdio: 'ignore' });
    const entries = parseKnownHosts(readFileSync(kh, 'utf8'), kh);
    expect(entries[0]?.hosts).toMatch(/^\|1\|/);
    expect(checkHostKey(entries, '10.0.0.9', 2222, key)).toEqual({ ok: true });
  });

  it('words the refusals with the fingerprint and what to do', () => {
    const t = { host: 'host2', port: 2222, username: 'lab' };
    const files = ['/home/u/.ssh/known_hosts'];
    const unknown = hostKeyRefusal(t, ed, [], files);
    expect(unknown?.reason).toBe(
      `the SSH host key of host2 port 2222 is not known (ED25519 key ${fingerprint(ed)}): it is in none of /home/u/.ssh/known_hosts; nothing was sent to it`,
    );
    expect(unknown?.todo).toContain('ssh-keyscan -p 2222 -t ed25519 host2 >> /home/u/.ssh/known_hosts');
    expect(unknown?.todo).toContain('`ssh -p 2222 lab@host2`');
    const changed = hostKeyRefusal(t, ed2, parseKnownHosts(line('[host2]:2222', ed), files[0] as string), files);
    expect(changed?.reason).toMatch(/has CHANGED: .*man-in-the-middle/);
    expect(changed?.todo).toContain("ssh-keygen -R '[host2]:2222' -f /home/u/.ssh/known_hosts");
    expect(fingerprint(ed)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it("reads NSLAB_SSH_KNOWN_HOSTS instead of ssh's files when set", () => {
    expect(knownHostsFiles({ NSLAB_SSH_KNOWN_HOSTS: '/a:/b' })).toEqual(['/a', '/b']);
    expect(knownHostsFiles({})).toContain('/etc/ssh/ssh_known_hosts');
  });
});
