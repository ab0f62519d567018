import type Docker from 'dockerode';
import { LabError } from '../errors.js';
import { statusOf } from './client.js';
import { ownedFilter } from './containers-client.js';
import type { Dial } from './dial.js';
import { notOurs, ownership, ownershipLabels } from './labels.js';

export type NetworkInfo = Docker.NetworkInspectInfo;
export type NetworkSpec = Omit<Docker.NetworkCreateOptions, 'Labels'>;

/**
 * Networks, addressed by their stored id or exact name. Every call goes through the dial (error
 * mapping, log with the id); every network made carries this store's labels.
 */
export class NetworksClient {
  constructor(private readonly dial: Dial) {}

  /** The network with exactly this name or full id (not an id prefix; see ContainersClient.inspect). */
  async inspect(nameOrId: string): Promise<NetworkInfo | undefined> {
    try {
      const info = await this.dial.run('network.inspect', nameOrId, (api) => api.getNetwork(nameOrId).inspect());
      return info.Id === nameOrId || info.Name === nameOrId ? info : undefined;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /** A lab network of this store, by its recorded id (if it still has the name) or by name; throws NOT_FOUND or CONFLICT otherwise. */
  async owned(name: string, storedId?: string): Promise<NetworkInfo> {
    const byId = storedId ? await this.inspect(storedId) : undefined;
    const info = byId?.Name === name ? byId : await this.inspect(name);
    if (!info) {
      throw new LabError('NOT_FOUND', `Docker network '${name}' is gone`, {
        hint: 'it was removed outside netstream-lab; delete and create the lab network again (network_delete, network_create)',
      });
    }
    const owner = ownership(info.Labels, await this.dial.owner());
    if (owner !== 'ours') throw notOurs('network', name, owner);
    return info;
  }

  /** Every network of the engine (anyone's), or those with every one of these labels. */
  list(label?: string[]): Promise<NetworkInfo[]> {
    return this.dial.run('network.list', undefined, (api) => api.listNetworks(label ? { filters: { label } } : {}));
  }

  /** Every network of this store (optionally of one topology), in one query. */
  async listOwned(topology?: string): Promise<NetworkInfo[]> {
    return this.list(await ownedFilter(this.dial, topology));
  }

  /** Make a network labelled as this store's (plus `labels`); its id. */
  async create(spec: NetworkSpec, labels: Record<string, string | undefined> = {}): Promise<string> {
    const Labels = ownershipLabels(await this.dial.owner(), 'network', labels);
    const made = await this.dial.run('network.create', spec.Name, (api) => api.createNetwork({ ...spec, Labels }));
    return made.id;
  }

  async remove(id: string): Promise<void> {
    await this.dial.run('network.remove', id, (api) => api.getNetwork(id).remove());
  }

  /**
   * Join a container to a network at a fixed address (the one the store allocated). The one way a
   * lab container joins a network: node create, network_connect and sync's repair all come here
   * (the last two inside keepRoutes, which guards the container's own routes around it).
   */
  async connect(networkId: string, containerId: string, ip: string): Promise<void> {
    await this.dial.run('network.connect', `${networkId} <- ${containerId}`, (api) =>
      api.getNetwork(networkId).connect({ Container: containerId, EndpointConfig: { IPAMConfig: { IPv4Address: ip } } }),
    );
  }

  async disconnect(networkId: string, containerId: string): Promise<void> {
    await this.dial.run('network.disconnect', `${networkId} -> ${containerId}`, (api) =>
      api.getNetwork(networkId).disconnect({ Container: containerId, Force: true }),
    );
  }
}
