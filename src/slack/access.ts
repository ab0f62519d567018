import { type AnyTool, callEffect, type Effect } from '../../tools/index.js';
import type { SlackConfig } from './settings.js';

/**
 * Who may run what: admins (NSLAB_SLACK_ADMINS) everything, operators (NSLAB_SLACK_OPERATORS)
 * reads and writes, everyone else reads; only in NSLAB_SLACK_CHANNELS when it is set.
 */
export type Role = 'admin' | 'operator' | 'reader';

const RANK: Record<Effect, number> = { read: 0, write: 1, destructive: 2 };
const POWER: Record<Role, number> = { reader: 0, operator: 1, admin: 2 };

export function roleOf(user: string, cfg: Pick<SlackConfig, 'admins' | 'operators'>): Role {
  if (cfg.admins.includes(user)) return 'admin';
  if (cfg.operators.includes(user)) return 'operator';
  return 'reader';
}

export const mayRun = (role: Role, tool: AnyTool, args: unknown = {}): boolean => POWER[role] >= RANK[callEffect(tool, args)];

/** Why this command may not run here, in words a channel member can act on; undefined when it may. */
export function refusal(tool: AnyTool, user: string, channel: string, cfg: SlackConfig, args: unknown = {}): string | undefined {
  const where = channelRefusal(channel, cfg);
  if (where) return where;
  const role = roleOf(user, cfg);
  if (mayRun(role, tool, args)) return undefined;
  const name = `\`/lab ${tool.name.replace('_', ' ')}\``;
  const yours =
    role === 'operator'
      ? 'you are an operator (you may read and change the lab, but not remove or interrupt)'
      : 'you may run read commands only';
  if (callEffect(tool, args) === 'destructive') {
    return `${name} removes or interrupts part of the lab: only admins (NSLAB_SLACK_ADMINS) may run it, and ${yours}. Ask an admin to run it, or to add your user id ${user} to NSLAB_SLACK_ADMINS.`;
  }
  return `${name} changes the lab: only operators (NSLAB_SLACK_OPERATORS) and admins may run it, and ${yours}. Ask an admin to add your user id ${user} to NSLAB_SLACK_OPERATORS.`;
}

export function channelRefusal(channel: string, cfg: Pick<SlackConfig, 'channels'>): string | undefined {
  if (!cfg.channels.length || cfg.channels.includes(channel)) return undefined;
  return `/lab does not work in this channel (${channel}): it is limited to ${cfg.channels.map((c) => `<#${c}>`).join(', ')} (NSLAB_SLACK_CHANNELS).`;
}
