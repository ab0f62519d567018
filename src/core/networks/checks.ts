import type { DockerEngine, NetworkInfo } from '../docker/engine.js';
import { type HostRoute, readHostRoutes, routeClash } from '../docker/host-routes.js';
import { isManaged } from '../docker/labels.js';
import type { Placement } from '../engines/placement.js';
import { conflict, invalid, LabError } from '../errors.js';
import { checkAddress, defaultGateway, overlaps, overlayProblem, parseCidr, parseSubnet, type Subnet } from '../ipam.js';
import type { NetworkCreateInput } from './view.js';

/** A create request, checked: what `Networks.create` builds its record from. */
export interface CheckedCreate {
  subnet: Subnet;
  driver: 'bridge' | 'macvlan';
  gateway: string;
  overlay: boolean;
  engineName: string | undefined;
}

/** The checks of a create that need no engine: fields, their combinations, and the egress gate. */
export function checkCreate(input: NetworkCreateInput, placement: Placement, allowExternal: boolean): CheckedCreate {
  const subnet = parseSubnet(input.subnet);
  if (typeof subnet === 'string') throw invalid('subnet', subnet);
  const driver = input.driver ?? 'bridge';
  const gateway = input.gateway ?? defaultGateway(subnet);
  const gwProblem = checkAddress(subnet, '', {}, gateway);
  if (gwProblem) throw invalid('gateway', gwProblem);
  if (driver === 'macvlan' && !input.parent)
    throw invalid('parent', 'a macvlan network needs the host interface to attach to', 'set parent, e.g. parent=eth0');
  if (driver === 'bridge' && input.parent) throw invalid('parent', 'only macvlan networks take a parent interface');
  const overlay = input.scope === 'swarm';
  if (overlay && input.driver) throw invalid('driver', 'a network with scope: swarm is a Docker Swarm overlay; leave driver out');
  if (overlay && input.engine) throw invalid('engine', 'a network with scope: swarm spans every engine of the swarm; leave engine out');
  const engineName = overlay ? undefined : placement.recordName(input.engine);
  const tooSmall = overlay ? overlayProblem(subnet, gateway, placement.names.length) : undefined;
  if (tooSmall) throw invalid('subnet', tooSmall);
  // Reaching outside the machine is the operator's choice, never a caller's.
  if (!allowExternal && driver === 'macvlan') {
    throw invalid(
      'driver',
      'a macvlan network reaches outside the machine; it is refused unless the operator sets NSLAB_ALLOW_EXTERNAL',
      'use the default bridge driver',
    );
  }
  if (!allowExternal && input.internal === false) {
    throw invalid(
      'internal',
      'a network with internal: false reaches outside the machine; it is refused unless the operator sets NSLAB_ALLOW_EXTERNAL',
      'leave internal out (lab networks are internal)',
    );
  }
  return { subnet, driver, gateway, overlay, engineName };
}

/** An overlay needs the engines joined in a swarm; CONFLICT saying how to join them otherwise. */
export async function requireSwarm(engine: DockerEngine, field = 'scope'): Promise<void> {
  const info = await engine.system.info();
  if (info.Swarm?.LocalNodeState !== 'active' || !info.Swarm.ControlAvailable) {
    throw new LabError(
      'CONFLICT',
      `${field}: a network across engines is a swarm overlay network, and the engines are not joined in a swarm`,
      {
        issues: [{ path: field, message: 'the engines are not joined in a swarm' }],
        hint: 'run `nslab engines join` (tool engine_join) first; nothing was changed',
      },
    );
  }
}

/**
 * A lab subnet may not take over a route of the machine its engine runs on. Returns a note when
 * a remote engine's routes could not be read (it has no lab image yet), so the check did not run.
 */
export async function refuseHostRoute(
  engine: DockerEngine,
  subnet: string,
  field: string,
  /** the routes already read (many subnets checked against one reading: a topology's networks) */
  read?: Promise<HostRoute[] | 'unread'>,
): Promise<string | undefined> {
  const routes = await (read ?? readHostRoutes(engine));
  const clash = routes === 'unread' ? 'unread' : routeClash(routes, subnet);
  if (clash === 'unread')
    return engine.isLocal
      ? undefined
      : `the routes of ${engineWords(engine)} were not read (it has no lab image yet): ${subnet} was not checked against them`;
  if (clash) {
    const whose = engine.isLocal ? "this machine's own route" : `the route of ${engineWords(engine)}`;
    throw new LabError(
      'CONFLICT',
      `${field}: ${subnet} overlaps ${whose} to ${clash.dst} (dev ${clash.dev}); a lab network there would take that traffic from the host`,
      {
        issues: [{ path: field, message: `overlaps the host's route to ${clash.dst}` }],
        hint: 'choose a subnet the host does not use',
      },
    );
  }
  return undefined;
}

const engineWords = (engine: DockerEngine): string =>
  engine.name ? `the host of engine '${engine.name}' (${engine.host})` : `the host of the engine at ${engine.host}`;

/**
 * Refuse a name or subnet any Docker network already has (this store's or not): on the engine a
 * bridge goes to (and the manager, which sees the swarm's overlays), or on every engine for an
 * overlay (`on` undefined).
 */
export async function refuseClashes(
  placement: Placement,
  name: string,
  subnet: Subnet,
  on?: DockerEngine,
  /** each engine's networks, listed once for many checks (a topology's networks); listed here otherwise */
  listed?: (engine: DockerEngine) => Promise<NetworkInfo[]>,
): Promise<void> {
  const where = placement.all().filter((e) => !on || e.engine === on || (placement.multi && e.engine === placement.default));
  const list = listed ?? ((e: DockerEngine) => e.networks.list());
  const lists = await Promise.all(where.map(async (e) => (await list(e.engine)).map((n) => ({ ...n, engineName: e.name }))));
  const seen = new Set<string>();
  const all = lists.flat().filter((n) => !seen.has(n.Id) && seen.add(n.Id));
  const on_ = (n: { engineName: string }) => (placement.multi ? ` on engine '${n.engineName}'` : '');
  const same = all.find((n) => n.Name === name);
  if (same) {
    throw conflict(
      `a Docker network named '${name}' already exists${on_(same)}${isManaged(same.Labels) ? '' : ' (not created by netstream-lab)'}`,
      'pick another name',
    );
  }
  const clashes = all
    .flatMap((n) =>
      (n.IPAM?.Config ?? []).map((c) => ({
        name: `${n.Name}${n.Scope === 'swarm' && placement.multi ? ', a swarm overlay' : ''}`,
        subnet: `${c.Subnet ?? ''}${on_(n)}`,
        cidr: c.Subnet ?? '',
      })),
    )
    .filter((c) => {
      const other = parseCidr(c.cidr);
      return typeof other !== 'string' && overlaps(other, subnet);
    })
    .sort((a, b) => a.name.localeCompare(b.name));
  if (clashes.length) {
    const list = clashes.map((c) => `'${c.name}' (${c.subnet})`).join(', ');
    throw conflict(
      `subnet ${subnet.cidr} overlaps Docker network${clashes.length > 1 ? 's' : ''} ${list}`,
      'choose a subnet that does not overlap',
    );
  }
}
