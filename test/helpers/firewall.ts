import { bridgeName } from '../../src/core/networks.js';

/** The forwarding rule a lab network's bridge must have, spelled out here rather than taken from the code under test. */
export const labRule = (net: string): string[] => [
  'DOCKER-USER',
  '-i',
  bridgeName(net),
  '-o',
  bridgeName(net),
  '-j',
  'ACCEPT',
  '-m',
  'comment',
  '--comment',
  'netstream-lab',
];
