import { request } from 'node:http';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweep, testEnv, waitFor } from '../helpers/docker.js';
import { type Served, serve } from '../helpers/serve.js';

/**
 * The REST API of `nslab serve` (spawned from dist/ as a user starts it, with NSLAB_HTTP_TOKEN),
 * over real HTTP on 127.0.0.1, against the real engine: every path of the old
 * service (docs/interfaces.md, REST) and every status code a client has to handle.
 * Objects: rest-* names, subnets in 10.246.0.0/16.
 */
const RUN = `rest-${process.pid}`;
const TOKEN = 'rest-test-token-0123456789abcdef';

let server: Served;
const docker = new Docker();
const containers = async (name: string) => (await docker.listContainers({ all: true, filters: { name: [`^/${name}$`] } })).length;

type Answer = { status: number; body: any; headers: Headers };
async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}
const ok = async (method: string, path: string, body?: unknown, status = 200): Promise<any> => {
  const a = await api(method, path, body);
  expect(a.status, `${method} ${path}: ${JSON.stringify(a.body)}`).toBe(status);
  return a.body;
};

describe('REST API (the old service, generated from the catalogue)', () => {
  beforeAll(async () => {
    server = await serve({ ...testEnv(RUN), NSLAB_HTTP_TOKEN: TOKEN });
  });

  afterAll(async () => {
    expect(await server?.stop()).toBe(0);
    await sweep(RUN);
  });

  it('serves /openapi.json (3.1, this version) and refuses the API without the token', async () => {
    const doc = await ok('GET', '/openapi.json');
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.paths['/tunnels/{container}/{tunnel}'].delete.operationId).toBe('tunnel_delete');
    const anon = await fetch(`${server.url}/daemons`);
    expect(anon.status).toBe(401);
    expect(anon.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await api('POST', '/openapi.json', {})).headers.get('allow')).toBe('GET');
  });

  it('answers 400 with the wrong fields, 404, 405, 413, 415, and never runs a tool for them', async () => {
    const bad = await api('POST', '/networks', { name: 'rest-bad', subnet: '10.246.0.0/33', colour: 'red' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_INPUT');
    expect(bad.body.error.issues.map((i: { path: string }) => i.path).sort()).toEqual(['colour', 'subnet']);
    // hints speak REST: the tool names became paths
    expect(bad.body.error.message).toContain('POST /networks');

    const missing = await api('GET', '/daemons/rest-nope');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('rest-nope') });
    expect(missing.body.error.hint).toContain('GET /daemons');
    expect((await api('DELETE', '/tunnels/rest-nope/t1')).status).toBe(404);

    const put = await api('PUT', '/daemons', {});
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, POST');
    expect((await api('GET', '/daemons/rest-r1/start')).status).toBe(405);
    expect((await api('GET', '/no/such/path')).status).toBe(404);

    const notJson = await api('POST', '/networks', '{"name": "rest-x",');
    expect(notJson.status).toBe(400);
    expect(notJson.body.error).toMatchObject({ code: 'INVALID_JSON', message: expect.stringContaining('not JSON') });
    const form = await api('POST', '/networks', 'name=rest-x', { 'content-type': 'multipart/form-data; boundary=x' });
    expect(form.status).toBe(415);
    // curl -d sends form-urlencoded by default: a JSON body is still read
    const curlish = await api('POST', '/topology/validate', { yaml: 'name: x' }, { 'content-type': 'application/x-www-form-urlencoded' });
    expect(curlish.status).toBe(200);
    expect(curlish.body.valid).toBe(false);

    const clash = await api('POST', '/hosts/rest-h1/exec', { name: 'rest-h2', command: ['true'] });
    expect(clash.status).toBe(400);
    expect(clash.body.error.issues).toEqual([{ path: 'name', message: expect.stringContaining('the path {name} says "rest-h1"') }]);

    expect(await tooLarge(true)).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
    // without a Content-Length (chunked), the count stops it at the limit
    expect(await tooLarge(false)).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
    const list = await api('POST', '/topology/standup', [{ name: 'x' }]);
    expect(list.status).toBe(400);
    expect(list.body.error.message).toContain('must be a JSON object, not an array');
    expect((await ok('GET', '/networks')).networks).toEqual([]);
  });

  it('networks: create (201, Location), get, list, 409 on a duplicate, connect, disconnect, delete', async () => {
    const created = await api('POST', '/networks', { name: 'rest-net', subnet: '10.246.1.0/24' });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/networks/rest-net');
    expect(created.body).toMatchObject({ name: 'rest-net', subnet: '10.246.1.0/24', internal: true });
    expect((await ok('GET', '/networks/rest-net')).gateway).toBe('10.246.1.1');
    expect((await ok('GET', '/networks')).networks.map((n: { name: string }) => n.name)).toContain('rest-net');
    const dup = await api('POST', '/networks', { name: 'rest-net', subnet: '10.246.1.0/24' });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('CONFLICT');
    await ok('POST', '/networks', { name: 'rest-net2', subnet: '10.246.2.0/24' }, 201);
  });

  it('daemons and hosts: create, status, stop, start, exec, connect to a second network', async () => {
    const r1 = await api('POST', '/daemons', {
      name: 'rest-r1',
      kind: 'frr',
      asn: 65001,
      interfaces: [{ network: 'rest-net', ip: '10.246.1.11' }],
    });
    expect(r1.status, JSON.stringify(r1.body)).toBe(201);
    expect(r1.headers.get('location')).toBe('/daemons/rest-r1');
    const h1 = await ok('POST', '/hosts', { name: 'rest-h1', interfaces: [{ network: 'rest-net' }], gateway: 'rest-r1' }, 201);
    expect(h1.gateway).toBe('rest-r1');

    expect((await ok('GET', '/daemons')).daemons.map((d: { name: string }) => d.name)).toEqual(['rest-r1']);
    expect((await ok('GET', '/hosts')).hosts.map((h: { name: string }) => h.name)).toEqual(['rest-h1']);
    expect((await ok('GET', '/hosts/rest-h1')).state).toBe('running');
    expect(await ok('GET', '/daemons/rest-r1')).toMatchObject({ asn: 65001, router_id: '10.246.1.11', state: 'running' });
    const status = await ok('GET', '/daemons/rest-r1/status');
    expect(status).toMatchObject({ name: 'rest-r1', kind: 'frr', state: 'running' });

    const ping = await ok('POST', '/hosts/rest-h1/exec', { command: ['ping', '-c', '1', '-W', '2', '10.246.1.11'], timeout_s: 10 });
    expect(ping).toMatchObject({ exit_code: 0, timed_out: false });
    expect(ping.stdout).toContain('1 received');
    const routes = await ok('POST', '/hosts/rest-h1/exec', { command: ['ip', 'route'] });
    expect(routes.stdout).toContain('default via 10.246.1.11');

    expect((await ok('POST', '/daemons/rest-r1/stop')).state).toBe('stopped');
    expect((await ok('POST', '/daemons/rest-r1/start', {})).state).toBe('running');

    const conn = await ok('POST', '/networks/connect', { network: 'rest-net2', container: 'rest-h1' });
    expect(conn.ip).toMatch(/^10\.246\.2\./);
    const addrs = await ok('POST', '/hosts/rest-h1/exec', { command: ['ip', '-4', '-o', 'addr'] });
    expect(addrs.stdout).toContain(conn.ip);
    await ok('POST', '/networks/disconnect', { network: 'rest-net2', container: 'rest-h1' });
    expect((await ok('GET', '/networks/rest-net2')).containers).toEqual([]);
  });

  it('a client that hangs up during a create cancels it, and nothing is left half made', async () => {
    const aborter = new AbortController();
    const pending = fetch(`${server.url}/daemons`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'rest-r9', kind: 'frr', asn: 65009, interfaces: [{ network: 'rest-net' }] }),
      signal: aborter.signal,
    }).catch((err: Error) => err);
    // Hang up as soon as the container exists: the create is then waiting for FRR to answer.
    await waitFor('the container rest-r9', async () => ((await containers('rest-r9')) > 0 ? true : undefined), 30, 50);
    aborter.abort();
    expect(await pending).toBeInstanceOf(Error);
    const entry = await waitFor(
      'the cancelled call in the audit log',
      async () => (await ok('GET', '/audit?tool=daemon_create&ok=false')).entries.find((e: any) => e.args.name === 'rest-r9'),
      30,
      200,
    );
    expect(entry).toMatchObject({ front_end: 'rest', error: 'TIMEOUT', message: expect.stringContaining('cancelled') });
    expect(await containers('rest-r9')).toBe(0);
    expect((await api('GET', '/daemons/rest-r9')).status).toBe(404);
  });

  it('tunnels: a VXLAN tunnel is created, up, healthy, repaired, listed and deleted by its path; GRE without ip_gre is a 422', async () => {
    const t = await ok(
      'POST',
      '/tunnels',
      {
        name: 'rt1',
        mode: 'vxlan',
        a: { container: 'rest-r1', tunnel_ip: '10.246.200.1/30' },
        b: { container: 'rest-h1', tunnel_ip: '10.246.200.2/30' },
      },
      201,
    );
    expect(t).toMatchObject({ name: 'rt1', mode: 'vxlan', underlay: 'rest-net' });
    expect((await ok('GET', '/tunnels')).tunnels).toHaveLength(1);
    expect((await ok('GET', '/tunnels?container=rest-h1')).tunnels.map((x: { name: string }) => x.name)).toEqual(['rt1']);
    expect((await ok('GET', '/tunnels?container=rest-net2')).tunnels).toEqual([]);
    expect((await ok('GET', '/tunnels/rest-r1/rt1/state')).state).toBe('up');
    const diag = await ok('POST', '/tunnels/rest-r1/rt1/diagnose');
    expect(diag.healthy, JSON.stringify(diag.checks.filter((c: { result: string }) => c.result === 'fail'))).toBe(true);
    // break one end by hand, then repair it over REST
    await ok('POST', '/hosts/rest-h1/exec', { command: ['ip', 'link', 'set', 'rt1', 'down'] });
    expect((await ok('GET', '/tunnels/rest-h1/rt1/state')).state).not.toBe('up');
    const fix = await ok('POST', '/tunnels/rest-h1/rt1/fix', {});
    expect(fix).toMatchObject({ healthy: true, before: { healthy: false } });

    // GRE: 201 where the kernel has ip_gre; here (no ip_gre) valid input the lab cannot carry out is a 422
    const gre = await api('POST', '/tunnels', {
      name: 'rt2',
      a: { container: 'rest-r1', tunnel_ip: '10.246.201.1/30' },
      b: { container: 'rest-h1', tunnel_ip: '10.246.201.2/30' },
    });
    if (gre.status === 201) {
      process.stderr.write('[rest] this kernel has ip_gre: GRE tunnel made and removed\n');
      expect((await ok('GET', '/tunnels/rest-r1/rt2/state')).state).toBe('up');
      await ok('DELETE', '/tunnels/rest-r1/rt2');
    } else {
      expect(gre.status, JSON.stringify(gre.body)).toBe(422);
      expect(gre.body.error).toMatchObject({ code: 'UNSUPPORTED', message: expect.stringContaining('lacks GRE support') });
      expect((await ok('GET', '/tunnels')).tunnels.map((x: { name: string }) => x.name)).toEqual(['rt1']);
    }
    expect((await ok('DELETE', '/tunnels/rest-r1/rt1')).deleted).toBe('rt1');
    expect((await api('GET', '/tunnels/rest-r1/rt1/state')).status).toBe(404);
  });

  it('deletes hosts, daemons and networks by path; a network in use is a conflict until then', async () => {
    const inUse = await api('DELETE', '/networks/rest-net');
    expect(inUse.status).toBe(409);
    expect(inUse.body.error.message).toContain('rest-r1');
    await ok('DELETE', '/hosts/rest-h1');
    await ok('DELETE', '/daemons/rest-r1');
    expect((await api('GET', '/daemons/rest-r1')).status).toBe(404);
    await ok('DELETE', '/networks/rest-net');
    await ok('DELETE', '/networks/rest-net2');
    expect((await ok('GET', '/networks')).networks).toEqual([]);
  });

  it('topologies: create, standup {name}, status, activate, teardown {name}, delete by id', async () => {
    const yaml = [
      'name: rest-topo',
      'networks:',
      '  lan: { subnet: 10.246.10.0/24 }',
      'nodes:',
      '  r1: { kind: frr, asn: 65010, interfaces: { lan: auto } }',
      '  h1: { kind: host, interfaces: { lan: auto }, gateway: r1 }',
    ].join('\n');
    const created = await api('POST', '/topologies', { yaml });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.headers.get('location')).toBe('/topologies/rest-topo');
    expect((await api('POST', '/topologies', { yaml })).status).toBe(409);
    expect((await ok('GET', '/topologies')).topologies.map((t: { name: string }) => t.name)).toEqual(['rest-topo']);

    const up = await ok('POST', '/topology/standup', { name: 'rest-topo' });
    expect(up).toMatchObject({ name: 'rest-topo', dry_run: false });
    expect(up.plan.summary.create).toBe(3);
    const st = await ok('GET', '/topologies/rest-topo/status');
    expect(st.deployed).toBe(true);
    expect(st.nodes.map((n: { name: string; state: string }) => `${n.name}:${n.state}`).sort()).toEqual([
      'rest-topo-h1:running',
      'rest-topo-r1:running',
    ]);
    expect((await ok('GET', '/topologies/rest-topo/plan')).summary).toMatchObject({ create: 0, keep: 3 });
    expect((await ok('GET', '/topologies/rest-topo/graph?format=mermaid')).text).toContain('r1');
    const badFormat = await api('GET', '/topologies/rest-topo/graph?format=jpeg');
    expect(badFormat.status).toBe(400);
    expect(badFormat.body.error.issues.map((i: { path: string }) => i.path)).toEqual(['format']);
    // deployed: deleting it without force is a conflict
    expect((await api('DELETE', '/topologies/rest-topo')).status).toBe(409);
    // activating what already runs changes nothing (standup converges)
    const act = await ok('POST', '/topologies/rest-topo/activate', {});
    expect(act.plan.summary).toMatchObject({ create: 0, recreate: 0, delete: 0 });
    expect((await ok('GET', '/topologies/rest-topo')).active).toBe(true);

    const down = await ok('POST', '/topology/teardown', { name: 'rest-topo' });
    expect(down.removed).toMatchObject({ containers: 2, networks: 1 });
    expect((await ok('DELETE', '/topologies/rest-topo')).deleted).toBe('rest-topo');
    expect((await api('GET', '/topologies/rest-topo')).status).toBe(404);
  });

  it('a read-only server answers reads and refuses changes with 403', async () => {
    const ro = await serve({ ...testEnv(`${RUN}-ro`), NSLAB_HTTP_TOKEN: TOKEN, NSLAB_READ_ONLY: '1' });
    try {
      const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
      expect((await fetch(`${ro.url}/networks`, { headers })).status).toBe(200);
      const refused = await fetch(`${ro.url}/networks`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ name: 'rest-ro', subnet: '10.246.3.0/24' }),
      });
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as any).error).toMatchObject({ code: 'READ_ONLY', message: expect.stringContaining('read-only') });
      expect(await docker.listNetworks({ filters: { name: ['rest-ro'] } })).toEqual([]);
    } finally {
      expect(await ro.stop()).toBe(0);
    }
  });

  it('records REST calls in the audit log with the caller', async () => {
    const audit = await ok('GET', '/audit?tool=network_create&ok=true&limit=1');
    expect(audit.entries).toHaveLength(1);
    expect(audit.entries[0]).toMatchObject({ front_end: 'rest', tool: 'network_create', caller: expect.stringMatching(/^127\.0\.0\.1/) });
  });
});

/** A 3 MiB body, sent with http.request so that an early answer and close are seen as they are. */
function tooLarge(declared: boolean): Promise<{ status: number; code: string }> {
  const url = new URL(`${server.url}/topologies`);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: {
          authorization: `Bearer ${TOKEN}`,
          'content-type': 'application/json',
          ...(declared ? { 'content-length': 3 * 1024 * 1024 } : {}),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => {
          text += d.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, code: (JSON.parse(text) as { error: { code: string } }).error.code }));
      },
    );
    // The server closes after answering, while this side may still be writing: an error after the
    // answer is expected; one before it is a failure.
    let answered = false;
    req.on('response', () => {
      answered = true;
    });
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    for (let i = 0; i < 48; i++) req.write(Buffer.alloc(64 * 1024, 0x20));
    req.end();
  });
}
