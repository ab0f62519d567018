import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { parseEngines } from './core/engines/parse.js';
import { BOOLEAN_WORDS, booleanOf } from './core/text.js';

export const TOOLSETS = ['daemons', 'hosts', 'networks', 'tunnels', 'topologies', 'sync', 'engines', 'checks', 'faults', 'events'] as const;
export type Toolset = (typeof TOOLSETS)[number];

/** How an MCP server confirms a destructive tool: elicit (ask when the client can, else run), never ask, always (refuse when it cannot ask). */
export const CONFIRM_MODES = ['elicit', 'never', 'always'] as const;
export type ConfirmMode = (typeof CONFIRM_MODES)[number];

/** The yes/no words of src/core/text.ts (the same as Slack and REST take); empty or missing = unset. */
export function parseBool(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined || raw.trim() === '') return fallback;
  const v = booleanOf(raw);
  if (v === undefined) throw new Error(`${name}=${raw} is not a boolean: use ${BOOLEAN_WORDS}`);
  return v;
}

const ConfigSchema = z.object({
  dataDir: z.string().min(1),
  dockerHost: z.string().optional(),
  /** NSLAB_ENGINES: the engines of a lab; the first is the default (its host is dockerHost) */
  engines: z.array(z.object({ name: z.string(), host: z.string().optional() })).min(1),
  readOnly: z.boolean(),
  /** networks that reach outside the machine (internal: false, macvlan): an operator's choice */
  allowExternal: z.boolean(),
  toolsets: z.array(z.enum(TOOLSETS)),
  /** Root of the checkout or bundle (images/ lives here). */
  rootDir: z.string(),
  /** Extra labels put on everything created (tests mark their objects with one). */
  extraLabels: z.record(z.string(), z.string()),
  logLevel: z.string(),
  /** NSLAB_CONFIRM_DESTRUCTIVE: confirmation of destructive tools over MCP */
  confirmDestructive: z.enum(CONFIRM_MODES),
  /** NSLAB_WATCH_INTERVAL_S: seconds between reads of the BGP session states while someone follows the event stream */
  watchIntervalS: z.number().min(0.5).max(3600),
  /** Limits of every lab container (NSLAB_NODE_MEMORY_MB, NSLAB_NODE_PIDS, NSLAB_NODE_CPUS). */
  nodeLimits: z.object({
    memoryMb: z.number().int().min(32).max(65_536),
    pids: z.number().int().min(32).max(65_536),
    cpus: z.number().min(0.1).max(64),
  }),
});
export type Config = z.infer<typeof ConfigSchema>;

function defaultDataDir(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_DATA_HOME?.trim();
  return xdg ? join(xdg, 'netstream-lab') : join(homedir(), '.local', 'share', 'netstream-lab');
}

function parseToolsets(raw: string | undefined): Toolset[] {
  if (raw === undefined || raw.trim() === '' || raw.trim() === 'all') return [...TOOLSETS];
  const names = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const n of names) {
    if (!(TOOLSETS as readonly string[]).includes(n)) {
      throw new Error(`NSLAB_TOOLSETS: unknown toolset '${n}'; use a comma list of ${TOOLSETS.join(', ')} or 'all'`);
    }
  }
  return names as Toolset[];
}

function parseLabels(raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!raw?.trim()) return out;
  for (const pair of raw.split(',')) {
    const [k, v] = pair.split('=');
    if (!k || v === undefined) throw new Error(`NSLAB_EXTRA_LABELS: '${pair}' is not key=value`);
    out[k.trim()] = v.trim();
  }
  return out;
}

function parseConfirm(raw: string | undefined): ConfirmMode {
  const v = raw?.trim().toLowerCase();
  if (!v) return 'elicit';
  if ((CONFIRM_MODES as readonly string[]).includes(v)) return v as ConfirmMode;
  throw new Error(
    `NSLAB_CONFIRM_DESTRUCTIVE=${raw} is not one of ${CONFIRM_MODES.join(', ')}: elicit asks the MCP client when it can (else runs), never asks, always refuses destructive tools when the client cannot ask`,
  );
}

function parseNumber(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw.trim());
  if (!Number.isFinite(n)) throw new Error(`${name}=${raw} is not a number`);
  return n;
}

function parseWatchInterval(raw: string | undefined): number {
  const n = parseNumber('NSLAB_WATCH_INTERVAL_S', raw, 5);
  if (n < 0.5 || n > 3600) throw new Error(`NSLAB_WATCH_INTERVAL_S=${raw} is out of range: give seconds between 0.5 and 3600 (default 5)`);
  return n;
}

/** defaults <- environment <- flags. Throws a plain Error naming the variable on bad values. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, flags: Partial<Config> = {}, rootDir: string = defaultRoot()): Config {
  const engines = parseEngines(env.NSLAB_ENGINES, env.DOCKER_HOST?.trim() || undefined);
  const cfg = {
    dataDir: env.NSLAB_DATA_DIR?.trim() || defaultDataDir(env),
    dockerHost: engines[0]?.host,
    engines,
    readOnly: parseBool('NSLAB_READ_ONLY', env.NSLAB_READ_ONLY, false),
    allowExternal: parseBool('NSLAB_ALLOW_EXTERNAL', env.NSLAB_ALLOW_EXTERNAL, false),
    toolsets: parseToolsets(env.NSLAB_TOOLSETS),
    rootDir,
    extraLabels: parseLabels(env.NSLAB_EXTRA_LABELS),
    logLevel: env.NSLAB_LOG_LEVEL?.trim() || 'info',
    confirmDestructive: parseConfirm(env.NSLAB_CONFIRM_DESTRUCTIVE),
    watchIntervalS: parseWatchInterval(env.NSLAB_WATCH_INTERVAL_S),
    nodeLimits: {
      memoryMb: parseNumber('NSLAB_NODE_MEMORY_MB', env.NSLAB_NODE_MEMORY_MB, 512),
      pids: parseNumber('NSLAB_NODE_PIDS', env.NSLAB_NODE_PIDS, 256),
      cpus: parseNumber('NSLAB_NODE_CPUS', env.NSLAB_NODE_CPUS, 1),
    },
    ...Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)),
  };
  return ConfigSchema.parse(cfg);
}

/** The package root, found from this file whether it runs from src/ (tsx) or dist/src/. */
export function defaultRoot(): string {
  const here = new URL('.', import.meta.url).pathname;
  return here.includes('/dist/src/') ? join(here, '..', '..') : join(here, '..');
}
