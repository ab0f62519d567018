import { engineMessage, statusOf } from './docker/engine.js';
import { conflict, LabError, notFound } from './errors.js';
import { Networks } from './networks.js';
import { NodeBase, type NodeCollection } from './nodes.js';
import type { StoreState } from './store/schema.js';

export interface ConnectInput {
  network: string;
  container: string;
  ip?: string | undefined;
}

export interface ConnectResult {
  network: string;
  container: string;
  ip: string;
}

function collectionOf(s: StoreState, name: string): NodeCollection {
  if (s.daemons[name]) return 'daemons';
  if (s.hosts[name]) return 'hosts';
  throw notFound(
    'container',
    name,
    'only daemons and hosts created by netstream-lab can be connected; list them with daemon_list or host_list',
  );
}

/** Attaching lab containers to lab networks after creation, with addresses kept in the store. */
export class Wiring extends NodeBase {
  async connect(input: ConnectInput): Promise<ConnectResult> {
    await this.engine.ready();
    const { coll, ip } = await this.store.update((s) => {
      const coll = collectionOf(s, input.container);
      const rec = s[coll][input.container];
      if (!s.networks[input.network]) throw notFound('network', input.network);
      if (rec?.interfaces.some((i) => i.network === input.network)) {
        throw conflict(`'${input.container}' is already connected to '${input.network}'`);
      }
      const ip = Networks.reserve(s, 'ip', input.network, input.container, input.ip);
      rec?.interfaces.push({ network: input.network, ip });
      return { coll, ip };
    });
    try {
      const info = await this.engine.ownedContainer(input.container);
      if (info) {
        await this.engine.call(
          this.engine.api.getNetwork(input.network).connect({ Container: info.Id, EndpointConfig: { IPAMConfig: { IPv4Address: ip } } }),
        );
      }
    } catch (err) {
      await this.#drop(coll, input.container, input.network);
      if (err instanceof LabError) throw err;
      throw new LabError('DAEMON_ERROR', `Docker could not connect '${input.container}' to '${input.network}': ${engineMessage(err)}`, {
        cause: err,
      });
    }
    return { network: input.network, container: input.container, ip };
  }

  async disconnect(input: Omit<ConnectInput, 'ip'>): Promise<ConnectResult> {
    await this.engine.ready();
    const s = await this.store.read();
    const coll = collectionOf(s, input.container);
    const rec = s[coll][input.container];
    const iface = rec?.interfaces.find((i) => i.network === input.network);
    if (!iface)
      throw notFound('connection', `${input.container} -> ${input.network}`, `'${input.container}' is not connected to '${input.network}'`);
    if (rec && rec.interfaces.length === 1) {
      throw conflict(
        `'${input.network}' is the only network of '${input.container}'`,
        `delete the ${coll === 'daemons' ? 'daemon' : 'host'} instead`,
      );
    }
    const info = await this.engine.ownedContainer(input.container);
    if (info) {
      try {
        await this.engine.call(this.engine.api.getNetwork(input.network).disconnect({ Container: info.Id, Force: true }));
      } catch (err) {
        // 404 / "is not connected": Docker already agrees; anything else is a real failure.
        if (statusOf(err) !== 404 && !/not connected/i.test(engineMessage(err))) throw err;
      }
    }
    await this.#drop(coll, input.container, input.network);
    return { network: input.network, container: input.container, ip: iface.ip };
  }

  #drop(coll: NodeCollection, container: string, network: string): Promise<void> {
    return this.store.update((s) => {
      const rec = s[coll][container];
      if (rec) rec.interfaces = rec.interfaces.filter((i) => i.network !== network);
      Networks.release(s, container, network);
    });
  }
}
