import { LabError } from '../errors.js';
import type { Dial } from './dial.js';
import type { SystemClient } from './system-client.js';

/**
 * Swarm membership of one engine. Through the dial like every other call, so an engine that does
 * not answer is reported as DOCKER_UNAVAILABLE naming it, not as a failed join.
 */
export class SwarmClient {
  constructor(
    private readonly dial: Dial,
    private readonly system: Pick<SystemClient, 'info'>,
  ) {}

  async init(opts: { ListenAddr: string; AdvertiseAddr?: string }): Promise<void> {
    await this.dial.run('swarm.init', undefined, (api) => api.swarmInit(opts));
  }

  /** The worker's join token of the swarm this engine manages. */
  async workerToken(): Promise<string> {
    const cluster = (await this.dial.run('swarm.inspect', undefined, (api) => api.swarmInspect())) as { JoinTokens: { Worker: string } };
    return cluster.JoinTokens.Worker;
  }

  async join(opts: { ListenAddr: string; RemoteAddrs: string[]; JoinToken: string; AdvertiseAddr?: string }): Promise<void> {
    await this.dial.run('swarm.join', opts.RemoteAddrs.join(','), (api) => api.swarmJoin(opts));
  }

  /**
   * Leave (forced), and return only once the engine says it is in no swarm. An engine already in
   * no swarm (503) is where leave wants it. Docker also answers 503 while its swarm component is
   * restarting, and then the node is still in: so the state is read back, and the leave asked again
   * (up to `attempts` times, `pauseMs` apart) until it reads `inactive`.
   */
  async leave(attempts = 8, pauseMs = 750): Promise<void> {
    let state = 'unknown';
    for (let i = 0; i < attempts; i++) {
      try {
        await this.dial.run('swarm.leave', undefined, (api) => api.swarmLeave({ force: true }));
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode !== 503) throw err;
      }
      state = (await this.system.info()).Swarm?.LocalNodeState || 'inactive';
      if (state === 'inactive') return;
      await new Promise((r) => setTimeout(r, pauseMs));
    }
    throw new LabError('CONFLICT', `the engine is still in its swarm (state ${state}) after ${attempts} forced leaves`, {
      hint: 'run `docker swarm leave --force` on that engine, then engine_leave again',
    });
  }

  /** The ids of the swarm's nodes (asked of a manager). */
  async nodeIds(): Promise<Set<string>> {
    const nodes = (await this.dial.run('swarm.nodes', undefined, (api) => api.listNodes())) as Array<{ ID: string }>;
    return new Set(nodes.map((n) => n.ID));
  }

  /** Take a departed node out of the swarm's list (asked of a manager). */
  async removeNode(id: string): Promise<void> {
    await this.dial.run('swarm.node_remove', id, (api) => api.getNode(id).remove({ force: true }));
  }
}
