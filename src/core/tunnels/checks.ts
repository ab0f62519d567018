/**
 * tunnel_diagnose's named checks, each with a hint: the ends' containers, kernel support, each
 * end's interface against what was saved, the underlay and the tunnel's reach, and MTU agreement.
 */
import type { TunnelRecord } from '../store/schema.js';
import { compareLink, describeMismatch, isUnsupportedKernelError } from './inspect.js';
import { overhead } from './render.js';
import type { EndObservation, Tunnels } from './service.js';

export interface Check {
  check: string;
  container?: string;
  result: 'pass' | 'fail' | 'skip';
  severity: 'error' | 'warning';
  detail: string;
  hint?: string;
}

export interface Diagnosis {
  name: string;
  healthy: boolean;
  checks: Check[];
}

/** The checks of one tunnel from what was observed at its ends; readOnly: never probe the kernel. */
export async function diagnoseTunnel(tunnels: Tunnels, readOnly: boolean, t: TunnelRecord, obs: EndObservation[]): Promise<Diagnosis> {
  const checks: Check[] = [];
  for (const o of obs) checks.push(runningCheck(o));
  checks.push(await kernelCheck(tunnels, readOnly, t, obs));
  for (const o of obs) if (o.running) checks.push(...interfaceChecks(t, o));
  // Both ends probe at once: a failing ping costs its timeout once, not per end.
  checks.push(...(await Promise.all(obs.filter((o) => o.running).map((o) => reachChecks(tunnels, o)))).flat());
  const agree = mtuAgreeCheck(obs);
  if (agree) checks.push(agree);
  // Two lab ends: healthy only when traffic actually crosses. An outside far end cannot be pinged inside.
  const crossed = 'remote_ip' in t.b || checks.some((c) => c.check === 'inner_ping' && c.result === 'pass');
  const healthy = crossed && checks.every((c) => c.result !== 'fail' || c.severity !== 'error');
  return { name: t.name, healthy, checks };
}

function runningCheck(o: EndObservation): Check {
  const c = o.end.container;
  return {
    check: 'container_running',
    container: c,
    result: o.running ? 'pass' : 'fail',
    severity: 'error',
    detail: o.running ? `${c} runs` : `${c} is ${o.info ? 'not running' : 'missing'}`,
    ...(o.running ? {} : { hint: 'start it (daemon_start / host_start); its tunnels come back with it' }),
  };
}

/** Kernel support: proven by an interface of that kind; otherwise asked of the kernel. */
async function kernelCheck(tunnels: Tunnels, readOnly: boolean, t: TunnelRecord, obs: EndObservation[]): Promise<Check> {
  const proven = obs.some((o) => o.link?.kind === t.mode);
  const probeOn = obs.find((o) => o.running);
  if (!proven && probeOn && readOnly) {
    return {
      check: 'kernel_support',
      result: 'skip',
      severity: 'error',
      detail: 'not probed: the server is read-only and no interface of this kind exists to prove it',
    };
  }
  if (!proven && probeOn) {
    const why = await probe(tunnels, probeOn, t.mode);
    return {
      check: 'kernel_support',
      result: why ? 'fail' : 'pass',
      severity: 'error',
      detail: why ? `the kernel cannot make ${t.mode} interfaces: ${why}` : `the kernel makes ${t.mode} interfaces`,
      ...(why
        ? { hint: t.mode === 'gre' ? 'this host lacks ip_gre: recreate the tunnel with mode vxlan' : 'load the vxlan module on the host' }
        : {}),
    };
  }
  return {
    check: 'kernel_support',
    result: proven ? 'pass' : 'skip',
    severity: 'error',
    detail: proven ? `a ${t.mode} interface exists` : 'no running end to ask',
  };
}

/** One running end's interface: there and the lab's, up, its parameters, MTU, inner address, and room in the underlay. */
function interfaceChecks(t: TunnelRecord, o: EndObservation): Check[] {
  const out: Check[] = [];
  const add = (c: Check) => out.push(c);
  const c = o.end.container;
  const l = o.link;
  add({
    check: 'interface_present',
    container: c,
    result: l?.ours ? 'pass' : 'fail',
    severity: 'error',
    detail: !l
      ? `no interface ${t.name} in ${c}`
      : l.ours
        ? `${t.name} exists`
        : `${c} has an interface named ${t.name} that netstream-lab did not create`,
    ...(!l
      ? { hint: 'tunnel_fix recreates it' }
      : l.ours
        ? {}
        : { hint: 'remove or rename that interface yourself; the lab never touches it' }),
  });
  if (!l?.ours) return out;
  add({
    check: 'interface_up',
    container: c,
    result: l.up ? 'pass' : 'fail',
    severity: 'error',
    detail: `${t.name} is ${l.up ? 'up' : 'down'} (operstate ${l.operstate})`,
    ...(l.up ? {} : { hint: 'tunnel_fix sets it up' }),
  });
  const mism = compareLink(o.end, l);
  const params = mism.filter((m) => m.field !== 'mtu');
  add({
    check: 'parameters',
    container: c,
    result: params.length ? 'fail' : 'pass',
    severity: 'error',
    detail: params.length
      ? params.map(describeMismatch).join('; ')
      : `${t.mode} ${o.end.local} -> ${o.end.remote}${o.end.key !== undefined ? ` key ${o.end.key}` : ''} ttl ${o.end.ttl}`,
    ...(params.length ? { hint: 'tunnel_fix recreates the interface with the saved parameters' } : {}),
  });
  const mtu = mism.find((m) => m.field === 'mtu');
  add({
    check: 'mtu',
    container: c,
    result: mtu ? 'fail' : 'pass',
    severity: 'warning',
    detail: mtu ? describeMismatch(mtu) : `mtu ${l.mtu}`,
    ...(mtu ? { hint: 'tunnel_fix sets the saved MTU' } : {}),
  });
  const has = o.addresses.includes(o.end.address);
  add({
    check: 'inner_address',
    container: c,
    result: has ? 'pass' : 'fail',
    severity: 'error',
    detail: has ? `${o.end.address} on ${t.name}` : `${o.end.address} is not on ${t.name} (found ${o.addresses.join(', ') || 'none'})`,
    ...(has ? {} : { hint: 'tunnel_fix restores it' }),
  });
  if (o.underlayIf && o.underlayIf.mtu < l.mtu + overhead(o.end.mode, o.end.key)) {
    add({
      check: 'mtu_fits_underlay',
      container: c,
      result: 'fail',
      severity: 'warning',
      detail: `tunnel MTU ${l.mtu} plus ${o.end.mode} overhead exceeds the underlay MTU ${o.underlayIf.mtu}: large packets are dropped`,
      hint: 'recreate the tunnel with a smaller mtu',
    });
  }
  return out;
}

/** Underlay route and ping to the far end, and a ping of the far inner address. */
async function reachChecks(tunnels: Tunnels, o: EndObservation): Promise<Check[]> {
  const out: Check[] = [];
  const c = o.end.container;
  const info = o.info;
  if (!info) return out;
  const exec = (command: string[]) => tunnels.execIn(info, c, { command, timeoutS: 10 });
  const far = o.end.peerAddress?.split('/')[0];
  const [route, ping, inner] = await Promise.all([
    exec(['ip', '-j', 'route', 'get', o.end.remote]),
    exec(['ping', '-c', '2', '-i', '0.2', '-W', '1', '-q', o.end.remote]),
    far ? exec(['ping', '-c', '3', '-i', '0.2', '-W', '1', '-q', far]) : Promise.resolve(undefined),
  ]);
  let dev = '';
  try {
    dev = (JSON.parse(route.stdout) as Array<{ dev?: string }>)[0]?.dev ?? '';
  } catch {
    dev = '';
  }
  const routed = route.exit_code === 0 && dev !== '' && dev !== o.end.name;
  out.push({
    check: 'underlay_route',
    container: c,
    result: routed ? 'pass' : 'fail',
    severity: 'error',
    detail: routed
      ? `${o.end.remote} via ${dev}`
      : `no route to ${o.end.remote} outside the tunnel${dev === o.end.name ? ' (it points into the tunnel itself)' : ''}`,
    ...(routed ? {} : { hint: 'check the underlay network (network_get) and that both ends are on it' }),
  });
  out.push({
    check: 'underlay_ping',
    container: c,
    result: ping.exit_code === 0 ? 'pass' : 'fail',
    severity: 'error',
    detail: ping.exit_code === 0 ? `${o.end.remote} answers` : `${o.end.remote} does not answer ping`,
    ...(ping.exit_code === 0 ? {} : { hint: 'the far end or the underlay network is down; tunnel_fix cannot repair that' }),
  });
  if (far && inner) {
    const p = inner;
    out.push({
      check: 'inner_ping',
      container: c,
      result: p.exit_code === 0 ? 'pass' : 'fail',
      severity: 'error',
      detail: p.exit_code === 0 ? `${far} answers through the tunnel` : `${far} does not answer through the tunnel`,
      ...(p.exit_code === 0 ? {} : { hint: 'see the checks above; tunnel_fix repairs the interfaces at both ends' }),
    });
  }
  return out;
}

/** Two lab ends whose interfaces are both there: the same MTU at each. */
function mtuAgreeCheck(obs: EndObservation[]): Check | undefined {
  if (obs.length !== 2) return undefined;
  const [x, y] = obs;
  if (!x?.link?.ours || !y?.link?.ours) return undefined;
  const same = x.link.mtu === y.link.mtu;
  return {
    check: 'mtu_agree',
    result: same ? 'pass' : 'fail',
    severity: 'warning',
    detail: same ? `both ends use mtu ${x.link.mtu}` : `${x.end.container} has mtu ${x.link.mtu}, ${y.end.container} has ${y.link.mtu}`,
    ...(same ? {} : { hint: 'tunnel_fix sets the saved MTU on both ends' }),
  };
}

/** Ask the kernel for an interface of that kind by making (and removing) one: why it cannot, or undefined. */
async function probe(tunnels: Tunnels, o: EndObservation, mode: TunnelRecord['mode']): Promise<string | undefined> {
  const info = o.info;
  if (!info) return undefined;
  const name = `nslprobe${process.pid % 10000}`;
  const args =
    mode === 'vxlan'
      ? ['type', 'vxlan', 'id', '1', 'dstport', '4789', 'local', o.end.local]
      : ['type', 'gre', 'remote', o.end.remote, 'local', o.end.local];
  const r = await tunnels.execIn(info, o.end.container, {
    command: ['ip', 'link', 'add', 'name', name, ...args],
    timeoutS: 10,
  });
  if (r.exit_code === 0) {
    await tunnels.execIn(info, o.end.container, { command: ['ip', 'link', 'del', 'dev', name], timeoutS: 10 });
    return undefined;
  }
  const said = (r.stderr || r.stdout).trim();
  return isUnsupportedKernelError(said) ? said : undefined;
}
