import { catalogue } from '../../tools/catalogue.js';
import type { AnyTool, HttpRoute } from '../../tools/define.js';

/**
 * The REST routes, generated from the tools' `http` declarations (the old service's paths).
 * A path parameter maps to a tool field: `{name}` and `{id}` to `name`, `{container}` to
 * `container`, `{tunnel}` to `name` (DELETE /tunnels/{container}/{tunnel}).
 */
export interface Route {
  tool: AnyTool;
  method: HttpRoute['method'];
  path: string;
  segments: string[];
  /** path parameter -> tool field */
  params: Array<{ param: string; field: string }>;
}

const FIELD_OF: Record<string, string> = { id: 'name', tunnel: 'name' };
export const fieldOf = (param: string): string => FIELD_OF[param] ?? param;

const isParam = (segment: string): boolean => segment.startsWith('{') && segment.endsWith('}');

function compile(tool: AnyTool, http: HttpRoute): Route {
  const segments = http.path.split('/').slice(1);
  const params = segments.filter(isParam).map((s) => ({ param: s.slice(1, -1), field: fieldOf(s.slice(1, -1)) }));
  return { tool, method: http.method, path: http.path, segments, params };
}

export const routes: readonly Route[] = catalogue.flatMap((t) => (t.http ? [compile(t, t.http)] : []));

export type Match =
  | { kind: 'route'; route: Route; values: Record<string, string> }
  | { kind: 'method'; allow: string[] }
  | { kind: 'bad_path'; message: string }
  | undefined;

/** Segment values for a route, or undefined when the path has another shape. */
function bind(route: Route, parts: string[]): Record<string, string> | undefined {
  if (route.segments.length !== parts.length) return undefined;
  const values: Record<string, string> = {};
  for (const [i, seg] of route.segments.entries()) {
    const part = parts[i] ?? '';
    if (isParam(seg)) {
      if (part === '') return undefined;
      values[seg.slice(1, -1)] = part;
    } else if (seg !== part) return undefined;
  }
  return values;
}

/** Literal segments win over parameters, per method: GET /networks/connect would be network_get('connect'). */
const literals = (r: Route): number => r.segments.filter((s) => !isParam(s)).length;

export function matchRoute(method: string, pathname: string): Match {
  // A trailing slash is tolerated (GET /daemons/ is GET /daemons), as the old service did.
  const trimmed = pathname.length > 1 && pathname.endsWith('/') ? pathname.slice(0, -1) : pathname;
  const parts = trimmed.split('/').slice(1);
  const hits = routes.flatMap((route) => {
    const values = bind(route, parts);
    return values ? [{ route, values }] : [];
  });
  if (hits.length === 0) return undefined;
  const wanted = method === 'HEAD' ? 'GET' : method;
  const same = hits.filter((h) => h.route.method === wanted).sort((a, b) => literals(b.route) - literals(a.route));
  const hit = same[0];
  if (!hit) return { kind: 'method', allow: [...new Set(hits.map((h) => h.route.method))].sort() };
  const values: Record<string, string> = {};
  for (const [param, raw] of Object.entries(hit.values)) {
    try {
      values[param] = decodeURIComponent(raw);
    } catch {
      return { kind: 'bad_path', message: `path parameter {${param}}: '${raw}' is not valid percent-encoding` };
    }
  }
  return { kind: 'route', route: hit.route, values };
}

/** Creates answer 201 Created; everything else 200. */
export const isCreate = (route: Route): boolean => route.method === 'POST' && route.tool.name.endsWith('_create');

/** Where a created object can be read: GET <collection>/{x} when the catalogue has that route. */
export function locationOf(route: Route, result: Record<string, unknown>): string | undefined {
  const read = routes.find((r) => r.method === 'GET' && r.params.length === 1 && r.path === `${route.path}/{${r.params[0]?.param}}`);
  return read && typeof result.name === 'string' ? `${route.path}/${encodeURIComponent(result.name)}` : undefined;
}
