import type { StreamEvent } from '../core/events/index.js';
import type { Lab } from '../core/lab.js';
import type { SlackApi } from './api.js';
import { type Block, clip, context, escapeMrkdwn, section } from './render.js';

/**
 * Lab alerts in Slack (NSLAB_SLACK_ALERT_CHANNEL): what breaks (a BGP session down, a node died,
 * drift, a failed verify) is posted with Diagnose and Verify buttons; what recovers is a reply in
 * the alert's thread, and the alert is edited to say so. The same key going down again within the
 * window edits its one message with a count; new posts (and thread replies) are limited per minute,
 * and what the limit held back is counted in one summary when the budget allows.
 *
 * AlertBook decides (pure, given the time); SlackAlerts follows the lab's event stream and does
 * what the book says, one Slack call at a time, honouring 429 Retry-After (SlackApi.call).
 */

export interface AlertOptions {
  /** the same key going down again within this time edits its message (default 5 min) */
  windowMs?: number;
  /** new messages and thread replies per minute, in all (default 10) */
  perMinute?: number;
  /** alerts remembered at most (the oldest recovered ones are forgotten first) */
  maxAlerts?: number;
}

export const ALERT_DEFAULTS = { windowMs: 5 * 60_000, perMinute: 10, maxAlerts: 500 } as const;

export type AlertKind = 'session' | 'node' | 'drift' | 'verify';

export interface Alert {
  id: number;
  key: string;
  kind: AlertKind;
  /** the event that opened it, then the latest that took it down again */
  event: StreamEvent;
  /** times it went down within the window (1: once) */
  count: number;
  down: boolean;
  firstAt: number;
  lastDownAt: number;
  /** the event that ended it, while it is up */
  recovery?: StreamEvent | undefined;
  /** sessions that went down with this node (keys, with their text), while they are down */
  also: Map<string, string>;
  /** the Slack message, once posted */
  ts?: string | undefined;
  /** what the message last showed (to skip an edit that changes nothing) */
  shown?: string | undefined;
  /** held back by the rate limit: never posted, so nothing to edit or reply to */
  held: boolean;
}

export type AlertAction =
  | { op: 'post'; alert: Alert }
  | { op: 'update'; alert: Alert }
  | { op: 'reply'; alert: Alert; text: string }
  | { op: 'summary'; held: number; since: number };

const DOWN: ReadonlySet<string> = new Set(['session_down', 'node_died', 'drift', 'verify_failed']);
const UP: ReadonlySet<string> = new Set(['session_up', 'node_started', 'verify_passed']);

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

/** Which alert an event opens or closes: one per session (either end), node, drifted object, topology's verify. */
export function alertKey(e: StreamEvent): { key: string; kind: AlertKind } | undefined {
  switch (e.type) {
    case 'session_down':
    case 'session_up':
      return { key: sessionKey(e), kind: 'session' };
    case 'node_died':
    case 'node_started':
      return e.node ? { key: `node:${e.node}`, kind: 'node' } : undefined;
    case 'drift':
      return { key: `drift:${String(e.detail.object ?? '')}:${String(e.detail.name ?? e.node ?? '')}`, kind: 'drift' };
    case 'verify_failed':
    case 'verify_passed':
      return { key: `verify:${e.topology ?? str(e.detail.tool) ?? 'lab'}`, kind: 'verify' };
    default:
      return undefined;
  }
}

/** A session seen from either end is one key: its two nodes in order, or the node and the outside peer's address. */
function sessionKey(e: StreamEvent): string {
  const node = e.node ?? '';
  const peerNode = str(e.detail.peer_node);
  if (peerNode) return `session:${[node, peerNode].sort().join('~')}`;
  return `session:${node}~${String(e.detail.peer ?? '')}`;
}

/** A token bucket: `perMinute` posts, refilled evenly. */
export class PostBudget {
  #tokens: number;
  #at: number;

  constructor(
    readonly perMinute: number,
    now: number,
  ) {
    this.#tokens = perMinute;
    this.#at = now;
  }

  #refill(now: number): void {
    this.#tokens = Math.min(this.perMinute, this.#tokens + ((now - this.#at) * this.perMinute) / 60_000);
    this.#at = Math.max(this.#at, now);
  }

  take(now: number): boolean {
    this.#refill(now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  available(now: number): number {
    this.#refill(now);
    return Math.floor(this.#tokens);
  }
}

/** What to post, edit or reply for each event: flap counting, recoveries, the rate limit. No I/O. */
export class AlertBook {
  readonly #alerts = new Map<string, Alert>();
  readonly #budget: PostBudget;
  readonly #o: Required<AlertOptions>;
  #id = 0;
  #held = 0;
  #heldSince = 0;

  constructor(now: number, opts: AlertOptions = {}) {
    this.#o = { ...ALERT_DEFAULTS, ...opts };
    this.#budget = new PostBudget(this.#o.perMinute, now);
  }

  get size(): number {
    return this.#alerts.size;
  }

  get held(): number {
    return this.#held;
  }

  alert(key: string): Alert | undefined {
    return this.#alerts.get(key);
  }

  event(e: StreamEvent, now: number): AlertAction[] {
    const k = alertKey(e);
    if (!k) return [];
    this.#prune(now);
    return DOWN.has(e.type) ? this.#down(e, k.key, k.kind, now) : UP.has(e.type) ? this.#up(e, k.key, now) : [];
  }

  /** Held-back events, once the budget allows one more post: a summary. */
  tick(now: number): AlertAction[] {
    if (!this.#held || !this.#budget.take(now)) return [];
    const out: AlertAction = { op: 'summary', held: this.#held, since: this.#heldSince };
    this.#held = 0;
    return [out];
  }

  #down(e: StreamEvent, key: string, kind: AlertKind, now: number): AlertAction[] {
    const open = this.#alerts.get(key);
    if (open && (open.down || now - open.lastDownAt <= this.#o.windowMs)) {
      if (open.down) {
        // Still down: the other end of the session, a second verify that fails the same way.
        if (kind === 'verify' || kind === 'drift') open.event = e;
        return open.held ? [] : [{ op: 'update', alert: open }];
      }
      open.down = true;
      open.count++;
      open.lastDownAt = now;
      open.event = e;
      open.recovery = undefined;
      return open.held ? [] : [{ op: 'update', alert: open }];
    }
    if (kind === 'session') {
      // A session that went down with its node (the node died) is a line of the node's alert.
      const host = this.#nodeAlertOf(e);
      if (host) {
        host.also.set(key, sessionLine(e));
        return host.held ? [] : [{ op: 'update', alert: host }];
      }
    }
    const alert: Alert = {
      id: ++this.#id,
      key,
      kind,
      event: e,
      count: 1,
      down: true,
      firstAt: now,
      lastDownAt: now,
      also: new Map(),
      held: false,
    };
    this.#alerts.set(key, alert);
    if (!this.#budget.take(now)) {
      alert.held = true;
      if (!this.#held) this.#heldSince = now;
      this.#held++;
      return [];
    }
    return [{ op: 'post', alert }];
  }

  #up(e: StreamEvent, key: string, now: number): AlertAction[] {
    const a = this.#alerts.get(key);
    if (a?.down) {
      a.down = false;
      a.recovery = e;
      if (a.held) return [];
      const out: AlertAction[] = [{ op: 'update', alert: a }];
      if (this.#budget.take(now)) out.push({ op: 'reply', alert: a, text: recoveryText(a, e) });
      return out;
    }
    if (e.type === 'session_up') {
      // A session that went down with its node is back: said in the node's thread.
      for (const host of this.#alerts.values()) {
        if (!host.also.delete(key)) continue;
        if (host.held) return [];
        const out: AlertAction[] = [{ op: 'update', alert: host }];
        if (this.#budget.take(now))
          out.push({ op: 'reply', alert: host, text: `🟢 BGP session ${sessionLine(e, false)} is Established again` });
        return out;
      }
    }
    return [];
  }

  #nodeAlertOf(e: StreamEvent): Alert | undefined {
    for (const n of [e.node, str(e.detail.peer_node)]) {
      const a = n ? this.#alerts.get(`node:${n}`) : undefined;
      if (a?.down) return a;
    }
    return undefined;
  }

  /** Forget what recovered longer than the window ago; and, past maxAlerts, the oldest (recovered first). */
  #prune(now: number): void {
    for (const [k, a] of this.#alerts) if (!a.down && now - a.lastDownAt > this.#o.windowMs) this.#alerts.delete(k);
    if (this.#alerts.size < this.#o.maxAlerts) return;
    const order = [...this.#alerts.values()].sort((x, y) => Number(x.down) - Number(y.down) || x.lastDownAt - y.lastDownAt);
    for (const a of order.slice(0, this.#alerts.size - this.#o.maxAlerts + 1)) this.#alerts.delete(a.key);
  }
}

// --- the messages ---------------------------------------------------------------------------------

/** Lab text in a message: escaped for mrkdwn, in code quotes. */
const code = (v: unknown): string => `\`${escapeMrkdwn(String(v)).replace(/`/g, "'")}\``;
const plain = (v: unknown): string => escapeMrkdwn(String(v));
const hhmmss = (iso: string): string => (iso.length >= 19 ? `${iso.slice(11, 19)} UTC` : plain(iso));

function sessionLine(e: StreamEvent, states = true): string {
  const d = e.detail;
  const far = str(d.peer_node) ? `${code(d.peer_node)} (${plain(d.peer)})` : code(d.peer ?? '?');
  const change = states && (d.from || d.to) ? ` — ${plain(d.from ?? '?')} → ${plain(d.to ?? '?')}` : '';
  const why = states && str(d.reason) ? ` (${plain(d.reason)})` : '';
  return `${code(e.node ?? '?')} ↔ ${far}${change}${why}`;
}

const where = (e: StreamEvent): string =>
  [e.topology ? `topology ${code(e.topology)}` : '', e.engine ? `engine ${code(e.engine)}` : ''].filter(Boolean).join(' · ');

/** The headline and the lines of what happened, all lab text escaped. */
export function describe(e: StreamEvent): { title: string; lines: string[] } {
  const d = e.detail;
  switch (e.type) {
    case 'session_down':
      return {
        title: `BGP session down: ${sessionLine(e, false)}`,
        lines: [`${plain(d.from ?? '?')} → ${plain(d.to ?? '?')}${str(d.reason) ? ` (${plain(d.reason)})` : ''}`],
      };
    case 'node_died': {
      const what = d.role === 'host' ? 'Host' : 'Router';
      const lines = [
        [
          d.exit_code !== undefined ? `exit code ${plain(d.exit_code)}` : '',
          d.by === 'outside' ? 'stopped outside netstream-lab' : 'stopped by netstream-lab',
        ]
          .filter(Boolean)
          .join(' · '),
      ];
      if (str(d.drift)) lines.push(plain(d.drift));
      return { title: `${what} stopped: ${code(e.node ?? '?')}`, lines };
    }
    case 'drift':
      return {
        title: `Drift: ${plain(d.object ?? 'object')} ${code(d.name ?? e.node ?? '?')} ${plain(d.action ?? 'changed')}`,
        lines: str(d.text) ? [plain(d.text)] : [],
      };
    case 'verify_failed': {
      const lines: string[] = [];
      if (str(d.summary)) lines.push(plain(d.summary));
      else if (typeof d.failed === 'number') lines.push(`${plain(d.failed)} of ${plain(d.checks)} checks fail`);
      if (str(d.scenario))
        lines.push(
          `scenario ${code(d.scenario)}${d.failed_step !== undefined ? `, step ${plain(d.failed_step)}` : ''}${str(d.failure) ? `: ${plain(d.failure)}` : ''}`,
        );
      const failures = Array.isArray(d.failures) ? d.failures.slice(0, 5) : [];
      for (const f of failures) lines.push(`• ${plain(typeof f === 'string' ? f : JSON.stringify(f))}`);
      return { title: `Verify failed${e.topology ? `: ${code(e.topology)}` : ` (${plain(d.tool ?? 'lab_check')})`}`, lines };
    }
    default:
      return { title: `${plain(e.type)}${e.node ? ` ${code(e.node)}` : ''}`, lines: [] };
  }
}

function recoveryText(a: Alert, e: StreamEvent): string {
  const what =
    e.type === 'node_started'
      ? `${code(e.node ?? '?')} is running again`
      : e.type === 'session_up'
        ? `BGP session ${sessionLine(e, false)} is Established again`
        : e.type === 'verify_passed'
          ? `verify of ${e.topology ? code(e.topology) : 'the lab'} passes again${str(e.detail.summary) ? ` (${plain(e.detail.summary)})` : ''}`
          : plain(e.type);
  const took = Math.max(0, Date.parse(e.time) - Date.parse(a.event.time));
  return `🟢 Recovered: ${what}${Number.isFinite(took) ? ` after ${Math.round(took / 100) / 10} s` : ''}`;
}

export interface AlertButton {
  action_id: 'nslab_alert_diagnose' | 'nslab_alert_verify';
  text: string;
  tool: string;
  args: Record<string, string>;
}

/** The message of an alert as it stands: what happened, how often, whether it recovered, and its buttons. */
export function alertMessage(a: Alert, buttons: AlertButton[], windowMs: number): { text: string; blocks: Block[] } {
  const e = a.event;
  const { title, lines } = describe(e);
  const mark = a.down ? (e.type === 'drift' ? '⚠️' : '🔴') : '🟢';
  const head = `${mark} ${a.down ? '' : '~Recovered~ '}*${title}*${where(e) ? ` · ${where(e)}` : ''}`;
  const body = [...lines];
  if (a.also.size) body.push(`BGP sessions down with it:\n${[...a.also.values()].map((l) => `• ${l}`).join('\n')}`);
  if (a.count > 1)
    body.push(
      `🔁 went down ${a.count} times in ${Math.round(windowMs / 60_000)} min (first at ${hhmmss(new Date(a.firstAt).toISOString())})`,
    );
  if (!a.down && a.recovery) body.push(`🟢 recovered at ${hhmmss(a.recovery.time)} (${plain(a.recovery.type)}); see the thread`);
  const blocks: Block[] = [section(head)];
  if (body.length) blocks.push(section(clip(body.join('\n'), 2900)));
  if (buttons.length) {
    blocks.push({
      type: 'actions',
      block_id: `nslab_alert_${a.id}`,
      elements: buttons.map((b) => ({
        type: 'button',
        action_id: b.action_id,
        text: { type: 'plain_text', text: b.text },
        value: JSON.stringify({ tool: b.tool, args: b.args }),
      })),
    });
  }
  blocks.push(context(`event #${e.seq} at ${hhmmss(e.time)} · buttons run as you, with your /lab role`));
  // The notification text: the same words without the markup (still escaped: Slack reads it too).
  const text = `${a.down ? (e.type === 'drift' ? '⚠️' : '🔴') : '🟢 recovered:'} ${title}${a.count > 1 ? ` (×${a.count})` : ''}`.replace(
    /[*`~]/g,
    '',
  );
  return { text: clip(text, 300), blocks };
}

const SAFE_NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/i;

// --- following the stream ---------------------------------------------------------------------------

export interface SlackAlertsOptions extends AlertOptions {
  now?: () => number;
  log?: (msg: string) => void;
  /** how often held-back events are summed up (default 10 s) */
  tickMs?: number;
  /**
   * How long a session_down waits before it is posted (default 2 s): the BGP poll can see a
   * session drop before Docker reports the node that took it down, and a session that went down
   * with its node belongs in the node's alert. A session back up within the wait is never posted.
   */
  sessionGraceMs?: number;
}

/** Follows lab.events and posts to one channel (see AlertBook). */
export class SlackAlerts {
  readonly book: AlertBook;
  readonly #now: () => number;
  readonly #log: (msg: string) => void;
  readonly #windowMs: number;
  readonly #queue: AlertAction[] = [];
  readonly #buttons = new Map<number, AlertButton[]>();
  #draining: Promise<void> | undefined;
  #off: (() => void) | undefined;
  #release: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** session_down events waiting out sessionGraceMs, by alert key */
  readonly #waiting = new Map<string, NodeJS.Timeout>();
  /** calls made, for the log and tests */
  readonly stats = { posts: 0, updates: 0, replies: 0, failed: 0 };

  constructor(
    private readonly lab: Lab,
    private readonly api: SlackApi,
    readonly channel: string,
    private readonly opts: SlackAlertsOptions = {},
  ) {
    this.#now = opts.now ?? Date.now;
    this.#log = opts.log ?? (() => {});
    this.#windowMs = opts.windowMs ?? ALERT_DEFAULTS.windowMs;
    this.book = new AlertBook(this.#now(), opts);
  }

  /**
   * Follow the lab's event stream: starts it if the server has not (LabEvents.start() is once per
   * process: `nslab serve` and `nslab slack` start it first, with their logging), and counts as a
   * listener, so that BGP states are read at the full rate.
   */
  async start(): Promise<void> {
    if (this.#off) return;
    await this.lab.events.start();
    this.#off = this.lab.events.on((e) => this.hear(e));
    this.#release = this.lab.events.retain();
    this.#timer = setInterval(() => this.#enqueue(this.book.tick(this.#now())), this.opts.tickMs ?? 10_000);
    this.#timer.unref();
  }

  /** Stop following; what is queued is still sent (awaited). */
  async stop(): Promise<void> {
    this.#off?.();
    this.#release?.();
    this.#off = this.#release = undefined;
    clearInterval(this.#timer);
    for (const t of this.#waiting.values()) clearTimeout(t);
    this.#waiting.clear();
    await this.#draining;
  }

  /** One event (synchronous, quick: the Slack calls happen after, in order). */
  hear(e: StreamEvent): void {
    const grace = this.opts.sessionGraceMs ?? 2000;
    const key = alertKey(e)?.key;
    if (key && (e.type === 'session_down' || e.type === 'session_up') && grace > 0) {
      const waiting = this.#waiting.get(key);
      if (e.type === 'session_up' && waiting) {
        // Down and up again within the wait: nothing to tell.
        clearTimeout(waiting);
        this.#waiting.delete(key);
        return;
      }
      // The other end reporting the same drop while it waits: the waiting one says it.
      if (e.type === 'session_down' && waiting) return;
      if (e.type === 'session_down' && !this.book.alert(key)?.down) {
        const t = setTimeout(() => {
          this.#waiting.delete(key);
          this.#enqueue(this.book.event(e, this.#now()));
        }, grace);
        t.unref();
        this.#waiting.set(key, t);
        return;
      }
    }
    this.#enqueue(this.book.event(e, this.#now()));
  }

  /** Resolves when every queued call is done. */
  idle(): Promise<void> {
    return this.#draining ?? Promise.resolve();
  }

  #enqueue(actions: AlertAction[]): void {
    for (const a of actions) {
      // An edit already waiting shows the latest state when it is sent: one is enough.
      if (a.op === 'update' && this.#queue.some((q) => q.op === 'update' && q.alert === a.alert)) continue;
      this.#queue.push(a);
    }
    if (this.#queue.length && !this.#draining) {
      this.#draining = this.#drain().finally(() => {
        this.#draining = undefined;
      });
    }
  }

  async #drain(): Promise<void> {
    for (let c = this.#queue.shift(); c; c = this.#queue.shift()) {
      try {
        await this.#send(c);
      } catch (err) {
        this.stats.failed++;
        this.#log(`could not post a lab alert in ${this.channel}: ${(err as Error).message}`);
      }
    }
  }

  async #send(c: AlertAction): Promise<void> {
    if (c.op === 'summary') {
      const text = `⚠️ ${c.held} more lab event${c.held === 1 ? ' was' : 's were'} not posted here since ${hhmmss(new Date(c.since).toISOString())}: alerts are limited to ${this.opts.perMinute ?? ALERT_DEFAULTS.perMinute} a minute. \`/lab event list\` shows them all.`;
      this.stats.posts++;
      await this.api.post(this.channel, { text, blocks: [section(text)] });
      return;
    }
    const a = c.alert;
    if (c.op === 'post') {
      const msg = alertMessage(a, await this.#buttonsOf(a), this.#windowMs);
      this.stats.posts++;
      a.ts = await this.api.post(this.channel, msg);
      a.shown = msg.text + JSON.stringify(msg.blocks);
      return;
    }
    if (!a.ts) return; // its post failed: nothing to edit or reply to
    if (c.op === 'reply') {
      this.stats.replies++;
      await this.api.post(this.channel, { text: c.text, blocks: [section(c.text)] }, a.ts);
      return;
    }
    const msg = alertMessage(a, await this.#buttonsOf(a), this.#windowMs);
    const shown = msg.text + JSON.stringify(msg.blocks);
    if (shown === a.shown) return;
    const ts = a.ts;
    this.stats.updates++;
    await this.api.call(() => this.api.update(this.channel, ts, msg), 6);
    a.shown = shown;
  }

  /** Diagnose (the node's status, or the tunnel a session runs over) and Verify (its topology). */
  async #buttonsOf(a: Alert): Promise<AlertButton[]> {
    const known = this.#buttons.get(a.id);
    if (known) return known;
    const e = a.event;
    const out: AlertButton[] = [];
    const diagnose = await this.#diagnose(e).catch(() => undefined);
    if (diagnose) out.push({ action_id: 'nslab_alert_diagnose', text: 'Diagnose', ...diagnose });
    if (e.topology) out.push({ action_id: 'nslab_alert_verify', text: 'Verify', tool: 'topology_verify', args: { name: e.topology } });
    // A button names only what a tool could take (Docker-safe names): nothing else is offered.
    out.splice(0, out.length, ...out.filter((b) => Object.values(b.args).every((v) => SAFE_NAME.test(v))));
    this.#buttons.set(a.id, out);
    if (this.#buttons.size > 2 * (this.opts.maxAlerts ?? ALERT_DEFAULTS.maxAlerts))
      this.#buttons.delete(this.#buttons.keys().next().value as number);
    return out;
  }

  async #diagnose(e: StreamEvent): Promise<{ tool: string; args: Record<string, string> } | undefined> {
    const node = e.node;
    if (e.type === 'session_down' && node) {
      const state = await this.lab.store.read();
      const peer = str(e.detail.peer);
      for (const t of Object.values(state.tunnels ?? {})) {
        const ends = [t.a, t.b] as Array<{ container?: string; tunnel_ip?: string }>;
        const mine = ends.find((x) => x.container === node);
        const far = ends.find((x) => x !== mine);
        if (mine && far?.tunnel_ip && peer && far.tunnel_ip.split('/')[0] === peer)
          return { tool: 'tunnel_diagnose', args: { container: node, name: t.name } };
      }
      return { tool: 'daemon_status', args: { name: node } };
    }
    if (!node) return undefined;
    if (e.type === 'node_died') return { tool: e.detail.role === 'host' ? 'host_get' : 'daemon_status', args: { name: node } };
    if (e.type === 'drift') {
      const state = await this.lab.store.read();
      if (state.daemons[node]) return { tool: 'daemon_status', args: { name: node } };
      if (state.hosts[node]) return { tool: 'host_get', args: { name: node } };
    }
    return undefined;
  }
}
