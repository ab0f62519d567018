/**
 * Making a node's container: image, capabilities, limits, networks, files, start. Shared by
 * daemons and hosts (passed to each), it knows no kind beyond the image it is told to use.
 */
import type { FileEntry } from '../docker/archive.js';
import type { DockerEngine } from '../docker/engine.js';
import { engineMessage } from '../docker/engine.js';
import { LABELS, recordLabel } from '../docker/labels.js';
import type { Placement } from '../engines/placement.js';
import { conflict, LabError } from '../errors.js';
import type { ImageKind, Images } from '../images.js';
import { crashPoint } from '../pending.js';
import type { OpContext } from '../progress.js';
import { undo, withLeftovers } from '../rollback.js';
import type { StoreState } from '../store/schema.js';
import { NODE_LABEL_OMIT, type NodeRecord } from './records.js';

/**
 * Capabilities instead of --privileged, per kind: NET_ADMIN to route, add addresses and tunnels,
 * NET_RAW to ping (binding port 179 is in Docker's default set). Only FRR gets SYS_ADMIN: its
 * privilege code asks for it at start, and without it bgpd does not start (tried: zebra and
 * bgpd exit, `vtysh` says "bgpd is not running").
 */
const CAPS: Record<ImageKind, string[]> = {
  frr: ['NET_ADMIN', 'NET_RAW', 'SYS_ADMIN'],
  gobgp: ['NET_ADMIN', 'NET_RAW'],
  exabgp: ['NET_ADMIN', 'NET_RAW'],
  bird: ['NET_ADMIN', 'NET_RAW'],
  openbgpd: ['NET_ADMIN', 'NET_RAW'],
  host: ['NET_ADMIN', 'NET_RAW'],
};

/** What bounds each lab container: memory, processes, CPU. */
export interface NodeLimits {
  memoryMb: number;
  pids: number;
  cpus: number;
}
export const DEFAULT_NODE_LIMITS: NodeLimits = { memoryMb: 512, pids: 256, cpus: 1 };
const SYSCTLS = {
  'net.ipv4.ip_forward': '1',
  'net.ipv4.conf.all.rp_filter': '0',
  'net.ipv4.conf.default.rp_filter': '0',
};

/** What a node's container is made of, decided by its kind. */
export interface ContainerSpec {
  role: 'daemon' | 'host';
  image: ImageKind;
  files: FileEntry[];
}

export class NodeContainers {
  constructor(
    /** which engine each node is on (one object shared by every service) */
    private readonly placement: Placement,
    private readonly images: Images,
    private readonly limits: NodeLimits = DEFAULT_NODE_LIMITS,
  ) {}

  /** Refuse a name any daemon, host or container already has, on the engine it would go to (or every engine). */
  async refuseTakenName(name: string, engine?: DockerEngine): Promise<void> {
    const engines = engine ? [engine] : this.placement.all().map((e) => e.engine);
    for (const e of engines) {
      const info = await e.inspectContainer(name);
      if (info) {
        throw conflict(`a container named '${name}' already exists`, 'pick another name, or delete the existing one first');
      }
    }
  }

  /**
   * Create, wire and start the container for a node record. Docker 20.10 takes one network at
   * create time; the others are connected before the first start. Config files go in before start
   * so the entrypoint finds them. `ready`, when given, is awaited once it has started. On any
   * failure the half-made container is removed.
   */
  async create(
    rec: NodeRecord,
    spec: ContainerSpec,
    networks: StoreState['networks'],
    ctx: OpContext,
    ready?: (id: string) => Promise<void>,
  ): Promise<{ id: string; image: string }> {
    const { role, image: imageKind, files } = spec;
    const engine = this.placement.node(rec);
    // Attach only to this store's networks, by id: a foreign network that took a lab network's
    // name must never receive a lab container. An overlay is found through the swarm's manager;
    // its id is what the node's own engine attaches to.
    const nets = await Promise.all(
      rec.interfaces.map(async (i) => {
        const n = networks[i.network];
        return { ...i, id: (await (n ? this.placement.network(n) : engine).ownedNetwork(i.network, n?.id)).Id };
      }),
    );
    const image = await this.images.ensure(imageKind, ctx.progress, engine);
    const [first, ...rest] = nets;
    if (!first) throw new LabError('INVALID_INPUT', 'interfaces: at least one interface is needed');
    ctx.progress?.(`creating container ${rec.name}`);
    let id: string | undefined;
    try {
      const cid = await engine.containers.create(
        role,
        {
          name: rec.name,
          Image: image,
          Hostname: rec.name,
          HostConfig: {
            CapAdd: CAPS[imageKind],
            Sysctls: SYSCTLS,
            // Contained: no privilege gained through setuid programs, bounded processes, memory, CPU.
            SecurityOpt: ['no-new-privileges'],
            PidsLimit: this.limits.pids,
            Memory: this.limits.memoryMb * 1024 * 1024,
            MemorySwap: this.limits.memoryMb * 1024 * 1024,
            NanoCpus: Math.round(this.limits.cpus * 1e9),
            RestartPolicy: { Name: 'unless-stopped' },
            NetworkMode: first.id,
            Init: false,
          },
          NetworkingConfig: {
            EndpointsConfig: { [first.id]: { IPAMConfig: { IPv4Address: first.ip } } },
          },
        },
        { [LABELS.nodeKind]: imageKind, [LABELS.topology]: rec.topology, ...recordLabel(rec, NODE_LABEL_OMIT) },
      );
      id = cid;
      crashPoint('node.container_created');
      for (const i of rest) await engine.networks.connect(i.id, cid, i.ip);
      await engine.putFiles(id, files);
      crashPoint('node.files_written');
      await startAttaching(
        () => engine.containers.start(cid),
        (m) => ctx.progress?.(`${rec.name}: ${m}`),
      );
      crashPoint('node.started');
      if (ready) await ready(id);
      return { id, image };
    } catch (err) {
      const made = id;
      const left = made ? await undo([[`container ${rec.name}`, () => engine.removeContainerId(made)]]) : [];
      const e =
        err instanceof LabError
          ? err
          : new LabError('DAEMON_ERROR', `could not create container '${rec.name}': ${engineMessage(err)}`, { cause: err });
      throw withLeftovers(e, left);
    }
  }
}

/**
 * Start a container. On a swarm overlay Docker asks the manager for the container's network
 * attachment and gives up after 20 s ("attaching to network failed … context deadline exceeded");
 * now and then an engine joining several overlays at once races in Docker's gossip ("Bulk sync to
 * node … timed out", moby/moby#51701 and #47396: a 30 s hang), and a new start then succeeds.
 * So that refusal is retried twice; any other error is thrown.
 */
export async function startAttaching(start: () => Promise<unknown>, note: (m: string) => void): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await start();
      return;
    } catch (err) {
      if (attempt >= 3 || !/attaching to network failed/.test(engineMessage(err))) throw err;
      note(`the swarm did not attach it to its overlay network in time; starting it again (${attempt + 1} of 3)`);
      // The manager frees the failed attempt's addresses a moment later; asking at once finds them taken.
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}
