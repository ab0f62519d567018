import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { LABELS } from '../../src/core/docker/labels.js';
import { owner, root, sweep, TEST_LABEL, waitFor } from '../helpers/docker.js';

/**
 * The server image: built by scripts/build-server-image.sh (as CI does), then started with the
 * settings of compose.yaml's service (host network, NET_ADMIN, the Docker socket, a token, its
 * command) on a free port instead of 5010, and used as a client would: /healthz, REST with and
 * without the token, a network whose forwarding rule lands in the host's DOCKER-USER chain, and
 * `nslab call` inside. What it creates carries the test label (via NSLAB_EXTRA_LABELS).
 */
const RUN = `pkg-image-${process.pid}`;
const name = `pkg-server-${process.pid}`;
const token = randomBytes(24).toString('hex');
type Service = {
  image: string;
  build: { args: { NODE_VERSION: string } };
  network_mode: string;
  cap_add: string[];
  command: string[];
  volumes: string[];
};
const service = (parse(readFileSync(join(root, 'compose.yaml'), 'utf8')) as { services: { nslab: Service } }).services.nslab;
const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).trim();
let url: string;
let image: string;

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
const rest = (method: string, path: string, body?: unknown, auth = true) =>
  fetch(`${url}${path}`, {
    method,
    headers: { ...(auth ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
const forwardingRules = () => execFileSync('iptables', ['-w', '5', '-S', 'DOCKER-USER'], { encoding: 'utf8' });

describe('the server image, run as compose.yaml runs it', () => {
  beforeAll(async () => {
    const out = execFileSync('bash', [join(root, 'scripts', 'build-server-image.sh')], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    image = out.trim().split('\n').at(-1) as string;
    expect(image).toBe(service.image);
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const sock = service.volumes.find((v) => v.includes('docker.sock')) as string;
    docker(
      'run',
      '-d',
      '--name',
      name,
      '--label',
      `${TEST_LABEL}=${RUN}`,
      '--label',
      `${TEST_LABEL}.owner=${owner()}`,
      '--network',
      service.network_mode,
      ...service.cap_add.flatMap((c) => ['--cap-add', c]),
      '-v',
      sock,
      '-v',
      '/data',
      '-e',
      `NSLAB_HTTP_TOKEN=${token}`,
      '-e',
      `NSLAB_EXTRA_LABELS=${TEST_LABEL}=${RUN},${TEST_LABEL}.owner=${owner()}`,
      // The image's own HEALTHCHECK command, asked every second instead of every 30 s.
      '--health-interval',
      '1s',
      image,
      ...service.command.map((a) => (a === '5010' ? String(port) : a)),
    );
  }, 900_000);

  afterAll(async () => {
    try {
      docker('rm', '-f', '-v', name);
    } catch {}
    await sweep(RUN);
  });

  it('reports healthy through its HEALTHCHECK, and /healthz answers without a token', async () => {
    await waitFor(
      'a healthy container',
      async () => (docker('inspect', '-f', '{{.State.Health.Status}}', name) === 'healthy' ? true : undefined),
      60,
    );
    const r = await fetch(`${url}/healthz`);
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ status: 'ok', docker: 'ok' });
  });

  it('runs as the unprivileged user nslab in the socket group, with NET_ADMIN as its only capability', () => {
    const status = docker('exec', name, 'cat', '/proc/1/status');
    expect(status).toMatch(/^Uid:\s+10001\s+10001\s+10001\s+10001$/m);
    expect(status).toMatch(new RegExp(`^Groups:\\s+${statSync('/var/run/docker.sock').gid}\\s*$`, 'm'));
    expect(status).toMatch(/^CapEff:\s+0000000000001000$/m);
  });

  it('serves REST with the token only, and makes the forwarding rule of a network in the host', async () => {
    expect((await rest('GET', '/networks', undefined, false)).status).toBe(401);
    const made = await rest('POST', '/networks', { name: 'pkg-img-net', subnet: '10.244.70.0/24' });
    expect(made.status, await made.clone().text()).toBeLessThan(300);
    const bridge = docker('network', 'inspect', '-f', `{{index .Labels "${LABELS.bridge}"}}`, 'pkg-img-net');
    expect(forwardingRules()).toContain(`-i ${bridge} -o ${bridge}`);
    const list = (await (await rest('GET', '/networks')).json()) as { networks: Array<{ name: string }> };
    expect(list.networks.map((n) => n.name)).toContain('pkg-img-net');
    expect((await rest('DELETE', '/networks/pkg-img-net')).status).toBeLessThan(300);
    expect(forwardingRules()).not.toContain(`-i ${bridge} -o ${bridge}`);
  });

  it('runs nslab call inside the container, as the same user and group', () => {
    const gid = docker('exec', name, 'stat', '-c', '%g', '/var/run/docker.sock');
    const out = docker('exec', '-u', `10001:${gid}`, name, 'node', '/app/dist/src/cli/main.js', 'call', 'daemon_list');
    expect(JSON.parse(out)).toEqual({ daemons: [] });
    expect(docker('exec', name, 'node', '--version')).toMatch(
      new RegExp(`^v${process.env.NODE_VERSION ?? service.build.args.NODE_VERSION}\\.`),
    );
  });
});
