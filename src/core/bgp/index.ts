/** The BGP daemon drivers, one per DaemonKind. */
import { birdDriver } from './bird.js';
import { exabgpDriver } from './exabgp.js';
import { frrDriver } from './frr.js';
import { gobgpDriver } from './gobgp.js';
import { openbgpdDriver } from './openbgpd.js';
import type { DaemonDriver, DaemonKind } from './types.js';

export const drivers: Record<DaemonKind, DaemonDriver> = {
  frr: frrDriver,
  gobgp: gobgpDriver,
  exabgp: exabgpDriver,
  bird: birdDriver,
  openbgpd: openbgpdDriver,
};

export function driverFor(kind: DaemonKind): DaemonDriver {
  return drivers[kind];
}

export { mapBgpState, toBgpState } from './states.js';
export * from './types.js';
export { birdDriver, exabgpDriver, frrDriver, gobgpDriver, openbgpdDriver };
