/**
 * What standup would do, as data: each network, node, session and tunnel of the file against what
 * runs now (store records of the topology plus what Docker reports). Pure, so the same plan is
 * shown by topology_plan and carried out by topology_standup.
 */
import type { BgpNeighbor, DaemonKind } from '../bgp/types.js';
import type { DaemonRecord, HostRecord, StoreState, TunnelRecord } from '../store/schema.js';
import type { Desired, DesiredNode, DesiredTunnel } from './resolve.js';

export type Action = 'create' | 'keep' | 'update' | 'recreate' | 'delete';

export interface PlanItem {
  kind: 'network' | 'node' | 'session' | 'tunnel';
  name: string;
  action: Action;
  /** why, for anything but keep */
  reason?: string;
}

/** A node kept running whose BGP configuration changes in place. */
export interface NodeUpdate {
  name: string;
  start: boolean;
  addPeers: BgpNeighbor[];
  removePeers: string[];
  advertise: string[];
  withdraw: string[];
  /** route server mode turned on (true) or off (false); absent: unchanged */
  routeServer?: boolean;
}

export interface Plan {
  topology: string;
  items: PlanItem[];
  summary: Record<Action, number>;
  /** details for standup; not shown */
  updates: NodeUpdate[];
}

/** What Docker says about the topology's objects, by name. */
export interface DockerFacts {
  containers: Map<string, 'running' | 'paused' | 'stopped' | 'restarting'>;
  networks: Set<string>;
  /** Docker's ids, to tell the container a standup recorded from one made or left otherwise */
  containerIds?: Map<string, string>;
}

/** Every setting of a peer: two peers with the same key need no change. */
export const neighborKey = (n: BgpNeighbor): string =>
  JSON.stringify([
    n.address,
    n.asn,
    n.password ?? null,
    n.description ?? null,
    n.multihop ?? null,
    n.next_hop_self ?? null,
    n.bfd === true,
    n.hold_s ?? null,
    n.keepalive_s ?? null,
    n.route_server === true,
  ]);
const ifaceKey = (i: Array<{ network: string; ip: string; name?: string | undefined }>) =>
  JSON.stringify([...i].map((x) => `${x.network}=${x.ip}${x.name ? ` ${x.name}` : ''}`).sort());
const ownKey = (own: DesiredNode['own']) => JSON.stringify(own ?? null);

function nodeDiff(
  want: DesiredNode,
  have: DaemonRecord | HostRecord,
  isDaemon: boolean,
  gw?: { want: string | undefined; have: string | undefined },
): { recreate: string[]; update?: Omit<NodeUpdate, 'start' | 'name'> } {
  const recreate: string[] = [];
  if ((want.role === 'daemon') !== isDaemon)
    return { recreate: [`changes from ${isDaemon ? 'router' : 'host'} to ${want.role === 'daemon' ? 'router' : 'host'}`] };
  if (ifaceKey(want.interfaces) !== ifaceKey(have.interfaces)) recreate.push('interfaces change');
  if (ownKey(want.own) !== ownKey(have.own)) recreate.push('its own config, files or exec lines change');
  // Records without an engine are on the first one, which placement also leaves unnamed with one engine.
  if (want.engine !== undefined && want.engine !== (have.engine ?? want.engine))
    recreate.push(`moves from engine ${have.engine} to ${want.engine}`);
  if (want.role === 'host') {
    const h = have as HostRecord;
    if ((want.gateway ?? '') !== (h.gateway ?? '')) recreate.push('gateway changes');
    else if (gw && gw.want !== gw.have) recreate.push(`its gateway's address changes (${gw.have ?? 'none'} -> ${gw.want ?? 'none'})`);
    if ((want.loopback ?? '') !== (h.loopback ?? '')) recreate.push('loopback changes');
    return { recreate };
  }
  const d = have as DaemonRecord;
  if (want.kind !== d.kind) recreate.push(`kind changes from ${d.kind} to ${want.kind}`);
  if (want.asn !== d.asn) recreate.push(`asn changes from ${d.asn} to ${want.asn}`);
  if (want.router_id !== d.router_id) recreate.push(`router id changes from ${d.router_id} to ${want.router_id}`);
  const rs = want.route_server === true;
  const rsChanged = rs !== (d.route_server === true);
  // gobgpd builds a peer's RIBs when it adds the peer: route-server-client does not change on a reload.
  if (rsChanged && want.kind === 'gobgp' && d.kind === 'gobgp')
    recreate.push(`route_server turns ${rs ? 'on' : 'off'} (GoBGP cannot change it in a running daemon: the container is recreated)`);
  const haveN = new Map(d.neighbors.map((n) => [n.address, neighborKey(n)]));
  const wantN = new Map(want.neighbors.map((n) => [n.address, neighborKey(n)]));
  const removePeers = [...haveN.keys()].filter((a) => wantN.get(a) !== haveN.get(a));
  const addPeers = want.neighbors.filter((n) => haveN.get(n.address) !== neighborKey(n));
  const advertise = want.advertise.filter((p) => !d.advertise.includes(p));
  const withdraw = d.advertise.filter((p) => !want.advertise.includes(p));
  return { recreate, update: { addPeers, removePeers, advertise, withdraw, ...(rsChanged ? { routeServer: rs } : {}) } };
}

/** What turning route server mode on or off does to a running daemon of `kind`. */
function routeServerReason(kind: DaemonKind, on: boolean): string {
  const how =
    kind === 'frr'
      ? 'live through vtysh; FRR resets its sessions'
      : kind === 'bird'
        ? 'birdc configure; BIRD restarts its BGP sessions, not the container'
        : 'bgpctl reload; the container is not restarted';
  return `route_server turns ${on ? 'on' : 'off'} (${how})`;
}

const tunnelKey = (t: DesiredTunnel | TunnelRecord) => JSON.stringify([t.mode, t.underlay, t.a, t.b, t.key ?? null, t.ttl, t.mtu]);

/** The address a host's default route points at: an IP as given, or the gateway node's address on a shared network. */
export function gatewayIp(
  ifaces: Array<{ network: string }>,
  gateway: string,
  node: (name: string) => { interfaces: Array<{ network: string; ip: string }> } | undefined,
): string | undefined {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(gateway)) return gateway;
  return node(gateway)?.interfaces.find((i) => ifaces.some((h) => h.network === i.network))?.ip;
}

export function planTopology(desired: Desired, state: StoreState, docker: DockerFacts): Plan {
  const topo = desired.topology;
  const items: PlanItem[] = [];
  const updates: NodeUpdate[] = [];
  const add = (kind: PlanItem['kind'], name: string, action: Action, reason?: string) =>
    items.push({ kind, name, action, ...(reason ? { reason } : {}) });

  // Networks: a changed or vanished network takes the nodes on it with it.
  const remade = new Set<string>();
  for (const n of desired.networks) {
    const rec = state.networks[n.name];
    if (!rec || rec.topology !== topo) add('network', n.name, 'create');
    else if (rec.subnet !== n.subnet || rec.gateway !== n.gateway) {
      add('network', n.name, 'recreate', `subnet or gateway changes (${rec.subnet} -> ${n.subnet})`);
      remade.add(n.name);
    } else if (
      !!n.overlay !== (rec.driver === 'overlay') ||
      (!n.overlay && n.engine !== undefined && n.engine !== (rec.engine ?? n.engine))
    ) {
      add('network', n.name, 'recreate', n.overlay ? 'its nodes now span engines (overlay)' : `it moves to engine ${n.engine}`);
      remade.add(n.name);
    } else if (!docker.networks.has(n.name)) {
      add('network', n.name, 'recreate', 'its Docker network is gone');
      remade.add(n.name);
    } else if (!rec.id) {
      // Reserved by a standup that did not get to record it (killed): not known to be complete.
      add('network', n.name, 'recreate', 'an interrupted standup did not finish it');
      remade.add(n.name);
    } else add('network', n.name, 'keep');
  }

  const recreatedNodes = new Set<string>();
  for (const n of desired.nodes) {
    const d = state.daemons[n.name];
    const h = state.hosts[n.name];
    const have = d ?? h;
    const container = docker.containers.get(n.name);
    if (!have || have.topology !== topo) {
      // A container of the topology that no record claims (left by on_error: keep) goes first.
      if (container) add('node', n.name, 'recreate', 'a container of that name is left from an earlier run');
      else add('node', n.name, 'create');
      recreatedNodes.add(n.name);
      continue;
    }
    const diff = nodeDiff(
      n,
      have,
      !!d,
      n.role === 'host' && n.gateway
        ? {
            want: gatewayIp(n.interfaces, n.gateway, (x) => desired.nodes.find((y) => y.name === x)),
            have: gatewayIp(have.interfaces, n.gateway, (x) => state.daemons[x] ?? state.hosts[x]),
          }
        : undefined,
    );
    const onRemade = n.interfaces.find((i) => remade.has(i.network));
    if (onRemade) diff.recreate.push(`network ${onRemade.network} is recreated`);
    if (!container) diff.recreate.push('its container is gone');
    else if (!have.container_id) diff.recreate.push('an interrupted standup did not finish it');
    else if (docker.containerIds && docker.containerIds.get(n.name) !== have.container_id)
      diff.recreate.push('its container is not the one the lab made');
    if (diff.recreate.length) {
      add('node', n.name, 'recreate', diff.recreate.join('; '));
      recreatedNodes.add(n.name);
      continue;
    }
    const u = diff.update;
    const start = container !== 'running';
    const changed =
      !!u && (u.addPeers.length + u.removePeers.length + u.advertise.length + u.withdraw.length > 0 || u.routeServer !== undefined);
    if (changed || start) {
      const why = [
        ...(start ? [`start the ${container} container`] : []),
        ...(u?.addPeers.length ? [`add peers ${u.addPeers.map((p) => p.address).join(', ')}`] : []),
        ...(u?.removePeers.length ? [`remove peers ${u.removePeers.join(', ')}`] : []),
        ...(u?.advertise.length ? [`advertise ${u.advertise.join(', ')}`] : []),
        ...(u?.withdraw.length ? [`withdraw ${u.withdraw.join(', ')}`] : []),
        ...(u?.routeServer !== undefined ? [routeServerReason(n.role === 'daemon' ? n.kind : 'frr', u.routeServer)] : []),
      ];
      add('node', n.name, 'update', why.join('; '));
      updates.push({
        name: n.name,
        start,
        addPeers: u?.addPeers ?? [],
        removePeers: u?.removePeers ?? [],
        advertise: u?.advertise ?? [],
        withdraw: u?.withdraw ?? [],
        ...(u?.routeServer !== undefined ? { routeServer: u.routeServer } : {}),
      });
    } else add('node', n.name, 'keep');
  }
  const wantedNodes = new Set(desired.nodes.map((n) => n.name));
  for (const rec of [...Object.values(state.daemons), ...Object.values(state.hosts)]) {
    if (rec.topology === topo && !wantedNodes.has(rec.name)) add('node', rec.name, 'delete', 'no longer in the file');
  }

  // Sessions, as pairs of the topology's daemons that name each other's addresses; keyed by the
  // two names (in order) and the address of the second.
  const addrsOf = (name: string) =>
    new Set([
      ...(state.daemons[name]?.interfaces.map((i) => i.ip) ?? []),
      ...Object.values(state.tunnels ?? {}).flatMap((t) =>
        [t.a, t.b].filter((e) => 'container' in e && e.container === name).map((e) => ('tunnel_ip' in e ? e.tunnel_ip.split('/')[0] : '')),
      ),
    ]);
  const mine = Object.values(state.daemons).filter((d) => d.topology === topo);
  const current = new Set<string>();
  for (const d of mine) {
    for (const nb of d.neighbors) {
      const peer = mine.find((x) => x.name > d.name && addrsOf(x.name).has(nb.address));
      if (peer) current.add(`${d.name}~${peer.name}~${nb.address}`);
    }
  }
  const sessionName = (a: string, b: string, via: string) => `${a} <-> ${b} (${via})`;
  const wantedSessions = new Set<string>();
  for (const s of desired.sessions) {
    if (s.own) continue; // in the routers' own configs, not the lab's to make
    const [x, y, addr] = s.a < s.b ? [s.a, s.b, s.b_ip] : [s.b, s.a, s.a_ip];
    const key = `${x}~${y}~${addr}`;
    wantedSessions.add(key);
    const fresh = recreatedNodes.has(s.a) || recreatedNodes.has(s.b);
    if (current.has(key) && !fresh) add('session', sessionName(s.a, s.b, s.via), 'keep');
    else add('session', sessionName(s.a, s.b, s.via), 'create', fresh ? 'an end is created or recreated' : 'new in the file');
  }
  for (const key of current) {
    if (!wantedSessions.has(key)) {
      const [x, y] = key.split('~');
      add('session', `${x} <-> ${y}`, 'delete', 'no longer in the file');
    }
  }

  // Tunnels.
  const wantedTunnels = new Set<string>();
  for (const t of desired.tunnels) {
    wantedTunnels.add(t.name);
    const rec = state.tunnels?.[t.name];
    if (!rec || rec.topology !== topo) add('tunnel', t.name, 'create');
    else if (tunnelKey(rec) !== tunnelKey(t)) add('tunnel', t.name, 'recreate', 'its parameters change');
    else add('tunnel', t.name, 'keep');
  }
  for (const rec of Object.values(state.tunnels ?? {})) {
    if (rec.topology === topo && !wantedTunnels.has(rec.name)) add('tunnel', rec.name, 'delete', 'no longer in the file');
  }
  for (const rec of Object.values(state.networks)) {
    if (rec.topology === topo && !desired.networks.some((n) => n.name === rec.name))
      add('network', rec.name, 'delete', 'no longer in the file');
  }

  const summary: Record<Action, number> = { create: 0, keep: 0, update: 0, recreate: 0, delete: 0 };
  for (const i of items) summary[i.action]++;
  return { topology: topo, items, summary, updates };
}
