import { describe, expect, it } from 'vitest';
import type { ContainerInfo, DockerEngine } from '../../src/core/docker/engine.js';
import type { ExecOptions, ExecResult } from '../../src/core/docker/exec.js';
import { parseCidr, type Subnet } from '../../src/core/ipam.js';
import {
  batchErrors,
  isDockerSlot,
  type KernelRoute,
  keepRoutes,
  overlapsSubnet,
  parseRoutes,
  routeSpec,
} from '../../src/core/routes-keep.js';

// What `ip -4 -j route show table main` printed in an FRR daemon of the lab (iproute2 6.1).
const FRR_ROUTES =
  '[{"dst":"default","gateway":"10.248.0.1","dev":"eth0","flags":[]},{"dst":"10.248.0.0/24","dev":"eth0","protocol":"kernel","scope":"link","prefsrc":"10.248.0.11","flags":[]},{"dst":"10.248.3.0/24","nhid":8,"gateway":"10.248.0.12","dev":"eth0","protocol":"bgp","metric":20,"flags":[]}]\n';
const subnet = (s: string) => parseCidr(s) as Subnet;

describe('routes-keep: reading and writing routes', () => {
  it('parses ip -j output and names each route the way ip route takes it back', () => {
    const [def, connected, bgp] = parseRoutes(FRR_ROUTES) as [KernelRoute, KernelRoute, KernelRoute];
    expect(routeSpec(def, true)).toEqual(['default', 'via', '10.248.0.1', 'dev', 'eth0', 'metric', '0']);
    expect(routeSpec(connected, true)).toEqual([
      '10.248.0.0/24',
      'dev',
      'eth0',
      'proto',
      'kernel',
      'metric',
      '0',
      'scope',
      'link',
      'src',
      '10.248.0.11',
    ]);
    // a route over FRR's nexthop object is named by the object, not by its gateway
    expect(routeSpec(bgp, false)).toEqual(['10.248.3.0/24', 'nhid', '8', 'proto', 'bgp', 'metric', '20']);
    expect(parseRoutes('')).toEqual([]);
  });

  it('keeps multipath next hops, onlink, types and route metrics', () => {
    expect(
      routeSpec(
        {
          dst: '10.9.0.0/16',
          nexthops: [
            { gateway: '10.0.0.2', dev: 'eth0', weight: 1, flags: [] },
            { gateway: '10.0.1.2', dev: 'eth1', weight: 2, flags: ['onlink'] },
          ],
          protocol: 'static',
          metric: 5,
          metrics: [{ mtu: 1400 }],
        },
        true,
      ),
    ).toEqual([
      '10.9.0.0/16',
      'nexthop',
      'via',
      '10.0.0.2',
      'dev',
      'eth0',
      'weight',
      '1',
      'nexthop',
      'via',
      '10.0.1.2',
      'dev',
      'eth1',
      'weight',
      '2',
      'onlink',
      'proto',
      'static',
      'metric',
      '5',
      'mtu',
      '1400',
    ]);
    expect(routeSpec({ dst: '192.0.2.0/24', type: 'blackhole', flags: [] }, true)).toEqual(['blackhole', '192.0.2.0/24', 'metric', '0']);
    expect(routeSpec({ dst: 'default', gateway: '10.0.0.9', dev: 'eth0', flags: ['onlink'] }, true)).toContain('onlink');
  });

  it('leaves alone a route whose fields ip -batch would read differently', () => {
    expect(routeSpec({ dst: '10.1.0.0/16', dev: 'we ird' }, true)).toBeUndefined();
    expect(routeSpec({ dst: '10.1.0.0/16', dev: 'x#y' }, true)).toBeUndefined();
    expect(routeSpec({ dst: '10.1.0.0/16', dev: 'vx"0' }, true)).toBeUndefined();
  });

  it('finds the routes Docker collides with: the metric-0 default, and any overlapping the joined subnet', () => {
    expect(isDockerSlot({ dst: 'default', gateway: '10.0.0.1' })).toBe(true);
    expect(isDockerSlot({ dst: 'default', gateway: '10.0.0.1', metric: 0 })).toBe(true);
    expect(isDockerSlot({ dst: 'default', gateway: '10.0.0.1', metric: 20 })).toBe(false);
    expect(isDockerSlot({ dst: '10.0.0.0/8', gateway: '10.0.0.1' })).toBe(false);
    const lan = subnet('10.237.4.0/24');
    expect(overlapsSubnet({ dst: '10.237.4.0/24' }, lan)).toBe(true);
    expect(overlapsSubnet({ dst: '10.237.4.128/25' }, lan)).toBe(true);
    expect(overlapsSubnet({ dst: '10.237.0.0/16' }, lan)).toBe(true);
    expect(overlapsSubnet({ dst: '10.237.4.9' }, lan)).toBe(true);
    expect(overlapsSubnet({ dst: '10.237.5.0/24' }, lan)).toBe(false);
    expect(overlapsSubnet({ dst: 'default' }, lan)).toBe(false);
  });

  it('reads which batch line failed and why', () => {
    const errs = batchErrors(
      'RTNETLINK answers: No such process\nCommand failed -:1\nRTNETLINK answers: File exists\nCommand failed -:2\nCannot find device "eth7"\nCommand failed -:3\n',
    );
    expect([...errs]).toEqual([
      [1, 'RTNETLINK answers: No such process'],
      [2, 'RTNETLINK answers: File exists'],
      [3, 'Cannot find device "eth7"'],
    ]);
  });
});

/** An engine whose execs answer like a lab container with these routes, recording what ran. */
function fakeEngine(routesJson: string, answer: (argv: string[]) => Partial<ExecResult> = () => ({})) {
  const log: string[] = [];
  const engine = {
    host: undefined,
    exec: async (_info: ContainerInfo, _name: string, opts: ExecOptions): Promise<ExecResult> => {
      const argv = opts.command;
      if (argv[0] === 'ip') {
        log.push('read');
        return { exit_code: 0, stdout: routesJson, stderr: '', timed_out: false, truncated: false };
      }
      const batch = argv[4] ?? '';
      log.push(argv[2]?.includes('kill -STOP') ? `freeze:${batch}` : `restore:${batch}|${argv.slice(5).join(' ')}`);
      return {
        exit_code: 0,
        stdout: argv[2]?.includes('kill -STOP') ? '77 12 13\n' : '',
        stderr: '',
        timed_out: false,
        truncated: false,
        ...answer(argv),
      };
    },
  } as unknown as DockerEngine;
  return { engine, log };
}
const info = (running = true, id = 'c1') =>
  ({
    Id: id,
    State: { Running: running, Restarting: false, Paused: false },
    NetworkSettings: { Networks: { core: { Gateway: '10.248.0.1' } } },
  }) as unknown as ContainerInfo;

describe('routes-keep: around a Docker call', () => {
  it('takes the colliding routes out with the container frozen, and puts them back after', async () => {
    const { engine, log } = fakeEngine(FRR_ROUTES);
    const r = await keepRoutes(engine, info(), 'r1', '10.248.3.0/24', async () => {
      log.push('docker');
      return 'ok';
    });
    expect(r).toEqual({ result: 'ok', warnings: [] });
    expect(log).toEqual([
      'read',
      'freeze:route del default via 10.248.0.1 dev eth0 metric 0\nroute del 10.248.3.0/24 nhid 8 proto bgp metric 20',
      'docker',
      // the default over whatever Docker set; the BGP route beside the new connected route; thawed
      'restore:route replace default via 10.248.0.1 dev eth0 metric 0\nroute append 10.248.3.0/24 nhid 8 proto bgp metric 20|77 12 13',
    ]);
  });

  it('on a disconnect moves only the default route', async () => {
    const { engine, log } = fakeEngine(FRR_ROUTES);
    await keepRoutes(engine, info(), 'r1', undefined, async () => log.push('docker'));
    expect(log[1]).toBe('freeze:route del default via 10.248.0.1 dev eth0 metric 0');
  });

  it('puts the routes back and thaws when Docker fails, then throws its error', async () => {
    const { engine, log } = fakeEngine(FRR_ROUTES);
    await expect(
      keepRoutes(engine, info(), 'r1', '10.248.3.0/24', async () => {
        log.push('docker');
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    expect(log.at(-1)).toMatch(/^restore:route replace default .*\|77 12 13$/s);
  });

  it("warns about a lab route that could not come back, not about Docker's own default", async () => {
    const json = JSON.stringify([
      { dst: 'default', gateway: '10.237.1.2', dev: 'eth1', flags: [] },
      { dst: '10.248.3.0/24', gateway: '10.248.0.12', dev: 'eth0', protocol: 'bgp', metric: 20, flags: [] },
    ]);
    const { engine } = fakeEngine(json, (argv) =>
      argv[2]?.includes('kill -STOP') ? {} : { stderr: 'Cannot find device "eth1"\nCommand failed -:1\n', exit_code: 1 },
    );
    const r = await keepRoutes(engine, info(), 'h1', '10.248.3.0/24', async () => 'ok');
    expect(r.warnings).toEqual([
      "the route 'default via 10.237.1.2 dev eth1 metric 0' of 'h1' could not be put back: Cannot find device \"eth1\"",
    ]);
    const own = fakeEngine(FRR_ROUTES, (argv) =>
      argv[2]?.includes('kill -STOP') ? {} : { stderr: 'Cannot find device "eth0"\nCommand failed -:1\n', exit_code: 1 },
    );
    expect((await keepRoutes(own.engine, info(), 'r1', undefined, async () => 'ok')).warnings).toEqual([]);
  });

  it('leaves a stopped container to Docker alone: it has no routes until its entrypoint runs', async () => {
    const { engine, log } = fakeEngine(FRR_ROUTES);
    await keepRoutes(engine, info(false), 'r1', '10.248.3.0/24', async () => log.push('docker'));
    expect(log).toEqual(['docker']);
  });

  it('does one route change at a time per container', async () => {
    const { engine, log } = fakeEngine(FRR_ROUTES);
    let release: () => void = () => undefined;
    const first = keepRoutes(engine, info(), 'r1', undefined, async () => {
      log.push('docker-1');
      await new Promise<void>((r) => {
        release = r;
      });
    });
    const second = keepRoutes(engine, info(), 'r1', undefined, async () => log.push('docker-2'));
    const other = keepRoutes(engine, info(true, 'c2'), 'r9', undefined, async () => log.push('docker-other'));
    await other;
    await new Promise((r) => setTimeout(r, 20));
    expect(log).not.toContain('docker-2');
    release();
    await Promise.all([first, second]);
    const at = (s: string) => log.indexOf(s);
    expect(at('docker-1')).toBeLessThan(at('docker-2'));
    // the second read happens only after the first put its routes back
    expect(log.slice(at('docker-1') + 1).findIndex((l) => l.startsWith('restore'))).toBeLessThan(
      log.slice(at('docker-1') + 1).indexOf('read'),
    );
  });
});
