/**
 * tunnel_state, tunnel_diagnose and tunnel_fix: what the kernel has against what was saved, named
 * checks with a hint each, and in-place repair of what the checks found (never of an interface
 * the lab did not make).
 */
import { LabError } from '../errors.js';
import type { TunnelRecord } from '../store/schema.js';
import { compareLink, describeMismatch, isUnsupportedKernelError, type Mismatch } from './inspect.js';
import { endsOf, overhead } from './render.js';
import type { EndObservation, Tunnels } from './service.js';

export interface EndState {
  container: string;
  container_state: 'running' | 'not_running';
  /** present: the lab's interface is there; missing; foreign: an interface of that name the lab did not make */
  interface: 'present' | 'missing' | 'foreign' | 'unknown';
  up?: boolean;
  oper_state?: string;
  mtu?: number;
  addresses?: string[];
  underlay_interface?: string;
  mismatches: string[];
}

export interface TunnelState {
  name: string;
  mode: string;
  /** up: every end present, up and as saved; degraded: something differs; down: no end works */
  state: 'up' | 'degraded' | 'down';
  ends: EndState[];
  remote_ip?: string;
}

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

export interface FixAction {
  container: string;
  action: string;
  ok: boolean;
  detail?: string;
}

function endState(o: EndObservation): EndState {
  if (!o.running) return { container: o.end.container, container_state: 'not_running', interface: 'unknown', mismatches: [] };
  const base = {
    container: o.end.container,
    container_state: 'running' as const,
    ...(o.underlayIf ? { underlay_interface: o.underlayIf.ifname } : {}),
  };
  if (!o.link) return { ...base, interface: 'missing', mismatches: [] };
  const mismatches = compareLink(o.end, o.link).map(describeMismatch);
  if (!o.addresses.includes(o.end.address)) mismatches.push(`inner address ${o.end.address} missing`);
  if (!o.link.up) mismatches.push('interface is down');
  return {
    ...base,
    interface: o.link.ours ? 'present' : 'foreign',
    up: o.link.up,
    oper_state: o.link.operstate,
    mtu: o.link.mtu,
    addresses: o.addresses,
    mismatches,
  };
}

const healthyEnd = (e: EndState) => e.interface === 'present' && e.mismatches.length === 0;

export class TunnelDoctor {
  /** readOnly: never probe the kernel by making (and removing) an interface. */
  constructor(
    private readonly tunnels: Tunnels,
    private readonly readOnly = false,
  ) {}

  #observeAll(t: TunnelRecord): Promise<EndObservation[]> {
    return Promise.all(endsOf(t).map((e) => this.tunnels.observe(e)));
  }

  async state(container: string, name: string): Promise<TunnelState> {
    await this.tunnels.engine.ready();
    const t = await this.tunnels.get(container, name);
    const ends = (await this.#observeAll(t)).map(endState);
    const ok = ends.filter(healthyEnd).length;
    return {
      name,
      mode: t.mode,
      state: ok === ends.length ? 'up' : ok === 0 && ends.every((e) => e.interface !== 'present') ? 'down' : 'degraded',
      ends,
      ...('remote_ip' in t.b ? { remote_ip: t.b.remote_ip } : {}),
    };
  }

  async diagnose(container: string, name: string): Promise<Diagnosis> {
    await this.tunnels.engine.ready();
    const t = await this.tunnels.get(container, name);
    return this.#diagnose(t, await this.#observeAll(t));
  }

  async #diagnose(t: TunnelRecord, obs: EndObservation[]): Promise<Diagnosis> {
    const checks: Check[] = [];
    const add = (c: Check) => checks.push(c);
    for (const o of obs) {
      const c = o.end.container;
      add({
        check: 'container_running',
        container: c,
        result: o.running ? 'pass' : 'fail',
        severity: 'error',
        detail: o.running ? `${c} runs` : `${c} is ${o.info ? 'not running' : 'missing'}`,
        ...(o.running ? {} : { hint: 'start it (daemon_start / host_start); its tunnels come back with it' }),
      });
    }
    // Kernel support: proven by an interface of that kind; otherwise asked of the kernel.
    const proven = obs.some((o) => o.link?.kind === t.mode);
    const probeOn = obs.find((o) => o.running);
    if (!proven && probeOn && this.readOnly) {
      add({
        check: 'kernel_support',
        result: 'skip',
        severity: 'error',
        detail: 'not probed: the server is read-only and no interface of this kind exists to prove it',
      });
    } else if (!proven && probeOn) {
      const why = await this.#probe(probeOn, t.mode);
      add({
        check: 'kernel_support',
        result: why ? 'fail' : 'pass',
        severity: 'error',
        detail: why ? `the kernel cannot make ${t.mode} interfaces: ${why}` : `the kernel makes ${t.mode} interfaces`,
        ...(why
          ? { hint: t.mode === 'gre' ? 'this host lacks ip_gre: recreate the tunnel with mode vxlan' : 'load the vxlan module on the host' }
          : {}),
      });
    } else
      add({
        check: 'kernel_support',
        result: proven ? 'pass' : 'skip',
        severity: 'error',
        detail: proven ? `a ${t.mode} interface exists` : 'no running end to ask',
      });

    for (const o of obs) {
      if (!o.running) continue;
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
      if (!l?.ours) continue;
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
    }
    // Both ends probe at once: a failing ping costs its timeout once, not per end.
    checks.push(...(await Promise.all(obs.filter((o) => o.running).map((o) => this.#reach(o)))).flat());
    if (obs.length === 2) {
      const [x, y] = obs;
      if (x?.link?.ours && y?.link?.ours) {
        const same = x.link.mtu === y.link.mtu;
        add({
          check: 'mtu_agree',
          result: same ? 'pass' : 'fail',
          severity: 'warning',
          detail: same
            ? `both ends use mtu ${x.link.mtu}`
            : `${x.end.container} has mtu ${x.link.mtu}, ${y.end.container} has ${y.link.mtu}`,
          ...(same ? {} : { hint: 'tunnel_fix sets the saved MTU on both ends' }),
        });
      }
    }
    // Two lab ends: healthy only when traffic actually crosses. An outside far end cannot be pinged inside.
    const crossed = 'remote_ip' in t.b || checks.some((c) => c.check === 'inner_ping' && c.result === 'pass');
    const healthy = crossed && checks.every((c) => c.result !== 'fail' || c.severity !== 'error');
    return { name: t.name, healthy, checks };
  }

  /** Underlay route and ping to the far end, and a ping of the far inner address. */
  async #reach(o: EndObservation): Promise<Check[]> {
    const out: Check[] = [];
    const c = o.end.container;
    const info = o.info;
    if (!info) return out;
    const exec = (command: string[]) => this.tunnels.execIn(info, c, { command, timeoutS: 10 });
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

  async #probe(o: EndObservation, mode: TunnelRecord['mode']): Promise<string | undefined> {
    const info = o.info;
    if (!info) return undefined;
    const probe = `nslprobe${process.pid % 10000}`;
    const args =
      mode === 'vxlan'
        ? ['type', 'vxlan', 'id', '1', 'dstport', '4789', 'local', o.end.local]
        : ['type', 'gre', 'remote', o.end.remote, 'local', o.end.local];
    const r = await this.tunnels.execIn(info, o.end.container, {
      command: ['ip', 'link', 'add', 'name', probe, ...args],
      timeoutS: 10,
    });
    if (r.exit_code === 0) {
      await this.tunnels.execIn(info, o.end.container, { command: ['ip', 'link', 'del', 'dev', probe], timeoutS: 10 });
      return undefined;
    }
    const said = (r.stderr || r.stdout).trim();
    return isUnsupportedKernelError(said) ? said : undefined;
  }

  async fix(
    container: string,
    name: string,
  ): Promise<{ name: string; healthy: boolean; actions: FixAction[]; before: Diagnosis; after: Diagnosis }> {
    await this.tunnels.engine.ready();
    const t = await this.tunnels.get(container, name);
    const obs = await this.#observeAll(t);
    const before = await this.#diagnose(t, obs);
    const actions: FixAction[] = [];
    for (const o of obs) actions.push(...(await this.#repair(o)));
    // Neighbours learn the recreated interface's new MAC from its first packets.
    const after = await this.#diagnose(t, await this.#observeAll(t));
    return { name, healthy: after.healthy, actions, before, after };
  }

  async #repair(o: EndObservation): Promise<FixAction[]> {
    const c = o.end.container;
    const e = o.end;
    if (!o.running || !o.info)
      return [
        {
          container: c,
          action: 'none',
          ok: false,
          detail: `${c} is not running; start it (daemon_start / host_start) and its tunnels come back`,
        },
      ];
    const info = o.info;
    if (o.link && !o.link.ours)
      return [
        {
          container: c,
          action: 'refused',
          ok: false,
          detail: `the interface ${e.name} in ${c} was not created by netstream-lab; it was left alone`,
        },
      ];
    const mism: Mismatch[] = o.link ? compareLink(e, o.link) : [];
    if (!o.link || mism.some((m) => m.recreate)) {
      const why = o.link
        ? mism
            .filter((m) => m.recreate)
            .map(describeMismatch)
            .join('; ')
        : 'the interface was missing';
      try {
        await this.tunnels.bringUp(info, e, 'fix');
        return [{ container: c, action: 'recreate', ok: true, detail: `recreated ${e.name} (${why})` }];
      } catch (err) {
        return [{ container: c, action: 'recreate', ok: false, detail: err instanceof LabError ? err.message : String(err) }];
      }
    }
    const steps: Array<{ action: string; args: string[]; detail: string }> = [];
    if (mism.some((m) => m.field === 'mtu'))
      steps.push({ action: 'set_mtu', args: ['link', 'set', 'dev', e.name, 'mtu', String(e.mtu)], detail: `mtu ${e.mtu}` });
    if (!o.addresses.includes(e.address))
      steps.push({ action: 'restore_address', args: ['addr', 'replace', e.address, 'dev', e.name], detail: `address ${e.address}` });
    if (!o.link.up) steps.push({ action: 'set_up', args: ['link', 'set', 'dev', e.name, 'up'], detail: `${e.name} up` });
    const out: FixAction[] = [];
    for (const s of steps) {
      const r = await this.tunnels.execIn(info, c, { command: ['ip', ...s.args], timeoutS: 10 });
      out.push({
        container: c,
        action: s.action,
        ok: r.exit_code === 0,
        detail: r.exit_code === 0 ? s.detail : (r.stderr || r.stdout).trim(),
      });
    }
    return out;
  }
}
