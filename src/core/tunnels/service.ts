/**
 * Tunnels between lab containers (or from one to an outside address): saved in the store, written
 * into each end as an `ip -batch` file that its entrypoint replays at every start, and made live
 * at once by running that file. Only interfaces carrying the lab's ifalias are ever changed.
 */
import type { ContainerInfo, DockerEngine } from '../docker/engine.js';
import type { ExecOptions, ExecResult } from '../docker/exec.js';
import type { Placement } from '../engines/placement.js';
import { conflict, invalid, LabError, notFound } from '../errors.js';
import { innerAddressProblem, parseCidr, type Subnet } from '../ipam.js';
import { undo, withLeftovers } from '../rollback.js';
import type { StoreState, TunnelMode, TunnelRecord } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { interfaceWith, isUnsupportedKernelError, type LinkObservation, parseAddrs, parseLinks } from './inspect.js';
import { checkTunnelName } from './names.js';
import { DEFAULT_TTL, endIn, endsOf, overhead, renderBatch, type TunnelEnd, tunnelFile } from './render.js';

export interface TunnelCreateInput {
  name: string;
  a: { container: string; tunnel_ip: string };
  b: { container: string; tunnel_ip: string } | { remote_ip: string };
  underlay?: string | undefined;
  mode?: TunnelMode | undefined;
  key?: number | undefined;
  ttl?: number | undefined;
  mtu?: number | undefined;
  topology?: string | undefined;
}

/** What one end looks like right now. */
export interface EndObservation {
  end: TunnelEnd;
  info?: ContainerInfo | undefined;
  running: boolean;
  link?: LinkObservation | undefined;
  addresses: string[];
  underlayIf?: { ifname: string; mtu: number } | undefined;
}

export { checkTunnelName };

const nodeOf = (s: StoreState, name: string) => s.daemons[name] ?? s.hosts[name];

export class Tunnels {
  constructor(
    readonly placement: Placement,
    readonly store: Store,
    /** after a tunnel is made or removed: a daemon at either end re-reads its BGP files (its connected subnets changed) */
    private readonly onChange?: (containers: string[]) => Promise<void>,
  ) {}

  /** The default engine (where the store's id is read from). */
  get engine(): DockerEngine {
    return this.placement.default;
  }

  /** The engine a lab container runs on, from its record (the default for one the store does not hold). */
  async engineOf(container: string): Promise<DockerEngine> {
    return this.placement.node(nodeOf(await this.store.read(), container) ?? {});
  }

  /** Run a command in a container, on its own engine. */
  async execIn(info: ContainerInfo, container: string, opts: ExecOptions): Promise<ExecResult> {
    return (await this.engineOf(container)).exec(info, container, opts);
  }

  async list(container?: string): Promise<TunnelRecord[]> {
    const s = await this.store.read();
    return Object.values(s.tunnels)
      .filter((t) => !container || endsOf(t).some((e) => e.container === container))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The tunnel `name` with an end in `container`; NOT_FOUND otherwise. */
  async get(container: string, name: string): Promise<TunnelRecord> {
    const t = (await this.store.read()).tunnels[name];
    if (!t || !endIn(t, container)) {
      throw notFound(
        'tunnel',
        `${container}/${name}`,
        t
          ? `tunnel '${name}' ends in ${endsOf(t)
              .map((e) => e.container)
              .join(' and ')}`
          : undefined,
      );
    }
    return t;
  }

  async create(input: TunnelCreateInput): Promise<TunnelRecord> {
    const nameProblem = checkTunnelName(input.name);
    if (nameProblem) throw invalid('name', nameProblem);
    await this.engine.ready();
    const draft = this.#plan(await this.store.read(), input);
    // Both ends must run: the interface is made now, in their network namespaces.
    const infos = await Promise.all(endsOf(draft).map((e) => this.#running(e.container)));
    const addrs = parseAddrs((await this.#ip(infos[0] as ContainerInfo, draft.a.container, ['-j', 'addr', 'show'])).stdout);
    const underlayMtu = interfaceWith(addrs, draft.a.underlay_ip)?.mtu ?? 1500;
    // What is built is what was saved under the lock (a VNI allocated there, not in the draft).
    const rec = await this.store.update((s) => {
      const again = this.#plan(s, input);
      const r: TunnelRecord = { ...again, mtu: input.mtu ?? underlayMtu - overhead(again.mode, again.key) };
      s.tunnels[r.name] = r;
      return r;
    });
    const made: TunnelEnd[] = [];
    try {
      for (const [i, e] of endsOf(rec).entries()) {
        await this.bringUp(infos[i] as ContainerInfo, e, 'create');
        made.push(e);
      }
    } catch (err) {
      const left = await undo(made.map((e) => [`tunnel ${e.name} in ${e.container}`, () => this.removeEnd(e)]));
      await this.store.update((s) => {
        delete s.tunnels[rec.name];
      });
      throw withLeftovers(err, left);
    }
    await this.onChange?.(endsOf(rec).map((e) => e.container));
    return rec;
  }

  /** Validate the request against the store and return the record it makes (mtu still to fill). */
  #plan(s: StoreState, input: TunnelCreateInput): TunnelRecord {
    if (s.tunnels[input.name]) throw conflict(`tunnel '${input.name}' already exists`, 'pick another name, or tunnel_delete it first');
    const mode = input.mode ?? 'gre';
    const a = nodeOf(s, input.a.container);
    if (!a) throw notFound('container', input.a.container, 'a tunnel joins lab daemons or hosts; list them with daemon_list or host_list');
    const aIp = hostCidr(input.a.tunnel_ip, 'a.tunnel_ip');
    const remote = 'remote_ip' in input.b;
    const b = 'container' in input.b ? nodeOf(s, input.b.container) : undefined;
    if ('container' in input.b) {
      if (!b)
        throw notFound('container', input.b.container, 'a tunnel joins lab daemons or hosts; list them with daemon_list or host_list');
      if (input.b.container === input.a.container) throw invalid('b.container', 'both ends are the same container');
    }
    let underlay = input.underlay;
    if (underlay !== undefined) {
      if (!s.networks[underlay]) throw notFound('network', underlay);
      if (!a.interfaces.some((i) => i.network === underlay)) throw invalid('underlay', `'${a.name}' is not on network '${underlay}'`);
      if (b && !b.interfaces.some((i) => i.network === underlay)) throw invalid('underlay', `'${b.name}' is not on network '${underlay}'`);
    } else {
      underlay = remote ? a.interfaces[0]?.network : a.interfaces.find((i) => b?.interfaces.some((j) => j.network === i.network))?.network;
      if (!underlay)
        throw invalid(
          'b.container',
          `'${a.name}' and '${b?.name}' share no network to carry the tunnel`,
          'connect both to one network (network_connect), or name the underlay',
        );
    }
    const aUnder = a.interfaces.find((i) => i.network === underlay)?.ip as string;
    let bEnd: TunnelRecord['b'];
    if ('container' in input.b && b) {
      const bIp = hostCidr(input.b.tunnel_ip, 'b.tunnel_ip');
      if (bIp.subnet !== aIp.subnet)
        throw invalid('b.tunnel_ip', `${input.b.tunnel_ip} is not in the same subnet as a.tunnel_ip (${aIp.subnet})`);
      if (bIp.ip === aIp.ip) throw invalid('b.tunnel_ip', 'both ends have the same inner address');
      bEnd = {
        container: b.name,
        tunnel_ip: input.b.tunnel_ip,
        underlay_ip: b.interfaces.find((i) => i.network === underlay)?.ip as string,
      };
    } else bEnd = { remote_ip: (input.b as { remote_ip: string }).remote_ip };
    const ends = [a.name, ...(b ? [b.name] : [])];
    for (const [i, n] of ends.entries()) refuseOverlaps(s, n, aIp.subnet, i === 0 ? 'a.tunnel_ip' : 'b.tunnel_ip');
    let key = input.key;
    if (mode === 'vxlan') {
      if (key === 0 || (key ?? 0) > 16_777_215) throw invalid('key', 'a VXLAN VNI is between 1 and 16777215');
      key ??= freeVni(s);
    }
    return {
      name: input.name,
      mode,
      underlay,
      a: { container: a.name, tunnel_ip: input.a.tunnel_ip, underlay_ip: aUnder },
      b: bEnd,
      ...(key !== undefined ? { key } : {}),
      ttl: input.ttl ?? DEFAULT_TTL,
      mtu: input.mtu ?? 0,
      ...(input.topology ? { topology: input.topology } : {}),
      created_at: new Date().toISOString(),
    };
  }

  async #running(container: string): Promise<ContainerInfo> {
    const info = await (await this.engineOf(container)).ownedContainer(container);
    if (!info?.State.Running || info.State.Restarting) {
      throw conflict(`'${container}' is not running`, 'start it first (daemon_start / host_start); its tunnels come up with it');
    }
    return info;
  }

  #ip(info: ContainerInfo, name: string, args: string[]) {
    return this.execIn(info, name, { command: ['ip', ...args], timeoutS: 10 });
  }

  /** Read one end from its container's kernel. */
  async observe(e: TunnelEnd): Promise<EndObservation> {
    const info = await (await this.engineOf(e.container)).ownedContainer(e.container);
    if (!info?.State.Running || info.State.Restarting) return { end: e, info, running: false, addresses: [] };
    const [links, addrs] = await Promise.all([
      this.#ip(info, e.container, ['-d', '-j', 'link', 'show']),
      this.#ip(info, e.container, ['-j', 'addr', 'show']),
    ]);
    const allAddrs = parseAddrs(addrs.stdout);
    const under = interfaceWith(allAddrs, e.local);
    return {
      end: e,
      info,
      running: true,
      link: parseLinks(links.stdout).find((l) => l.ifname === e.name),
      addresses: allAddrs.find((a) => a.ifname === e.name)?.addresses ?? [],
      underlayIf: under ? { ifname: under.ifname, mtu: under.mtu } : undefined,
    };
  }

  /**
   * Make one end from scratch: drop a stale lab interface of that name, write the file the
   * entrypoint replays, run it. A kernel without the tunnel type is an UNSUPPORTED answer.
   */
  async bringUp(info: ContainerInfo, e: TunnelEnd, why: 'create' | 'fix'): Promise<void> {
    const seen = (await this.observe(e)).link;
    if (seen && !seen.ours) {
      throw conflict(
        `'${e.container}' already has an interface named '${e.name}' that netstream-lab did not create`,
        'pick another tunnel name; the lab never touches that interface',
      );
    }
    if (seen) await this.#ip(info, e.container, ['link', 'del', 'dev', e.name]);
    const rec = (await this.store.read()).tunnels[e.name];
    await (await this.engineOf(e.container)).putFiles(info.Id, [{ path: tunnelFile(e.name), content: renderBatch(e, rec), mode: 0o644 }]);
    const r = await this.#ip(info, e.container, ['-batch', tunnelFile(e.name)]);
    if (r.exit_code === 0) return;
    const said = (r.stderr || r.stdout).trim();
    // A half-made interface of ours (the add worked, a later line did not) goes again.
    const after = (await this.observe(e)).link;
    if (after?.ours || (after && !seen)) await this.#ip(info, e.container, ['link', 'del', 'dev', e.name]);
    if (why === 'create') await this.#rmFile(info, e);
    if (isUnsupportedKernelError(said)) {
      throw new LabError(
        'UNSUPPORTED',
        `the kernel of this Docker host lacks ${e.mode === 'gre' ? 'GRE support (module ip_gre)' : 'VXLAN support (module vxlan)'}: ${said}`,
        {
          hint:
            e.mode === 'gre'
              ? 'use mode vxlan, which this kernel may have, or load ip_gre on the host (modprobe ip_gre)'
              : 'load the vxlan module on the host (modprobe vxlan)',
        },
      );
    }
    throw new LabError('DAEMON_ERROR', `could not set up tunnel '${e.name}' in '${e.container}': ${said}`);
  }

  async #rmFile(info: ContainerInfo, e: TunnelEnd): Promise<void> {
    await this.execIn(info, e.container, { command: ['rm', '-f', tunnelFile(e.name)], timeoutS: 10 });
  }

  /** Remove one end's interface (only if it is the lab's) and its file; a stopped container keeps none. */
  async removeEnd(e: TunnelEnd): Promise<string | undefined> {
    const o = await this.observe(e);
    if (!o.info) return undefined;
    if (!o.running) {
      // The file must still go, or the tunnel comes back at the next start.
      await (await this.engineOf(e.container)).putFiles(o.info.Id, [
        { path: tunnelFile(e.name), content: '# removed by netstream-lab\n', mode: 0o644 },
      ]);
      return undefined;
    }
    let warning: string | undefined;
    if (o.link?.ours) await this.#ip(o.info, e.container, ['link', 'del', 'dev', e.name]);
    else if (o.link) warning = `an interface named '${e.name}' in '${e.container}' was not created by netstream-lab and was left alone`;
    await this.#rmFile(o.info, e);
    return warning;
  }

  async delete(container: string, name: string): Promise<{ deleted: string; warnings?: string[] }> {
    await this.engine.ready();
    const t = await this.get(container, name);
    const warnings = (await Promise.all(endsOf(t).map((e) => this.removeEnd(e)))).filter((w): w is string => !!w);
    await this.store.update((s) => {
      delete s.tunnels[name];
    });
    await this.onChange?.(endsOf(t).map((e) => e.container));
    return { deleted: name, ...(warnings.length ? { warnings } : {}) };
  }

  /** Before a node is deleted: its tunnels go, at both ends. */
  async removeFor(container: string): Promise<string[]> {
    const mine = await this.list(container);
    const notes: string[] = [];
    for (const t of mine) {
      const w = await Promise.all(
        endsOf(t)
          .filter((e) => e.container !== container)
          .map((e) => this.removeEnd(e).catch((err) => (err as Error).message)),
      );
      await this.store.update((s) => {
        delete s.tunnels[t.name];
      });
      notes.push(`tunnel '${t.name}' removed`, ...w.filter((x): x is string => !!x));
    }
    return notes;
  }
}

/** An inner address with its prefix length, not the network or broadcast address of its subnet. */
function hostCidr(cidr: string, field: string): { ip: string; subnet: string } {
  const problem = innerAddressProblem(cidr);
  if (problem) throw invalid(field, problem);
  return { ip: cidr.split('/')[0] ?? '', subnet: (parseCidr(cidr) as Subnet).cidr };
}

/** An inner subnet may overlap none of the container's networks nor its other tunnels. */
function refuseOverlaps(s: StoreState, container: string, subnet: string, field: string): void {
  const p = parseCidr(subnet);
  if (typeof p === 'string') return;
  const node = nodeOf(s, container);
  const clash = (other: string) => {
    const o = parseCidr(other);
    return typeof o !== 'string' && o.network < p.network + p.size && p.network < o.network + o.size;
  };
  for (const i of node?.interfaces ?? []) {
    const net = s.networks[i.network];
    if (net && clash(net.subnet))
      throw invalid('a.tunnel_ip', `${subnet} overlaps network '${net.name}' (${net.subnet}) of '${container}'`);
  }
  for (const t of Object.values(s.tunnels)) {
    const e = endIn(t, container);
    if (e && clash(e.address)) throw invalid(field, `${subnet} overlaps tunnel '${t.name}' (${e.address}) of '${container}'`);
  }
}

function freeVni(s: StoreState): number {
  const used = new Set(
    Object.values(s.tunnels)
      .filter((t) => t.mode === 'vxlan')
      .map((t) => t.key),
  );
  let v = 1;
  while (used.has(v)) v++;
  return v;
}
