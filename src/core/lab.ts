import { join } from 'node:path';
import type { Config } from '../config.js';
import { AuditLog } from './audit.js';
import { Checks } from './checks/service.js';
import { DaemonConfig } from './daemon-config.js';
import { Daemons } from './daemons.js';
import { dockerCallLog } from './docker/call-log.js';
import type { CallLog } from './docker/dial.js';
import { DockerEngine } from './docker/engine.js';
import { EventWatch, type EventWatchOptions } from './docker/events.js';
import { Placement } from './engines/placement.js';
import { Engines } from './engines/service.js';
import { LabEvents } from './events/index.js';
import { Faults } from './faults/service.js';
import { Hosts } from './hosts.js';
import { Images } from './images.js';
import { Networks } from './networks.js';
import { NodeContainers } from './nodes/container.js';
import { Store } from './store/store.js';
import { Sync } from './sync.js';
import { Interop } from './topology/interop.js';
import { Topologies } from './topology/service.js';
import { Snapshots } from './topology/snapshots.js';
import { TunnelDoctor } from './tunnels/diagnose.js';
import { Tunnels } from './tunnels/service.js';
import { Wiring } from './wiring.js';

/** The core, as every front end sees it. Knows nothing of MCP, Slack, HTTP or the CLI. */
export interface Lab {
  config: Config;
  store: Store;
  engine: DockerEngine;
  /** every engine of NSLAB_ENGINES (the first is `engine`) and their swarm */
  engines: Engines;
  /** which engine holds each node and network (NSLAB_ENGINES) */
  placement: Placement;
  images: Images;
  networks: Networks;
  daemons: Daemons;
  hosts: Hosts;
  wiring: Wiring;
  tunnels: Tunnels;
  doctor: TunnelDoctor;
  topologies: Topologies;
  /** a topology's file and live state saved under an id, and restored (topology_snapshot, topology_restore) */
  snapshots: Snapshots;
  /** containerlab files in and out */
  interop: Interop;
  /** faults put in on purpose (fault_inject), undone by fault_clear, standup and teardown */
  faults: Faults;
  /** topology_verify, lab_check, topology_scenario */
  checks: Checks;
  audit: AuditLog;
  sync: Sync;
  /**
   * Follow Docker's events for this store's objects, for long-running servers: onEvent hears of
   * each (with `drift` set when it was done outside the lab, to log); after the stream comes back
   * from a dockerd restart, the forwarding rules are restored. Call stop() on the result at shutdown.
   */
  watchEvents(opts?: Omit<EventWatchOptions, 'onReconnect'>): EventWatch;
  /** The lab's event stream (src/core/events): started by long-running servers, followed by every front end. */
  events: LabEvents;
}

/** `callLog` also hears of every call to the default engine (the benchmark counts them). */
export function createLab(config: Config, opts: { callLog?: CallLog } = {}): Lab {
  const store = new Store(config.dataDir);
  const logged = dockerCallLog(config.logLevel);
  const extra = opts.callLog;
  const engine = new DockerEngine(
    config.dockerHost,
    { extra: config.extraLabels, store: '' },
    () => store.id(),
    logged && extra
      ? (e) => {
          logged(e);
          extra(e);
        }
      : (extra ?? logged),
  );
  const engines = new Engines(config.engines, engine, config.dataDir);
  // Which engine holds each node and network: one object every service shares.
  const placement = new Placement(engines);
  const images = new Images(engine, join(config.rootDir, 'images'));
  // A daemon's BGP files follow its networks and tunnels (wiring, tunnels) and its live changes (daemons).
  const daemonConfig = new DaemonConfig(placement, store);
  const tunnels = new Tunnels(placement, store, async (containers) => {
    const state = await store.read();
    for (const c of containers) if (state.daemons[c]) await daemonConfig.refresh(c);
  });
  // Daemons and hosts share how a node's container is made; a node's tunnels go with it.
  const nodes = { placement, store, containers: new NodeContainers(placement, images, config.nodeLimits), attached: tunnels };
  const daemons = new Daemons({ ...nodes, config: daemonConfig });
  const hosts = new Hosts(nodes);
  const networks = new Networks(placement, store, config.allowExternal);
  const doctor = new TunnelDoctor(tunnels, config.readOnly);
  const core = {
    config,
    store,
    engine,
    placement,
    images,
    networks,
    daemons,
    hosts,
    wiring: new Wiring(placement, store, daemonConfig),
    tunnels,
    doctor,
    engines,
  };
  const sync = new Sync(core);
  const faults = new Faults({ store, placement, daemons });
  const topologies = new Topologies({
    faults,
    engine,
    placement,
    store,
    networks,
    daemons,
    hosts,
    tunnels,
    engines,
    doctor,
    nodeLimits: config.nodeLimits,
  });
  // Every engine's stream: a node removed by hand on any of them is noticed.
  const watchEvents = (opts: Omit<EventWatchOptions, 'onReconnect'> = {}) =>
    new EventWatch(
      placement.all().map((e) => e.engine),
      { ...opts, onReconnect: () => sync.restoreRules() },
    );
  const events = new LabEvents({
    dataDir: config.dataDir,
    intervalS: config.watchIntervalS,
    read: () => store.read(),
    neighborStates: (name) => daemons.neighborStates(name),
    watch: watchEvents,
  });
  const snapshots = new Snapshots({ store, dataDir: config.dataDir, placement, topologies, daemons, faults });
  return {
    ...core,
    topologies,
    snapshots,
    interop: new Interop({ store, topologies, swarm: () => placement.multi }),
    faults,
    checks: new Checks({ store, placement, daemons, hosts, doctor, topologies, faults }),
    audit: new AuditLog(config.dataDir),
    sync,
    watchEvents,
    events,
  };
}
