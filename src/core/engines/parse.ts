import { dockerOptions } from '../docker/client.js';

export interface EngineSpec {
  name: string;
  /** DOCKER_HOST of the engine; undefined: the local socket */
  host?: string | undefined;
}

export const ENGINE_NAME = /^[a-z][a-z0-9-]{0,30}$/;
/** The one engine when NSLAB_ENGINES is unset. */
export const DEFAULT_ENGINE = 'default';

/**
 * NSLAB_ENGINES: `a=unix:///var/run/docker.sock,b=ssh://lab@host2`. The first is the default engine
 * and the swarm manager. Unset: one engine, DOCKER_HOST's. Throws a plain Error naming the entry.
 */
export function parseEngines(raw: string | undefined, dockerHost: string | undefined): EngineSpec[] {
  if (raw === undefined || raw.trim() === '') return [{ name: DEFAULT_ENGINE, host: dockerHost }];
  const out: EngineSpec[] = [];
  for (const entry of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = entry.indexOf('=');
    const name = eq > 0 ? entry.slice(0, eq).trim() : '';
    const host = eq > 0 ? entry.slice(eq + 1).trim() : '';
    if (!name || !host) throw new Error(`NSLAB_ENGINES: '${entry}' is not name=DOCKER_HOST (e.g. a=unix:///var/run/docker.sock)`);
    if (!ENGINE_NAME.test(name))
      throw new Error(`NSLAB_ENGINES: engine name '${name}' must be lower-case letters, digits and '-' (at most 31)`);
    if (out.some((e) => e.name === name)) throw new Error(`NSLAB_ENGINES: engine '${name}' is named twice`);
    try {
      dockerOptions(host);
    } catch (err) {
      throw new Error(`NSLAB_ENGINES: engine '${name}': ${(err as Error).message}`);
    }
    out.push({ name, host });
  }
  if (out.length > 16) throw new Error(`NSLAB_ENGINES names ${out.length} engines; at most 16 are supported`);
  return out;
}
