import { ownedFilter } from './containers-client.js';
import type { Dial } from './dial.js';

/** The parts of `docker info` the lab reads. */
export interface EngineInfo {
  ServerVersion?: string;
  NCPU?: number;
  MemTotal?: number;
  Swarm?: SwarmInfo;
}

export interface SwarmInfo {
  NodeID?: string;
  LocalNodeState?: string;
  ControlAvailable?: boolean;
  Cluster?: { ID?: string };
  RemoteManagers?: Array<{ NodeID: string; Addr: string }> | null;
}

/** The engine itself: whether it answers, what it is, and the events of this store's objects. */
export class SystemClient {
  constructor(private readonly dial: Dial) {}

  async ping(): Promise<void> {
    await this.dial.run('system.ping', undefined, (api) => api.ping());
  }

  info(): Promise<EngineInfo> {
    return this.dial.run('system.info', undefined, (api) => api.info() as Promise<EngineInfo>);
  }

  /** Docker's event stream since `since` (s since the epoch), of this store's objects of these types only. */
  async events(since: number, types: string[]): Promise<NodeJS.ReadableStream> {
    const label = await ownedFilter(this.dial);
    return this.dial.run('system.events', undefined, (api) =>
      // dockerode's type wants an object; the engine takes the JSON text it would make of it.
      api.getEvents({ since, filters: JSON.stringify({ type: types, label }) as never }),
    );
  }
}
