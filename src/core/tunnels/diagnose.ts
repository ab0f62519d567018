/**
 * tunnel_state, tunnel_diagnose and tunnel_fix: what the kernel has against what was saved, named
 * checks with a hint each (./checks.ts), and in-place repair of what the checks found (./fix.ts;
 * never of an interface the lab did not make).
 */
import type { TunnelRecord } from '../store/schema.js';
import { type Diagnosis, diagnoseTunnel } from './checks.js';
import { type FixAction, repairEnd } from './fix.js';
import { compareLink, describeMismatch } from './inspect.js';
import { endsOf } from './render.js';
import type { EndObservation, Tunnels } from './service.js';

export type { Check, Diagnosis } from './checks.js';
export type { FixAction } from './fix.js';

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

  #diagnose(t: TunnelRecord, obs: EndObservation[]): Promise<Diagnosis> {
    return diagnoseTunnel(this.tunnels, this.readOnly, t, obs);
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

  async fix(
    container: string,
    name: string,
  ): Promise<{ name: string; healthy: boolean; actions: FixAction[]; before: Diagnosis; after: Diagnosis }> {
    await this.tunnels.engine.ready();
    const t = await this.tunnels.get(container, name);
    const obs = await this.#observeAll(t);
    const before = await this.#diagnose(t, obs);
    const actions: FixAction[] = [];
    for (const o of obs) actions.push(...(await repairEnd(this.tunnels, o)));
    // Neighbours learn the recreated interface's new MAC from its first packets.
    const after = await this.#diagnose(t, await this.#observeAll(t));
    return { name, healthy: after.healthy, actions, before, after };
  }
}
