import type { FileEntry } from './docker/archive.js';
import type { ExecOptions, ExecResult } from './docker/exec.js';
import { invalid, LabError } from './errors.js';
import { contains, isIpv4, parseCidr, parseSubnet, type Subnet } from './ipam.js';
import { type ContainerState, containerState, type InterfaceRequest, NodeBase } from './nodes.js';
import type { OpContext } from './progress.js';
import type { HostRecord, StoreState } from './store/schema.js';

export interface HostCreateInput {
  name: string;
  interfaces: InterfaceRequest[];
  /** an IP, or the name of a daemon or host on a shared network */
  gateway?: string | undefined;
  loopback?: string | undefined;
  topology?: string | undefined;
}

export interface HostView {
  name: string;
  interfaces: Array<{ network: string; ip: string }>;
  gateway?: string | undefined;
  loopback?: string | undefined;
  state: ContainerState;
  image?: string | undefined;
  topology?: string | undefined;
}

/** The default-route address: an IP on one of the host's networks, or a node's address on a shared one. */
export function resolveGateway(s: StoreState, ifaces: Array<{ network: string; ip: string }>, gateway: string): string {
  const subnets = ifaces.map((i) => ({ network: i.network, subnet: parseSubnet(s.networks[i.network]?.subnet ?? '') }));
  if (isIpv4(gateway)) {
    if (!subnets.some((x) => typeof x.subnet !== 'string' && contains(x.subnet as Subnet, gateway))) {
      throw invalid('gateway', `${gateway} is not on any of the host's networks (${ifaces.map((i) => i.network).join(', ')})`);
    }
    return gateway;
  }
  const node = s.daemons[gateway] ?? s.hosts[gateway];
  if (!node) throw invalid('gateway', `'${gateway}' is neither an IPv4 address nor an existing daemon or host`);
  const shared = node.interfaces.find((ni) => ifaces.some((hi) => hi.network === ni.network));
  if (!shared) throw invalid('gateway', `'${gateway}' shares no network with this host`, 'connect them to a common network');
  return shared.ip;
}

export function hostFiles(rec: HostRecord, gatewayIp: string | undefined): FileEntry[] {
  const files: FileEntry[] = [];
  if (gatewayIp) files.push({ path: '/etc/nslab/gateway', content: `${gatewayIp}\n` });
  if (rec.loopback) files.push({ path: '/etc/nslab/loopback', content: `${rec.loopback}\n` });
  return files;
}

export class Hosts extends NodeBase {
  #view(rec: HostRecord, state: ContainerState): HostView {
    const { name, interfaces, gateway, loopback, image, topology } = rec;
    return { name, interfaces, gateway, loopback, state, image, topology };
  }

  async list(): Promise<HostView[]> {
    await this.engine.ready();
    const recs = Object.values((await this.store.read()).hosts).sort((a, b) => a.name.localeCompare(b.name));
    const infos = await Promise.all(recs.map((r) => this.engine.inspectContainer(r.name)));
    return recs.map((r, i) => this.#view(r, containerState(infos[i])));
  }

  async get(name: string): Promise<HostView> {
    await this.engine.ready();
    const rec = await this.record('hosts', name);
    return this.#view(rec, containerState(await this.engine.ownedContainer(name)));
  }

  async create(input: HostCreateInput, ctx: OpContext = {}): Promise<HostView> {
    if (input.loopback && typeof parseCidr(input.loopback) === 'string') {
      throw invalid('loopback', parseCidr(input.loopback) as string);
    }
    await this.engine.ready();
    await this.refuseTakenName(input.name);
    const { rec, gatewayIp } = await this.store.update((s) => {
      NodeBase.takenInStore(s, input.name);
      const interfaces = NodeBase.reserveInterfaces(s, input.name, input.interfaces);
      const gatewayIp = input.gateway ? resolveGateway(s, interfaces, input.gateway) : undefined;
      const r: HostRecord = {
        name: input.name,
        interfaces,
        ...(input.gateway ? { gateway: input.gateway } : {}),
        ...(input.loopback ? { loopback: input.loopback } : {}),
        ...(input.topology ? { topology: input.topology } : {}),
        desired: 'running',
        created_at: new Date().toISOString(),
      };
      s.hosts[r.name] = r;
      return { rec: r, gatewayIp };
    });
    try {
      return this.#view(await this.#makeContainer(rec, gatewayIp, ctx), 'running');
    } catch (err) {
      await this.forget('hosts', input.name);
      throw err;
    }
  }

  async #makeContainer(rec: HostRecord, gatewayIp: string | undefined, ctx: OpContext): Promise<HostRecord> {
    const { id, image } = await this.createContainer(rec, 'host', 'host', hostFiles(rec, gatewayIp), ctx);
    return this.store.update((s) => {
      const r = s.hosts[rec.name];
      if (!r) throw new LabError('CONFLICT', `host '${rec.name}' was deleted while it was being created`);
      r.container_id = id;
      r.image = image;
      return r;
    });
  }

  async delete(name: string): Promise<{ deleted: string }> {
    await this.engine.ready();
    await this.removeNode('hosts', name);
    return { deleted: name };
  }

  async stop(name: string): Promise<HostView> {
    await this.engine.ready();
    await this.stopNode('hosts', name);
    return this.get(name);
  }

  async start(name: string, ctx: OpContext = {}): Promise<HostView> {
    await this.engine.ready();
    const rec = await this.record('hosts', name);
    const info = await this.engine.ownedContainer(name);
    if (info) {
      await this.engine.startContainer(info.Id);
    } else {
      ctx.progress?.(`container ${name} is gone; recreating it from the store`);
      const s = await this.store.read();
      await this.#makeContainer(rec, rec.gateway ? resolveGateway(s, rec.interfaces, rec.gateway) : undefined, ctx);
    }
    await this.store.update((s) => {
      const r = s.hosts[name];
      if (r) r.desired = 'running';
    });
    return this.get(name);
  }

  async exec(name: string, opts: ExecOptions): Promise<ExecResult> {
    await this.engine.ready();
    return this.execNode('hosts', name, opts);
  }
}
