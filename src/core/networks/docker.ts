import type { DockerEngine } from '../docker/engine.js';
import { engineMessage, statusOf } from '../docker/engine.js';
import { allowRouted, removeRouted } from '../docker/firewall.js';
import { LABELS, ownership, recordLabel } from '../docker/labels.js';
import type { Placement } from '../engines/placement.js';
import { LabError } from '../errors.js';
import { swarmRange } from '../ipam.js';
import { crashPoint } from '../pending.js';
import { undo, withLeftovers } from '../rollback.js';
import type { NetworkRecord } from '../store/schema.js';
import { NETWORK_RECORD_OMIT, subnetOf } from './view.js';

/**
 * Remove a Docker network. An overlay's last containers may sit on another engine: the manager
 * learns of their removal a moment later and refuses until then ("network … is in use by task …"),
 * so that refusal is retried for a while.
 */
async function removeNetwork(engine: DockerEngine, id: string, overlay: boolean): Promise<void> {
  const until = Date.now() + 30_000;
  for (;;) {
    try {
      await engine.networks.remove(id);
      return;
    } catch (err) {
      if (statusOf(err) === 404) return;
      if (!overlay || !/in use by task/.test(engineMessage(err)) || Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** IPAM IPRange of an overlay: the block Docker allocates its load-balancer endpoints from. */
const dockerRange = (rec: NetworkRecord): { IPRange?: string } => {
  const range = rec.driver === 'overlay' ? swarmRange(subnetOf(rec)) : undefined;
  return range ? { IPRange: range.cidr } : {};
};

/**
 * Make the Docker network of a reserved record, labelled, with its forwarding rule; no store
 * access. A refusal leaves nothing behind: `unprovision` takes back what was made.
 */
export async function provisionNetwork(
  placement: Placement,
  rec: NetworkRecord,
  unprovision: (rec: NetworkRecord) => Promise<void>,
): Promise<{ id: string; warnings: string[] }> {
  let id: string | undefined;
  const engine = placement.network(rec);
  try {
    const made = await engine.networks.create(
      {
        Name: rec.name,
        Driver: rec.driver,
        Internal: rec.internal,
        CheckDuplicate: true,
        // An overlay made on the manager: containers on any engine of the swarm may join it.
        ...(rec.driver === 'overlay' ? { Attachable: true } : {}),
        // An overlay's top block is Docker's own, for its per-engine load balancers (ipam.ts swarmRange).
        IPAM: { Driver: 'default', Config: [{ Subnet: rec.subnet, Gateway: rec.gateway, ...dockerRange(rec) }] },
        Options: rec.bridge
          ? { 'com.docker.network.bridge.name': rec.bridge }
          : rec.driver === 'macvlan'
            ? { parent: rec.parent ?? '' }
            : {},
      },
      {
        [LABELS.topology]: rec.topology,
        [LABELS.bridge]: rec.bridge,
        // Addresses in use are rebuilt from the containers' endpoints, not kept here.
        ...recordLabel(rec, NETWORK_RECORD_OMIT),
      },
    );
    id = made;
    crashPoint('network.created');
    const warnings: string[] = [];
    if (rec.bridge) {
      const w = engine.isLocal
        ? await allowRouted(rec.bridge)
        : `the engine at ${engine.host} is remote: add the forwarding rule there yourself (iptables -I DOCKER-USER -i ${rec.bridge} -o ${rec.bridge} -j ACCEPT) for routed traffic between lab networks`;
      if (w) warnings.push(w);
    }
    return { id: made, warnings };
  } catch (err) {
    const left = id ? await undo([[`network ${rec.name}`, () => unprovision(rec)]]) : [];
    const e =
      err instanceof LabError
        ? err
        : new LabError('DAEMON_ERROR', `Docker refused to create network '${rec.name}': ${engineMessage(err)}`, { cause: err });
    throw withLeftovers(e, left);
  }
}

/** Remove the Docker network of a record (only if it is this store's) and its forwarding rule. */
export async function unprovisionNetwork(
  placement: Placement,
  rec: Pick<NetworkRecord, 'name' | 'bridge' | 'driver' | 'engine'>,
  opts: { keepRule?: boolean } = {},
): Promise<void> {
  const engine = placement.network(rec);
  const info = await engine.inspectNetwork(rec.name);
  if (info && ownership(info.Labels, engine.labels) === 'ours') {
    engine.act(info.Id);
    await removeNetwork(engine, info.Id, rec.driver === 'overlay');
  }
  if (rec.bridge && engine.isLocal && !opts.keepRule) await removeRouted(rec.bridge);
}
