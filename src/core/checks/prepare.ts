/**
 * From checks as written (a file's `expect:`, lab_check's `checks`, a scenario's verify step) to
 * checks ready to run: node names mapped to containers, targets to addresses, the session's
 * addresses found in the routers' records. A name that is not in the lab, a host where a router
 * is needed, or an address outside the lab's own networks is an input error naming its field.
 */

import type { FieldIssue } from '../errors.js';
import { isIpv4 } from '../ipam.js';
import type { StoreState } from '../store/schema.js';
import { invalidInput } from '../validation.js';
import { nodeCheck, type Prepared, pathCheck, pingCheck, routeCheck, type Show, sessionCheck, tunnelCheck } from './evaluate.js';
import { insideLab, type LabView, labView } from './lab-view.js';
import type { Check } from './spec.js';

export interface Naming {
  /** the container a name in the checks stands for (a topology's key r1 -> lab-r1) */
  full: (name: string) => string;
  show: Show;
}

export const containerNaming: Naming = { full: (n) => n, show: (n) => n };

export function topologyNaming(topology: string): Naming {
  const prefix = `${topology}-`;
  return { full: (n) => `${prefix}${n}`, show: (n) => (n.startsWith(prefix) ? n.slice(prefix.length) : n) };
}

/** a's configured neighbor address that is one of b's addresses. */
function peerAddress(state: StoreState, view: LabView, a: string, b: string): string | undefined {
  const mine = state.daemons[a]?.neighbors ?? [];
  const theirs = new Set(view.nodes.get(b)?.addresses ?? []);
  return mine.find((n) => theirs.has(n.address))?.address;
}

export function prepareChecks(checks: Check[], state: StoreState, naming: Naming, field: string, idPrefix: string): Prepared[] {
  const view = labView(state);
  const issues: FieldIssue[] = [];
  const out: Prepared[] = [];
  const ids = new Set<string>();
  for (const [i, c] of checks.entries()) {
    const at = `${field}.${i}`;
    const bad = (f: string, message: string) => issues.push({ path: `${at}.${f}`, message });
    const node = (f: string, name: string, role?: 'daemon'): string | undefined => {
      const full = naming.full(name);
      const n = view.nodes.get(full);
      if (!n) return void bad(f, `no node '${name}' in the lab${naming.full('x') !== 'x' ? ' (name a node of the file by its key)' : ''}`);
      if (role === 'daemon' && n.role !== 'daemon') return void bad(f, `'${name}' is a host; only routers have BGP sessions and routes`);
      return full;
    };
    const target = (f: string, to: string): { ip: string; shown: string } | undefined => {
      if (isIpv4(to)) {
        if (!insideLab(view, to)) {
          return void bad(f, `${to} is outside the lab's networks; checks send traffic only to the lab's own addresses`);
        }
        const owner = view.owner.get(to);
        return { ip: to, shown: owner ? naming.show(owner) : to };
      }
      const full = node(f, to);
      const ip = full ? view.nodes.get(full)?.primary : undefined;
      if (full && !ip) return void bad(f, `'${to}' has no address to send to`);
      return full && ip ? { ip, shown: to } : undefined;
    };
    const id = c.id ?? `${idPrefix}${i}`;
    if (ids.has(id)) bad('id', `'${id}' names two checks`);
    ids.add(id);
    switch (c.check) {
      case 'session': {
        const a = node('a', c.a, 'daemon');
        const b = node('b', c.b, 'daemon');
        if (a && a === b) bad('b', 'a router has no session with itself');
        if (a && b && a !== b) {
          const addrs = { ab: peerAddress(state, view, a, b), ba: peerAddress(state, view, b, a) };
          out.push(sessionCheck(id, a, b, addrs, c.state ?? 'Established', naming.show));
        }
        break;
      }
      case 'route': {
        const n = node('node', c.node, 'daemon');
        let hop: { shown: string; addresses: string[] } | undefined;
        if (c.next_hop !== undefined) {
          if (isIpv4(c.next_hop)) hop = { shown: c.next_hop, addresses: [c.next_hop] };
          else {
            const h = node('next_hop', c.next_hop);
            if (h) hop = { shown: c.next_hop, addresses: view.nodes.get(h)?.addresses ?? [] };
          }
        }
        if (n) out.push(routeCheck(id, n, c, hop, naming.show));
        break;
      }
      case 'ping': {
        const from = node('from', c.from);
        const to = target('to', c.to);
        if (from && to) out.push(pingCheck(id, from, to, c, naming.show));
        break;
      }
      case 'path': {
        const from = node('from', c.from);
        const to = target('to', c.to);
        const via = c.via.map((v, j) => node(`via.${j}`, v));
        if (from && to && via.every(Boolean)) out.push(pathCheck(id, from, to, via as string[], view, naming.show));
        break;
      }
    }
  }
  if (issues.length) throw invalidInput('checks', issues);
  return out;
}

/** The checks every deployed topology gets unless turned off: sessions up, nodes running, tunnels up. */
export function implicitChecks(
  desired: {
    nodes: Array<{ name: string; role: 'daemon' | 'host' }>;
    sessions: Array<{ a: string; b: string; a_ip: string; b_ip: string }>;
    tunnels: Array<{ name: string; a: { container: string } }>;
  },
  naming: Naming,
): Prepared[] {
  const s = naming.show;
  return [
    ...desired.nodes.map((n) => nodeCheck(`node:${s(n.name)}`, n.name, n.role, s)),
    ...desired.sessions.map((x) => sessionCheck(`session:${s(x.a)}~${s(x.b)}`, x.a, x.b, { ab: x.b_ip, ba: x.a_ip }, 'Established', s)),
    ...desired.tunnels.map((t) => tunnelCheck(`tunnel:${t.name}`, t.a.container, t.name)),
  ];
}
