import type { Daemons } from './daemons.js';
import type { DockerEngine } from './docker/engine.js';
import type { Placement } from './engines/placement.js';
import type { Hosts } from './hosts.js';
import type { Networks } from './networks.js';
import type { Store } from './store/store.js';

/** The services that standup, teardown and sync_run all work through, passed to them by lab.ts. */
export interface LabServices {
  engine: DockerEngine;
  placement: Placement;
  store: Store;
  networks: Networks;
  daemons: Daemons;
  hosts: Hosts;
}
