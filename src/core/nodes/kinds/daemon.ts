/** What makes a node a BGP daemon: its kind's image, the files its driver renders, its view, and readiness. */
import { GOBGP_ADVERTISE_PATH } from '../../bgp/gobgp.js';
import { drivers } from '../../bgp/index.js';
import type { BgpNeighbor, DaemonKind } from '../../bgp/types.js';
import { bgpConfig } from '../../daemon-config.js';
import { LabError } from '../../errors.js';
import type { OpContext } from '../../progress.js';
import type { NodeKind, StartedNode } from '../lifecycle.js';
import { ifnamesFile, ownFiles } from '../own.js';
import type { ContainerState } from '../records.js';

export interface DaemonView {
  name: string;
  kind: DaemonKind;
  asn: number;
  router_id: string;
  interfaces: Array<{ network: string; ip: string }>;
  neighbors: Array<Omit<BgpNeighbor, 'password'> & { has_password: boolean }>;
  advertise: string[];
  /** a route server for all its neighbors */
  route_server?: boolean | undefined;
  state: ContainerState;
  image?: string | undefined;
  topology?: string | undefined;
  engine?: string | undefined;
}

/** How long a new or started daemon has to answer before create/start fails. */
const READY_TIMEOUT_MS = 60_000;

/**
 * A daemon counts as started once it answers its own CLI. One that exits instead (a config it
 * refuses, a crash loop) fails the create or start, with the last lines it printed.
 */
async function answers({ rec, id, engine, readState }: StartedNode<'daemons'>, ctx: OpContext): Promise<void> {
  const driver = drivers[rec.kind];
  const deadline = Date.now() + READY_TIMEOUT_MS;
  ctx.progress?.(`waiting for ${rec.kind} in ${rec.name} to answer`);
  let last = '';
  let restarts: number | undefined;
  let tries = 0;
  while (Date.now() < deadline) {
    if (ctx.signal?.aborted) throw new LabError('TIMEOUT', `cancelled while waiting for '${rec.name}' to start`);
    const info = await engine.inspectContainer(id);
    restarts ??= info?.RestartCount ?? 0;
    if (!info?.State.Running || info.State.Restarting || info.RestartCount > restarts) {
      const logs = await engine.logTail(id);
      throw new LabError(
        'DAEMON_ERROR',
        `the ${rec.kind} daemon of '${rec.name}' exited right after starting${logs ? `; it said:\n${logs}` : ''}`,
        {
          hint: 'nothing was kept; check the configuration values (neighbors, prefixes)',
        },
      );
    }
    const r = await engine.exec(info, rec.name, { command: driver.neighborsCommand, timeoutS: 10, reuse: true });
    // Its own config may run no BGP at all: then the daemon manager answering is enough.
    if (r.exit_code !== 0 && rec.own?.config !== undefined && driver.runsNoBgp?.(`${r.stderr}\n${r.stdout}`)) return;
    if (r.exit_code === 0) {
      try {
        driver.parseNeighbors(r.stdout, bgpConfig(rec, await readState()));
        return;
      } catch (err) {
        last = (err as Error).message;
      }
    } else last = (r.stderr || r.stdout).trim();
    // 250 ms at first, then slower up to 1 s: 100 daemons starting at once on 2 cores each asked 4
    // times a second (an inspect and a read each) took CPU from the daemons' own start.
    await new Promise((res) => setTimeout(res, Math.min(1000, 250 + 125 * tries++)));
  }
  throw new LabError(
    'TIMEOUT',
    `the ${rec.kind} daemon of '${rec.name}' did not answer within ${READY_TIMEOUT_MS / 1000} s: ${last.slice(0, 300)}`,
  );
}

export const daemonKind: NodeKind<'daemons', DaemonView> = {
  coll: 'daemons',
  role: 'daemon',
  image: (rec) => rec.kind,
  // A node with its own config gets it instead of the rendered one (GoBGP: with no prefixes of
  // the lab's to originate); its own files and interface names either way.
  files: (rec, state) => [
    ...(rec.own?.config !== undefined
      ? rec.kind === 'gobgp'
        ? [{ path: GOBGP_ADVERTISE_PATH, content: '' }]
        : []
      : drivers[rec.kind].render(bgpConfig(rec, state))),
    ...ownFiles(rec.own, rec.kind),
    ...ifnamesFile(rec.interfaces),
  ],
  view: (rec, state) => ({
    name: rec.name,
    kind: rec.kind,
    asn: rec.asn,
    router_id: rec.router_id,
    interfaces: rec.interfaces,
    neighbors: rec.neighbors.map(({ password, ...n }) => ({ ...n, has_password: !!password })),
    advertise: rec.advertise,
    ...(rec.route_server ? { route_server: true } : {}),
    state,
    image: rec.image,
    topology: rec.topology,
    ...(rec.engine ? { engine: rec.engine } : {}),
  }),
  ready: answers,
};
