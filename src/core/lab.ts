import { join } from 'node:path';
import type { Config } from '../config.js';
import { Daemons } from './daemons.js';
import { DockerEngine } from './docker/engine.js';
import { Hosts } from './hosts.js';
import { Images } from './images.js';
import { Networks } from './networks.js';
import { Store } from './store/store.js';
import { Wiring } from './wiring.js';

/** The core, as every front end sees it. Knows nothing of MCP, Slack, HTTP or the CLI. */
export interface Lab {
  config: Config;
  store: Store;
  engine: DockerEngine;
  images: Images;
  networks: Networks;
  daemons: Daemons;
  hosts: Hosts;
  wiring: Wiring;
}

export function createLab(config: Config): Lab {
  const store = new Store(config.dataDir);
  const engine = new DockerEngine(config.dockerHost, { extra: config.extraLabels, storeFile: store.file });
  const images = new Images(engine, join(config.rootDir, 'images'));
  return {
    config,
    store,
    engine,
    images,
    networks: new Networks(engine, store),
    daemons: new Daemons(engine, store, images),
    hosts: new Hosts(engine, store, images),
    wiring: new Wiring(engine, store, images),
  };
}
