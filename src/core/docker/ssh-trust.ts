/**
 * What an ssh:// engine is trusted with and logs in with, the way `ssh` decides: host keys from the
 * known_hosts files, keys from the SSH agent and the default identity files. The refusals say what
 * the user sees and what to do, since the user cannot watch the SSH handshake.
 */
import { readFile } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import ssh2 from 'ssh2';
import { blobType, checkHostKey, fingerprint, type KnownKey, lookupName, parseKnownHosts } from './known-hosts.js';

/** An SSH failure in words for the user: `reason` what happened, `todo` what to do about it. */
export class SshEngineError extends Error {
  constructor(
    readonly reason: string,
    readonly todo: string,
  ) {
    super(`${reason}; ${todo}`);
  }
}

export interface SshTarget {
  host: string;
  port: number;
  username: string;
}

/** NSLAB_SSH_KNOWN_HOSTS (a list like PATH) instead of ssh's own files, e.g. for a server in a container. */
export function knownHostsFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const own = env.NSLAB_SSH_KNOWN_HOSTS?.trim();
  if (own) return own.split(delimiter).filter(Boolean);
  const ssh = join(homedir(), '.ssh');
  return [join(ssh, 'known_hosts'), join(ssh, 'known_hosts2'), '/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'];
}

/** Every entry of the known_hosts files there are (read at each connection: a key added since counts). */
export async function loadKnownHosts(files: string[]): Promise<KnownKey[]> {
  const texts = await Promise.all(files.map((f) => readFile(f, 'utf8').catch(() => '')));
  return texts.flatMap((t, i) => parseKnownHosts(t, files[i] as string));
}

const KIND: Record<string, string> = { 'ssh-ed25519': 'ED25519', 'ssh-rsa': 'RSA', 'ssh-dss': 'DSA' };
const kindOf = (type: string | undefined) => (type ? (KIND[type] ?? (type.startsWith('ecdsa-') ? 'ECDSA' : type)) : 'unknown');

/** undefined when ssh would accept the key, else the refusal naming its fingerprint and what to do. */
export function hostKeyRefusal(t: SshTarget, key: Buffer, entries: KnownKey[], files: string[]): SshEngineError | undefined {
  const verdict = checkHostKey(entries, t.host, t.port, key);
  if (verdict.ok) return undefined;
  const type = blobType(key) ?? 'unknown';
  const offered = `${kindOf(type)} key ${fingerprint(key)}`;
  const where = `${t.host} port ${t.port}`;
  const name = lookupName(t.host, t.port);
  const sshCmd = `ssh -p ${t.port} ${t.username}@${t.host}`;
  if (verdict.why === 'revoked') {
    return new SshEngineError(
      `the SSH host key of ${where} (${offered}) is marked @revoked in ${verdict.known.file} line ${verdict.known.line}; nothing was sent to it`,
      `it is never accepted: the host needs a new key; ask its owner`,
    );
  }
  if (verdict.why === 'changed') {
    const was = verdict.known.type === type ? 'another key' : `only a ${kindOf(verdict.known.type)} key`;
    return new SshEngineError(
      `the SSH host key of ${where} has CHANGED: it offered ${offered}, but ${verdict.known.file} line ${verdict.known.line} holds ${was} for it. ` +
        'Someone may be intercepting the connection (man-in-the-middle), or the host was reinstalled; nothing was sent to it',
      `do not use this engine until the host's owner confirms ${fingerprint(key)} (on the host: ssh-keygen -lf /etc/ssh/ssh_host_${kindOf(type).toLowerCase()}_key.pub); only then replace the old key: ssh-keygen -R '${name}' -f ${verdict.known.file}, then \`${sshCmd}\` once`,
    );
  }
  return new SshEngineError(
    `the SSH host key of ${where} is not known (${offered}): it is in none of ${files.join(', ')}; nothing was sent to it`,
    `check that ${fingerprint(key)} is that host's key (on the host: ssh-keygen -lf /etc/ssh/ssh_host_${kindOf(type).toLowerCase()}_key.pub), then trust it: \`${sshCmd}\` once and answer yes, or ssh-keyscan -p ${t.port} -t ${kindOf(type).toLowerCase()} ${t.host} >> ${files[0] ?? '~/.ssh/known_hosts'}`,
  );
}

/** The default identity files ssh tries, newest kind first. */
const IDENTITIES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

/**
 * How to log in: the agent's keys (SSH_AUTH_SOCK) first, then the default identity files that need
 * no passphrase. `tried` says what was there, for the refusal when none is accepted.
 */
export async function loginMethods(
  username: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ methods: ssh2.AnyAuthMethod[]; tried: string[] }> {
  const methods: ssh2.AnyAuthMethod[] = [];
  const tried: string[] = [];
  const sock = env.SSH_AUTH_SOCK?.trim();
  if (sock) {
    methods.push({ type: 'agent', username, agent: sock });
    tried.push(`the keys of the SSH agent at ${sock}`);
  } else tried.push('no SSH agent (SSH_AUTH_SOCK is not set)');
  for (const id of IDENTITIES) {
    const file = join(homedir(), '.ssh', id);
    const key = await readFile(file).catch(() => undefined);
    if (!key) continue;
    if (ssh2.utils.parseKey(key) instanceof Error) {
      tried.push(`${file} needs a passphrase (ssh-add it to the agent)`);
      continue;
    }
    methods.push({ type: 'publickey', username, key });
    tried.push(file);
  }
  return { methods, tried };
}

export function loginRefusal(t: SshTarget, tried: string[]): SshEngineError {
  return new SshEngineError(
    `cannot log in to ${t.username}@${t.host} port ${t.port} by SSH: no key was accepted (${tried.join('; ')})`,
    `load the key into your SSH agent (ssh-add) with SSH_AUTH_SOCK set where netstream-lab runs, so that \`ssh -p ${t.port} ${t.username}@${t.host} docker info\` works without a password`,
  );
}

export const defaultUser = (): string => {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'root';
  }
};
