import type { Config } from '../src/config.js';
import { auditTools, syncTools } from './audit.js';
import { checkTools } from './checks.js';
import { interopTools } from './clab.js';
import { daemonTools } from './daemons.js';
import type { AnyTool } from './define.js';
import { engineTools } from './engines.js';
import { eventTools } from './events.js';
import { faultTools } from './faults.js';
import { hostTools } from './hosts.js';
import { networkTools } from './networks.js';
import { snapshotTools } from './snapshots.js';
import { topologyTools } from './topologies.js';
import { tunnelTools } from './tunnels.js';

/** Every operation, in the order front ends list them. */
export const catalogue: readonly AnyTool[] = [
  ...daemonTools,
  ...hostTools,
  ...networkTools,
  ...tunnelTools,
  ...topologyTools,
  ...snapshotTools,
  ...interopTools,
  ...syncTools,
  ...auditTools,
  ...engineTools,
  ...checkTools,
  ...faultTools,
  ...eventTools,
];

export function findTool(name: string): AnyTool | undefined {
  return catalogue.find((t) => t.name === name);
}

/** Why a tool is not available under this configuration, or undefined when it is. */
export function unavailable(tool: AnyTool, config: Pick<Config, 'readOnly' | 'toolsets'>): string | undefined {
  if (!config.toolsets.includes(tool.toolset)) {
    return `tool '${tool.name}' is in toolset '${tool.toolset}', which is not enabled (NSLAB_TOOLSETS=${config.toolsets.join(',')})`;
  }
  if (config.readOnly && tool.effect !== 'read') {
    return `tool '${tool.name}' changes the lab and the server runs read-only (NSLAB_READ_ONLY)`;
  }
  return undefined;
}

export function visibleTools(config: Pick<Config, 'readOnly' | 'toolsets'>): AnyTool[] {
  return catalogue.filter((t) => !unavailable(t, config));
}
