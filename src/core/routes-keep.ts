import type { ContainerInfo, DockerEngine } from './docker/engine.js';
import type { ExecResult } from './docker/exec.js';
import { overlaps, parseCidr, type Subnet } from './ipam.js';

/**
 * Keeping a lab container's routes across a Docker network connect or disconnect.
 *
 * Docker 20.10 (libnetwork) collides with routes the lab put in a container in two ways, both
 * measured on this engine:
 *  - The endpoint that gives a container its default gateway is the one whose network name sorts
 *    first. Joining a network that sorts before it (or leaving that network) makes Docker delete
 *    its own default route and add `default via <new bridge gateway>` with an exclusive netlink
 *    add. A default route the lab installed (a host's `gateway`, `ip route replace default via
 *    ROUTER`) has the same key (main table, metric 0), so the connect fails with "failed to set
 *    gateway while updating gateway: file exists".
 *  - Before it gives the new interface its address, Docker refuses any main-table route whose
 *    destination overlaps the new subnet ("cannot program address … conflicts with existing
 *    route"): a BGP route a daemon learned for that prefix, a tunnel route, a static route.
 * A connect that fails either way also leaves the container half joined (the network stays in its
 * settings and comes back at the next start), so the collision must be avoided, not retried.
 *
 * So, around the Docker call: the colliding routes are taken out, Docker acts, and they are put
 * back (a default route with `replace`, over whatever default Docker chose; others with `append`,
 * beside the new connected route). The container's processes are frozen (SIGSTOP) meanwhile:
 * FRR's zebra reinstalls a route of its own the moment it is deleted (measured), and the GoBGP
 * image's route sync would too, which would put the collision back before Docker looks.
 */

/** One route of `ip -4 -j route show table main` (iproute2 6.1). */
export interface KernelRoute {
  dst: string;
  type?: string;
  tos?: string | number;
  nhid?: number;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
  prefsrc?: string;
  metric?: number;
  flags?: string[];
  nexthops?: Array<{ gateway?: string; dev?: string; weight?: number; flags?: string[] }>;
  metrics?: Array<Record<string, unknown>>;
}

export interface KeptRoutes<T> {
  result: T;
  warnings: string[];
}

/** How long a frozen container stays frozen if netstream-lab never comes back to thaw it (it died). */
const THAW_AFTER_S = 15;
const EXEC_TIMEOUT_S = 20;

// A token of an `ip -batch` line: its parser splits on blanks and reads quotes and `#`, so a
// route with any other character in a field is left alone rather than rewritten wrongly.
const SAFE_TOKEN = /^[A-Za-z0-9_.:/@-]+$/;

export function parseRoutes(json: string): KernelRoute[] {
  const parsed: unknown = JSON.parse(json.trim() || '[]');
  if (!Array.isArray(parsed)) throw new Error('ip -j route did not print a list');
  return parsed.filter((r): r is KernelRoute => typeof r === 'object' && r !== null && typeof (r as KernelRoute).dst === 'string');
}

/** The main-table default route Docker's own default gateway would collide with (key: default, tos 0, metric 0). */
export function isDockerSlot(r: KernelRoute): boolean {
  return r.dst === 'default' && (r.metric ?? 0) === 0 && !r.tos;
}

/** Whether Docker's address check would refuse joining `subnet` because of this route. */
export function overlapsSubnet(r: KernelRoute, subnet: Subnet): boolean {
  if (r.dst === 'default') return false; // Docker's check skips routes without a destination
  const dst = parseCidr(r.dst.includes('/') ? r.dst : `${r.dst}/32`);
  return typeof dst !== 'string' && overlaps(dst, subnet);
}

/**
 * The `ip route` arguments that name this route (`full`: also the attributes that re-create it
 * as it was), or undefined when a field cannot be passed through `ip -batch` safely.
 */
export function routeSpec(r: KernelRoute, full: boolean): string[] | undefined {
  const t: string[] = [];
  if (r.type && r.type !== 'unicast') t.push(r.type);
  t.push(r.dst);
  if (r.tos) t.push('tos', String(r.tos));
  if (r.nhid !== undefined) {
    // FRR 8.4 installs routes over nexthop objects it owns; the object outlives the route.
    t.push('nhid', String(r.nhid));
  } else if (r.nexthops?.length) {
    for (const nh of r.nexthops) {
      t.push('nexthop');
      if (nh.gateway) t.push('via', nh.gateway);
      if (nh.dev) t.push('dev', nh.dev);
      if (full && nh.weight !== undefined) t.push('weight', String(nh.weight));
      if (full && nh.flags?.includes('onlink')) t.push('onlink');
    }
  } else {
    if (r.gateway) t.push('via', r.gateway);
    if (r.dev) t.push('dev', r.dev);
  }
  if (r.protocol) t.push('proto', r.protocol);
  t.push('metric', String(r.metric ?? 0));
  if (full) {
    if (r.scope && r.nhid === undefined) t.push('scope', r.scope);
    if (r.prefsrc) t.push('src', r.prefsrc);
    if (r.flags?.includes('onlink') && r.nhid === undefined && !r.nexthops?.length) t.push('onlink');
    for (const m of r.metrics ?? []) {
      for (const [k, v] of Object.entries(m)) if (typeof v === 'number') t.push(k, String(v));
    }
  }
  return t.every((x) => SAFE_TOKEN.test(x)) ? t : undefined;
}

/** Per line of an `ip -force -batch` run, the error it printed (stderr: message lines, then "Command failed -:N"). */
export function batchErrors(stderr: string): Map<number, string> {
  const out = new Map<number, string>();
  let pending: string[] = [];
  for (const line of stderr.split('\n')) {
    const m = /^Command failed -:(\d+)$/.exec(line.trim());
    if (m) {
      out.set(Number(m[1]), pending.join('; ') || 'failed');
      pending = [];
    } else if (line.trim()) {
      pending.push(line.trim());
    }
  }
  return out;
}

/**
 * Stops every process of the container but PID 1 (a namespace's init ignores SIGSTOP) and this
 * exec's own chain (the `timeout` wrapper: stopped, it would never end the exec), arms a watchdog
 * that thaws them if nobody does, then deletes the routes given as an `ip -batch` text in $1.
 * Prints "WATCHDOG_PID PID…". No value reaches the shell as code: the batch and pids are arguments.
 */
const FREEZE_AND_REMOVE = `
keep=" 1 "
p=$$
while [ "$p" -gt 1 ]; do
  keep="$keep$p "
  pp=1
  while read -r k v; do if [ "$k" = PPid: ]; then pp=$v; break; fi; done < /proc/$p/status
  p=$pp
done
pids=''
for d in /proc/[0-9]*; do
  p=\${d#/proc/}
  case "$keep" in *" $p "*) continue ;; esac
  pids="$pids $p"
done
[ -n "$pids" ] && kill -STOP $pids 2>/dev/null
(sleep ${THAW_AFTER_S}; [ -n "$pids" ] && kill -CONT $pids) >/dev/null 2>&1 </dev/null &
echo "$! $pids"
printf '%s\\n' "$1" | ip -force -batch - >/dev/null
true
`;

/**
 * Applies the `ip -batch` text in $1, thaws the pids after $2, then ends the watchdog $2 (empty:
 * none) and its pending `sleep` (harmless, but a stray process for the user to wonder about).
 */
const RESTORE_AND_THAW = `
batch=$1
dog=$2
shift 2
[ -n "$batch" ] && printf '%s\\n' "$batch" | ip -force -batch - >/dev/null
[ $# -gt 0 ] && kill -CONT "$@" 2>/dev/null
if [ -n "$dog" ]; then
  # its sleep first: once the watchdog is gone, the sleep's parent is PID 1 and it cannot be told apart
  for d in /proc/[0-9]*; do
    { while read -r k v; do if [ "$k" = PPid: ]; then [ "$v" = "$dog" ] && kill "\${d#/proc/}"; break; fi; done < "$d/status"; } 2>/dev/null
  done
  kill "$dog" 2>/dev/null
fi
true
`;

/** One route change at a time per container: two connects at once would each see the other's routes half moved. */
const busy = new Map<string, Promise<unknown>>();
async function serial<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const run = (busy.get(key) ?? Promise.resolve()).catch(() => undefined).then(fn);
  const tail = run.catch(() => undefined);
  busy.set(key, tail);
  try {
    return await run;
  } finally {
    if (busy.get(key) === tail) busy.delete(key);
  }
}

interface Frozen {
  watchdog: string;
  pids: string[];
}

/**
 * Run `op` (a Docker connect or disconnect of this container) so that the routes of the
 * container survive it. `joining` is the subnet of the network being connected (absent: a
 * disconnect). A container that is not running has no routes yet: its entrypoint makes them at
 * start, after Docker has wired every network. Routes that cannot be put back (their interface
 * left with the network) come back as warnings; a failed `op` is thrown after its routes are back.
 */
export async function keepRoutes<T>(
  engine: DockerEngine,
  info: ContainerInfo,
  name: string,
  joining: string | undefined,
  op: () => Promise<T>,
): Promise<KeptRoutes<T>> {
  if (!info.State.Running || info.State.Restarting || info.State.Paused) return { result: await op(), warnings: [] };
  return serial(`${engine.host ?? ''}|${info.Id}`, async () => {
    const run = (command: string[]): Promise<ExecResult> => engine.exec(info, name, { command, timeoutS: EXEC_TIMEOUT_S });
    let before: KernelRoute[];
    try {
      const shown = await run(['ip', '-4', '-j', 'route', 'show', 'table', 'main']);
      if (shown.exit_code !== 0) throw new Error(shown.stderr);
      before = parseRoutes(shown.stdout);
    } catch {
      // Routes that cannot be read cannot be kept either; Docker acts as it always did.
      return { result: await op(), warnings: [] };
    }
    const subnet = joining === undefined ? undefined : parseCidr(joining);
    const moved = before.filter(
      (r) =>
        routeSpec(r, true) !== undefined &&
        (isDockerSlot(r) || (subnet !== undefined && typeof subnet !== 'string' && overlapsSubnet(r, subnet))),
    );
    const frozen = moved.length ? await freezeAndRemove(run, moved) : undefined;
    let result: T;
    try {
      result = await op();
    } catch (err) {
      await putBack(run, moved, frozen).catch(() => undefined);
      throw err;
    }
    const failed = await putBack(run, moved, frozen).catch((err: unknown) => moved.map((route) => ({ route, error: String(err) })));
    // Docker's own default via a bridge that left with its network is Docker's business, not a loss.
    const dockerGateways = new Set(Object.values(info.NetworkSettings.Networks ?? {}).map((n) => n.Gateway));
    const warnings = failed
      .filter((f) => !(isDockerSlot(f.route) && f.route.gateway && dockerGateways.has(f.route.gateway)))
      .map((f) => `the route '${routeSpec(f.route, false)?.join(' ')}' of '${name}' could not be put back: ${f.error}`);
    return { result, warnings };
  });
}

async function freezeAndRemove(run: (c: string[]) => Promise<ExecResult>, routes: KernelRoute[]): Promise<Frozen | undefined> {
  const batch = routes.map((r) => `route del ${routeSpec(r, false)?.join(' ')}`).join('\n');
  try {
    const r = await run(['sh', '-c', FREEZE_AND_REMOVE, 'sh', batch]);
    const [watchdog = '', ...pids] = r.stdout.trim().split(/\s+/);
    return /^\d+$/.test(watchdog) ? { watchdog, pids: pids.filter((p) => /^\d+$/.test(p)) } : undefined;
  } catch {
    // The watchdog thaws whatever was frozen; Docker may still collide, and then says so.
    return undefined;
  }
}

async function putBack(
  run: (c: string[]) => Promise<ExecResult>,
  routes: KernelRoute[],
  frozen: Frozen | undefined,
): Promise<Array<{ route: KernelRoute; error: string }>> {
  if (!routes.length && !frozen) return [];
  // A default goes back over the one Docker may have set in the meantime; any other route goes
  // beside what Docker added (the new connected route), never replacing it.
  const batch = routes.map((r) => `route ${isDockerSlot(r) ? 'replace' : 'append'} ${routeSpec(r, true)?.join(' ')}`).join('\n');
  const r = await run(['sh', '-c', RESTORE_AND_THAW, 'sh', batch, frozen?.watchdog ?? '', ...(frozen?.pids ?? [])]);
  const errors = batchErrors(r.stderr);
  return routes.flatMap((route, i) => {
    const error = errors.get(i + 1);
    // "File exists": the same route is there already (zebra put it back, or it never left).
    return error && !/File exists/.test(error) ? [{ route, error }] : [];
  });
}
