/**
 * containerlab links, in both forms: `endpoints: ["r1:eth1", "r2:eth1"]` (with `ipv4`/`ipv6`
 * lists for the two ends) and `{type: veth, endpoints: [{node, interface, ipv4?, ipv6?}]}`.
 * Links to the containerlab machine itself (host, mgmt-net, macvlan) and tunnels (vxlan) are left
 * out with a warning.
 */
import { parseCidr } from '../ipam.js';
import { entry, isMap, type RawMap, refuse, str, strList } from './parse.js';

export interface Endpoint {
  node: string;
  iface: string;
  path: string;
  ipv4?: string;
  ipv6?: string;
}

export interface ClabLink {
  /** its place in topology.links */
  index: number;
  path: string;
  a: Endpoint;
  b: Endpoint;
}

const SPECIAL_NODES = new Set(['host', 'mgmt-net', 'macvlan']);
const BRIEF_FIELDS = new Set(['endpoints', 'ipv4', 'ipv6']);
const VETH_FIELDS = new Set(['type', 'endpoints']);
const ENDPOINT_FIELDS = new Set(['node', 'interface', 'ipv4', 'ipv6']);

function checkIp(ep: Endpoint, family: 'ipv4' | 'ipv6', value: string | undefined, path: string): void {
  if (value === undefined || value.trim() === '') return;
  const v = value.trim();
  const ok = family === 'ipv4' ? typeof parseCidr(v) !== 'string' : /^[0-9a-fA-F:.]+\/\d{1,3}$/.test(v) && v.includes(':');
  if (!ok) throw refuse(path, `${value} is not an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address with its prefix length`);
  ep[family] = v;
}

function notHonoured(link: RawMap, known: Set<string>, path: string, warn: (w: string) => void): void {
  for (const f of Object.keys(link))
    if (!known.has(f)) warn(`${path}.${f}: not honoured${f === 'mtu' ? ' (links use the lab network’s MTU)' : ''}`);
}

/** The veth links between two nodes; everything else is a warning. */
export function readLinks(links: unknown[], warn: (w: string) => void): ClabLink[] {
  const out: ClabLink[] = [];
  links.forEach((raw, i) => {
    const path = `topology.links.${i}`;
    if (!isMap(raw)) throw refuse(path, 'must be a mapping with endpoints');
    const type = str(entry(raw, 'type'), `${path}.type`)?.trim().toLowerCase();
    const rawEps = entry(raw, 'endpoints');
    if (type === undefined || type === '') {
      const eps = strList(rawEps, `${path}.endpoints`);
      if (eps.length !== 2) throw refuse(`${path}.endpoints`, `a link has exactly 2 endpoints (${eps.length} given)`);
      const ends = eps.map((e, k): Endpoint => {
        const colon = e.indexOf(':');
        if (colon <= 0) throw refuse(`${path}.endpoints.${k}`, `"${e}" is not <node>:<interface>`);
        return { node: e.slice(0, colon), iface: e.slice(colon + 1), path: `${path}.endpoints.${k}` };
      });
      const special = ends.find((e) => SPECIAL_NODES.has(e.node));
      if (special) {
        warn(`${path}: left out: a link to ${special.node} (the containerlab machine's own network) is not made here`);
        return;
      }
      for (const family of ['ipv4', 'ipv6'] as const) {
        const ips = strList(entry(raw, family), `${path}.${family}`);
        if (ips.length > 2) throw refuse(`${path}.${family}`, 'give at most one address per endpoint');
        ips.forEach((ip, k) => {
          checkIp(ends[k] as Endpoint, family, ip, `${path}.${family}.${k}`);
        });
      }
      notHonoured(raw, BRIEF_FIELDS, path, warn);
      out.push({ index: i, path, a: ends[0] as Endpoint, b: ends[1] as Endpoint });
      return;
    }
    if (type !== 'veth') {
      warn(`${path}: left out: links of type ${type} are not made here (only veth links between nodes)`);
      return;
    }
    if (!Array.isArray(rawEps) || rawEps.length !== 2) throw refuse(`${path}.endpoints`, 'a veth link has exactly 2 endpoints');
    const ends = rawEps.map((e, k): Endpoint => {
      const p = `${path}.endpoints.${k}`;
      if (!isMap(e)) throw refuse(p, 'must be a mapping with node and interface');
      const node = str(entry(e, 'node'), `${p}.node`);
      const iface = str(entry(e, 'interface'), `${p}.interface`);
      if (!node) throw refuse(`${p}.node`, 'is required');
      if (!iface) throw refuse(`${p}.interface`, 'is required');
      const ep: Endpoint = { node, iface, path: p };
      checkIp(ep, 'ipv4', str(entry(e, 'ipv4'), `${p}.ipv4`), `${p}.ipv4`);
      checkIp(ep, 'ipv6', str(entry(e, 'ipv6'), `${p}.ipv6`), `${p}.ipv6`);
      notHonoured(e, ENDPOINT_FIELDS, p, warn);
      return ep;
    });
    notHonoured(raw, VETH_FIELDS, path, warn);
    out.push({ index: i, path, a: ends[0] as Endpoint, b: ends[1] as Endpoint });
  });
  return out;
}

/** The exec lines that put a link end's addresses on its interface, as containerlab does when it makes the link. */
export function addressLines(ep: Endpoint, iface: string): string[] {
  const lines: string[] = [];
  if (ep.ipv4) lines.push(`ip addr add ${ep.ipv4} dev ${iface}`);
  if (ep.ipv6) lines.push(`ip -6 addr add ${ep.ipv6} dev ${iface}`);
  return lines;
}
