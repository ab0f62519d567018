/**
 * One check against the running lab: what it expects, what the lab shows, and, when they differ,
 * a detail a person can act on. Observations come through a Probe (one per round, so that several
 * checks of one node read its state once); nothing here knows Docker.
 */
import type { NeighborStatus, RouteEntry } from '../bgp/types.js';
import type { ContainerState } from '../nodes/records.js';
import type { LabView } from './lab-view.js';

export interface Probe {
  neighbors(node: string): Promise<NeighborStatus[] | undefined>;
  routes(node: string): Promise<RouteEntry[] | undefined>;
  container(node: string): Promise<ContainerState>;
  /** argv in the node's container; undefined when it cannot run there */
  exec(node: string, argv: string[], timeoutS: number): Promise<{ exit_code: number; stdout: string; stderr: string } | undefined>;
  tunnel(container: string, name: string): Promise<string>;
}

export interface Outcome {
  ok: boolean;
  expected: string;
  observed: string;
  detail: string;
}

export interface CheckResult extends Outcome {
  id: string;
  check: string;
  target: string;
  /** how long after the verify began the check held (for one that failed: how long it was tried) */
  took_ms: number;
}

/** A check with its names resolved to containers and addresses, ready to run any number of times. */
export interface Prepared {
  id: string;
  check: 'session' | 'route' | 'ping' | 'path' | 'node' | 'tunnel';
  target: string;
  run(probe: Probe): Promise<Outcome>;
}

/** How names are shown: a topology's nodes by their key (r1), others by container name. */
export type Show = (container: string) => string;

export function sessionCheck(
  id: string,
  a: string,
  b: string,
  /** a's neighbor address for b and b's for a (undefined: not configured) */
  addrs: { ab: string | undefined; ba: string | undefined },
  want: string,
  show: Show,
): Prepared {
  const [A, B] = [show(a), show(b)];
  return {
    id,
    check: 'session',
    target: `${A} <-> ${B}`,
    async run(probe) {
      const expected = `${want} at both ends`;
      if (!addrs.ab || !addrs.ba) {
        const missing = !addrs.ab ? `${A} has no BGP neighbor on an address of ${B}` : `${B} has no BGP neighbor on an address of ${A}`;
        return {
          ok: false,
          expected,
          observed: 'not configured',
          detail: `${missing}: add the session to the file (bgp.sessions) or with daemon_peer_add`,
        };
      }
      const [na, nb] = await Promise.all([probe.neighbors(a), probe.neighbors(b)]);
      const sa = na ? (na.find((n) => n.address === addrs.ab)?.state ?? 'not reported') : 'no answer';
      const sb = nb ? (nb.find((n) => n.address === addrs.ba)?.state ?? 'not reported') : 'no answer';
      const observed = `${A} sees ${sa}, ${B} sees ${sb}`;
      if (sa === want && sb === want) return { ok: true, expected, observed, detail: '' };
      const silent = [na ? undefined : A, nb ? undefined : B].filter(Boolean);
      const detail = silent.length
        ? `the BGP daemon of ${silent.join(' and ')} does not answer: daemon_status ${silent[0]} says why (fault_list shows a daemon_kill or node_pause)`
        : want === 'Established'
          ? `the session between ${A} (${addrs.ba}) and ${B} (${addrs.ab}) is not up: check the link between them (fault_list, a ping check), both ends' AS numbers and passwords (daemon_status ${A})`
          : `the session is not ${want} at both ends`;
      return { ok: false, expected, observed, detail };
    },
  };
}

const pathText = (r: RouteEntry): string => (r.as_path?.length ? r.as_path.join(' ') : 'local');

export function routeCheck(
  id: string,
  node: string,
  spec: { prefix: string; present?: boolean | undefined; as_path?: number[] | undefined },
  nextHop: { shown: string; addresses: string[] } | undefined,
  show: Show,
): Prepared {
  const N = show(node);
  const present = spec.present ?? true;
  return {
    id,
    check: 'route',
    target: `${N} ${spec.prefix}`,
    async run(probe) {
      const wants = [
        present ? 'held' : 'absent',
        ...(present && spec.as_path ? [`AS path ${spec.as_path.join(' ') || 'local'}`] : []),
        ...(present && nextHop ? [`next hop ${nextHop.shown}`] : []),
      ];
      const expected = wants.join(', ');
      const routes = await probe.routes(node);
      if (!routes) {
        return {
          ok: false,
          expected,
          observed: 'no answer',
          detail: `the BGP daemon of ${N} does not answer, so its routes cannot be read: daemon_status ${N}`,
        };
      }
      const held = routes.filter((r) => r.prefix === spec.prefix && r.direction !== 'out');
      const best = held.find((r) => r.best) ?? held[0];
      const observed = best
        ? `held, AS path ${pathText(best)}${best.next_hop ? `, next hop ${best.next_hop}` : ''}${held.length > 1 ? ` (${held.length} paths)` : ''}`
        : 'absent';
      if (!present) {
        return best
          ? {
              ok: false,
              expected,
              observed,
              detail: `${N} holds ${spec.prefix} but must not (AS path ${pathText(best)}): look for the router that announces it`,
            }
          : { ok: true, expected, observed, detail: '' };
      }
      if (!best) {
        const some = routes.filter((r) => r.direction !== 'out').map((r) => r.prefix);
        const list = some.length
          ? `it holds ${some.length} other prefixes (${[...new Set(some)].slice(0, 5).join(', ')}${some.length > 5 ? ', ...' : ''})`
          : 'it holds no routes at all';
        return {
          ok: false,
          expected,
          observed,
          detail: `${N} has no route to ${spec.prefix}; ${list}. Is the prefix announced, and are the sessions on the way Established?`,
        };
      }
      if (spec.as_path && pathText(best) !== (spec.as_path.join(' ') || 'local')) {
        const others = held.filter((r) => r !== best).map(pathText);
        return {
          ok: false,
          expected,
          observed,
          detail: `${N} prefers AS path ${pathText(best)} for ${spec.prefix}${others.length ? ` (it also knows ${others.join('; ')})` : ''}`,
        };
      }
      if (nextHop && !(best.next_hop && nextHop.addresses.includes(best.next_hop))) {
        return {
          ok: false,
          expected,
          observed,
          detail: `${N} reaches ${spec.prefix} through ${best.next_hop ?? 'no next hop'}, not ${nextHop.shown}`,
        };
      }
      return { ok: true, expected, observed, detail: '' };
    },
  };
}

/** `ping -q` summary: "3 packets transmitted, 2 received, 33.3333% packet loss". */
export function parsePing(stdout: string): { sent: number; received: number } | undefined {
  const m = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(stdout);
  return m ? { sent: Number(m[1]), received: Number(m[2]) } : undefined;
}

export function pingCheck(
  id: string,
  from: string,
  to: { ip: string; shown: string },
  opts: { count?: number | undefined; max_loss_pct?: number | undefined },
  show: Show,
): Prepared {
  const F = show(from);
  const count = opts.count ?? 3;
  const maxLoss = opts.max_loss_pct ?? 0;
  const toText = to.shown === to.ip ? to.ip : `${to.shown} (${to.ip})`;
  return {
    id,
    check: 'ping',
    target: `${F} -> ${to.shown}`,
    async run(probe) {
      const expected = maxLoss === 0 ? `${count}/${count} replies` : `at most ${maxLoss}% loss`;
      const r = await probe.exec(from, ['ping', '-n', '-q', '-c', String(count), '-i', '0.2', '-W', '1', to.ip], count * 0.2 + 3);
      if (!r)
        return {
          ok: false,
          expected,
          observed: `${F} is not running`,
          detail: `${F}'s container does not run: start it (or fault_list: a node_pause?)`,
        };
      const p = parsePing(r.stdout);
      if (!p) {
        const why = (r.stderr || r.stdout).trim().split('\n')[0]?.slice(0, 200) ?? '';
        return { ok: false, expected, observed: `ping failed: ${why}`, detail: `ping could not run in ${F}: ${why}` };
      }
      const loss = p.sent ? ((p.sent - p.received) / p.sent) * 100 : 100;
      const observed = `${p.received}/${p.sent} replies (${Math.round(loss)}% loss)`;
      if (loss <= maxLoss) return { ok: true, expected, observed, detail: '' };
      const detail =
        p.received === 0
          ? `no reply from ${toText} to ${F}: a path check shows where the traffic goes; fault_list shows faults in the lab`
          : `${F} lost ${Math.round(loss)}% of its pings to ${toText}: the path is changing or congested`;
      return { ok: false, expected, observed, detail };
    },
  };
}

/** Hop addresses of `traceroute -n -q 1` ("*" for a hop that did not answer), in order. */
export function parseTraceroute(stdout: string): string[] {
  const hops: string[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^\s*(\d+)\s+(\S+)/.exec(line);
    if (m) hops[Number(m[1]) - 1] = m[2] === '*' ? '*' : (m[2] ?? '*');
  }
  return Array.from(hops, (h) => h ?? '*');
}

/** Whether `via` appears in `hops` in order (other hops may come between). */
export function passesInOrder(hops: string[], via: string[]): boolean {
  let i = 0;
  for (const h of hops) if (h === via[i]) i++;
  return i === via.length;
}

export function pathCheck(id: string, from: string, to: { ip: string; shown: string }, via: string[], view: LabView, show: Show): Prepared {
  const F = show(from);
  const shownVia = via.map(show);
  return {
    id,
    check: 'path',
    target: `${F} -> ${to.shown}`,
    async run(probe) {
      const expected = `via ${shownVia.join(', ')}`;
      const r = await probe.exec(from, ['traceroute', '-I', '-n', '-q', '1', '-w', '1', '-m', '16', to.ip], 25);
      if (!r)
        return {
          ok: false,
          expected,
          observed: `${F} is not running`,
          detail: `${F}'s container does not run: start it (or fault_list: a node_pause?)`,
        };
      const hops = parseTraceroute(r.stdout);
      if (!hops.length) {
        const why = (r.stderr || r.stdout).trim().split('\n')[0]?.slice(0, 200) ?? '';
        return { ok: false, expected, observed: `traceroute failed: ${why}`, detail: `traceroute could not run in ${F}: ${why}` };
      }
      const names = hops.map((ip) => {
        const owner = view.owner.get(ip);
        return owner ? show(owner) : ip;
      });
      const reached = hops[hops.length - 1] === to.ip;
      const observed = `${[F, ...names].join(' -> ')}${reached ? '' : ' (destination not reached)'}`;
      const inOrder = passesInOrder(names, shownVia);
      if (reached && inOrder) return { ok: true, expected, observed, detail: '' };
      const detail = !reached
        ? `the traffic from ${F} does not reach ${to.shown}; it stops after ${names.filter((n) => n !== '*').pop() ?? F}`
        : `the traffic from ${F} to ${to.shown} does not pass ${shownVia.join(', ')} in this order`;
      return { ok: false, expected, observed, detail };
    },
  };
}

export function nodeCheck(id: string, node: string, role: 'daemon' | 'host', show: Show): Prepared {
  const N = show(node);
  return {
    id,
    check: 'node',
    target: N,
    async run(probe) {
      const expected = role === 'daemon' ? 'running, BGP daemon answering' : 'running';
      const state = await probe.container(node);
      if (state !== 'running') {
        const why =
          state === 'paused'
            ? 'it is paused (fault_list; fault_clear resumes it)'
            : state === 'missing'
              ? 'its container is gone: topology_standup or sync_run brings it back'
              : `its container is ${state}`;
        return { ok: false, expected, observed: state, detail: `${N} is not running: ${why}` };
      }
      if (role === 'daemon' && !(await probe.neighbors(node))) {
        return {
          ok: false,
          expected,
          observed: 'running, BGP daemon not answering',
          detail: `the BGP daemon of ${N} does not answer (killed? fault_list); daemon_status ${N} says more`,
        };
      }
      return { ok: true, expected, observed: role === 'daemon' ? 'running, BGP daemon answering' : 'running', detail: '' };
    },
  };
}

export function tunnelCheck(id: string, container: string, name: string): Prepared {
  return {
    id,
    check: 'tunnel',
    target: name,
    async run(probe) {
      const state = await probe.tunnel(container, name);
      return state === 'up'
        ? { ok: true, expected: 'up', observed: 'up', detail: '' }
        : {
            ok: false,
            expected: 'up',
            observed: state,
            detail: `tunnel ${name} is ${state}: tunnel_diagnose ${container} ${name} tells why, tunnel_fix repairs it`,
          };
    },
  };
}
