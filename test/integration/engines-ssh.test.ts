import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { LABELS } from '../../src/core/docker/labels.js';
import { createLab, type Lab } from '../../src/core/lab.js';
import { call, callError, root, sweep, testEnv, waitFor } from '../helpers/docker.js';

/**
 * ssh:// engines against a real sshd on loopback. Root's login there reaches this machine's own
 * engine, as a lab user's login on another machine reaches that machine's: what is tested is the
 * SSH side, which is the same. Unknown and changed host keys are refused before any key is offered.
 */
const RUN = `ssh-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'nslab-ssh-'));
const knownHosts = join(dir, 'known_hosts');
const docker = new Docker();
const base = testEnv(RUN);
let port = 0;
let sshd: ChildProcess | undefined;
/** the end of sshd's log, for a failing test's message */
let sshdLog = '';
let agent: ChildProcess | undefined;
const saved = {
  SSH_AUTH_SOCK: process.env.SSH_AUTH_SOCK,
  NSLAB_SSH_KNOWN_HOSTS: process.env.NSLAB_SSH_KNOWN_HOSTS,
  HOME: process.env.HOME,
};

const run = (cmd: string, args: string[], env: Record<string, string> = {}) =>
  execFileSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
const keygen = (file: string) => run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'nslab-test', '-f', file]);
/** `SHA256:...` of a public key file, as ssh-keygen prints it. */
const fingerprintOf = (pub: string) => run('ssh-keygen', ['-l', '-E', 'sha256', '-f', pub]).split(' ')[1] as string;
const labWith = (): Lab =>
  createLab(
    loadConfig({ ...process.env, ...base, NSLAB_ENGINES: `a=unix:///var/run/docker.sock,b=ssh://root@127.0.0.1:${port}` }, {}, root),
  );

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const p = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return p;
}

const answers = (p: number) =>
  new Promise<true | undefined>((resolve) => {
    const s = tcpConnect(p, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(undefined));
  });

describe('ssh:// engines: host keys from known_hosts, login by SSH agent', () => {
  beforeAll(async () => {
    expect(existsSync('/usr/sbin/sshd'), 'openssh-server (scripts/setup.sh installs it)').toBe(true);
    keygen(join(dir, 'host'));
    keygen(join(dir, 'other-host'));
    keygen(join(dir, 'client'));
    keygen(join(dir, 'nodocker'));
    // The nodocker key logs in as a user without docker would: its command fails as bash says so.
    writeFileSync(
      join(dir, 'authorized_keys'),
      `${readFileSync(join(dir, 'client.pub'), 'utf8')}command="echo 'bash: docker: command not found' >&2; exit 127" ${readFileSync(join(dir, 'nodocker.pub'), 'utf8')}`,
    );
    port = await freePort();
    writeFileSync(
      join(dir, 'sshd_config'),
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${join(dir, 'host')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'PermitRootLogin prohibit-password',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        `PidFile ${join(dir, 'sshd.pid')}`,
      ].join('\n'),
    );
    mkdirSync('/run/sshd', { recursive: true }); // sshd's privilege separation folder
    sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    sshd.stderr?.on('data', (d: Buffer) => {
      sshdLog = (sshdLog + d.toString('utf8')).slice(-4000);
    });
    await waitFor('sshd on loopback', () => answers(port), 20, 200);
    // A real agent holding the only key sshd accepts; the key file itself is nowhere ssh looks.
    const sock = join(dir, 'agent.sock');
    agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    await waitFor('ssh-agent', async () => (existsSync(sock) ? true : undefined), 10, 100);
    run('ssh-add', ['-q', join(dir, 'client')], { SSH_AUTH_SOCK: sock });
    process.env.SSH_AUTH_SOCK = sock;
    process.env.NSLAB_SSH_KNOWN_HOSTS = knownHosts;
    // No identity file of this machine's user may log in in its place.
    process.env.HOME = join(dir, 'home');
  }, 60_000);

  afterAll(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    if (sshd?.pid) process.kill(sshd.pid, 'SIGTERM');
    if (agent?.pid) process.kill(agent.pid, 'SIGTERM');
    await sweep(RUN);
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a host whose key is not in known_hosts, naming its fingerprint, and makes nothing', async () => {
    rmSync(knownHosts, { force: true });
    const lab = labWith();
    const err = await callError(lab, 'network_create', { name: 'xtest-ssh-a', subnet: '10.254.40.0/24', engine: 'b' });
    expect(err.code).toBe('DOCKER_UNAVAILABLE');
    expect(err.message).toContain(`engine 'b' (ssh://root@127.0.0.1:${port})`);
    expect(err.message).toContain(
      `the SSH host key of 127.0.0.1 port ${port} is not known (ED25519 key ${fingerprintOf(join(dir, 'host.pub'))})`,
    );
    expect(err.hint).toContain(`ssh-keyscan -p ${port} -t ed25519 127.0.0.1 >> ${knownHosts}`);
    const listed = await call<{ engines: Array<{ name: string; reachable: boolean; error?: string }> }>(lab, 'engine_list', {});
    expect(listed.engines.find((e) => e.name === 'b')).toMatchObject({ reachable: false, error: expect.stringContaining('is not known') });
    expect(await call(lab, 'network_list', {})).toMatchObject({ networks: [] });
    expect(await docker.listNetworks({ filters: { name: ['xtest-ssh-a'] } })).toEqual([]);
  });

  it('refuses a changed host key as a possible man-in-the-middle', async () => {
    const other = readFileSync(join(dir, 'other-host.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(knownHosts, `[127.0.0.1]:${port} ${other}\n`);
    const err = await callError(labWith(), 'network_create', { name: 'xtest-ssh-a', subnet: '10.254.40.0/24', engine: 'b' });
    expect(err.code).toBe('DOCKER_UNAVAILABLE');
    expect(err.message).toContain(`the SSH host key of 127.0.0.1 port ${port} has CHANGED`);
    expect(err.message).toContain(fingerprintOf(join(dir, 'host.pub')));
    expect(err.message).toContain('man-in-the-middle');
    expect(err.message).toContain(`${knownHosts} line 1`);
    expect(err.hint).toContain(`ssh-keygen -R '[127.0.0.1]:${port}'`);
  });

  it('with the key in known_hosts (hashed, as ssh-keyscan -H writes it) and the agent, the engine works', async () => {
    writeFileSync(knownHosts, run('ssh-keyscan', ['-H', '-t', 'ed25519', '-p', String(port), '127.0.0.1']));
    expect(readFileSync(knownHosts, 'utf8')).toMatch(/^\|1\|/);
    const lab = labWith();
    const listed = await call<{ engines: Array<{ name: string; reachable: boolean; error?: string }> }>(lab, 'engine_list', {});
    expect(
      listed.engines.map((e) => [e.name, e.reachable]),
      `${listed.engines[1]?.error}\n${sshdLog}`,
    ).toEqual([
      ['a', true],
      ['b', true],
    ]);
    const made = await call<{ name: string; engine?: string }>(lab, 'network_create', {
      name: 'xtest-ssh-b',
      subnet: '10.254.41.0/24',
      engine: 'b',
    });
    expect(made).toMatchObject({ name: 'xtest-ssh-b' });
    // Made through b's SSH connection: b is this machine's engine behind sshd.
    const [net] = await docker.listNetworks({ filters: { name: ['xtest-ssh-b'] } });
    expect(net?.Labels?.[LABELS.managed]).toBe('true');
    // A node on b: made, started and run through SSH (exec output comes over a hijacked stream).
    await call(lab, 'host_create', { name: 'xtest-ssh-h', interfaces: [{ network: 'xtest-ssh-b' }], engine: 'b' });
    const out = await call<{ exit_code: number; stdout: string }>(lab, 'host_exec', { name: 'xtest-ssh-h', command: ['echo', 'over ssh'] });
    expect(out).toMatchObject({ exit_code: 0, stdout: 'over ssh\n' });
    await call(lab, 'host_delete', { name: 'xtest-ssh-h' });
    await call(lab, 'network_delete', { name: 'xtest-ssh-b' });
    expect(await docker.listNetworks({ filters: { name: ['xtest-ssh-b'] } })).toEqual([]);
  });

  it("refuses a subnet over a route of the remote engine's host, read by a helper container that is removed", async () => {
    writeFileSync(knownHosts, run('ssh-keyscan', ['-t', 'ed25519', '-p', String(port), '127.0.0.1']));
    // A blackhole route stands in for a network of b's host (no traffic is sent); removed after.
    run('ip', ['route', 'add', 'blackhole', '198.18.78.0/24']);
    try {
      const err = await callError(labWith(), 'network_create', { name: 'xtest-ssh-c', subnet: '198.18.78.0/24', engine: 'b' });
      expect(err.code).toBe('CONFLICT');
      expect(err.message).toMatch(/^subnet: 198\.18\.78\.0\/24 overlaps the route of the host of engine 'b' .* to 198\.18\.78\.0\/24/);
    } finally {
      run('ip', ['route', 'del', 'blackhole', '198.18.78.0/24']);
    }
    const helpers = await docker.listContainers({ all: true, filters: { label: [`${LABELS.role}=helper`, `netstream-lab.test=${RUN}`] } });
    expect(helpers).toEqual([]);
    expect(await docker.listNetworks({ filters: { name: ['xtest-ssh-c'] } })).toEqual([]);
  });

  it('logs in with a default identity file when there is no agent, and says why a login or the remote docker fails', async () => {
    writeFileSync(knownHosts, run('ssh-keyscan', ['-t', 'ed25519', '-p', String(port), '127.0.0.1']));
    mkdirSync(join(dir, 'home', '.ssh'), { recursive: true });
    writeFileSync(join(dir, 'home', '.ssh', 'id_ed25519'), readFileSync(join(dir, 'client')), { mode: 0o600 });
    const sock = process.env.SSH_AUTH_SOCK;
    delete process.env.SSH_AUTH_SOCK;
    try {
      const listed = await call<{ engines: Array<{ name: string; reachable: boolean }> }>(labWith(), 'engine_list', {});
      expect(listed.engines.find((e) => e.name === 'b')).toMatchObject({ reachable: true });
      writeFileSync(join(dir, 'home', '.ssh', 'id_ed25519'), readFileSync(join(dir, 'nodocker')), { mode: 0o600 });
      const nodocker = await callError(labWith(), 'network_create', { name: 'xtest-ssh-a', subnet: '10.254.40.0/24', engine: 'b' });
      expect(nodocker.message).toContain('`docker system dial-stdio` exited with 127: bash: docker: command not found');
      expect(nodocker.hint).toContain(`\`ssh -p ${port} root@127.0.0.1 docker info\` must work`);
      rmSync(join(dir, 'home', '.ssh', 'id_ed25519'));
      const err = await callError(labWith(), 'network_create', { name: 'xtest-ssh-a', subnet: '10.254.40.0/24', engine: 'b' });
      expect(err.message, sshdLog).toContain(
        `cannot log in to root@127.0.0.1 port ${port} by SSH: no key was accepted (no SSH agent (SSH_AUTH_SOCK is not set))`,
      );
      expect(err.hint).toContain('ssh-add');
    } finally {
      process.env.SSH_AUTH_SOCK = sock;
    }
  });
});
