import {
  type AnyTool,
  type CallPolicy,
  callEffect,
  catalogue,
  checkCall,
  phrase,
  runTool,
  type ToolOutcome,
  unavailable,
  visibleTools,
} from '../../tools/index.js';
import type { LabError } from '../core/errors.js';
import type { Lab } from '../core/lab.js';
import { maskText } from '../core/secrets.js';
import { channelRefusal, refusal, roleOf } from './access.js';
import type { SlackApi } from './api.js';
import { Confirmations, confirmBlocks } from './confirm.js';
import { parseCommand } from './grammar.js';
import { overview, resourceHelp, toolHelp } from './help.js';
import { InFlight } from './inflight.js';
import { ProgressMessage } from './progress.js';
import { type Block, context, duration, escapeMrkdwn, type Rendered, renderResult, section } from './render.js';
import type { SlackConfig } from './settings.js';

/** What a `/lab` answer looks like on the wire (ack body or response_url payload). */
export interface Reply {
  response_type?: 'ephemeral' | 'in_channel';
  replace_original?: boolean;
  delete_original?: boolean;
  text: string;
  blocks?: Block[];
}
export type Send = (reply?: Reply) => Promise<unknown>;
export interface Invocation {
  text: string;
  user: string;
  channel: string;
}
export interface CommandOptions {
  /** shortest time between two progress updates of one message */
  updateIntervalMs?: number;
  /** a read that answers within this time is answered in the acknowledgement itself */
  readBudgetMs?: number;
  log?: (msg: string) => void;
  /** calls at a time per user and in all (default SLACK_LIMITS) */
  limits?: { perUser: number; total: number };
}

const ephemeral = (text: string, blocks?: Block[]): Reply => ({ response_type: 'ephemeral', text, blocks: blocks ?? splitSections(text) });

/** The `/lab` command and its confirmation buttons: everything between Bolt and runTool. */
export class LabCommands {
  readonly confirmations: Confirmations;
  private readonly log: (msg: string) => void;
  private readonly inflight: InFlight;

  constructor(
    private readonly lab: Lab,
    private readonly cfg: SlackConfig,
    private readonly api: SlackApi,
    private readonly opts: CommandOptions = {},
  ) {
    this.confirmations = new Confirmations(cfg.confirmTtlS * 1000);
    this.log = opts.log ?? (() => {});
    this.inflight = new InFlight(opts.limits);
  }

  /** Answer a slash command: `ack` must be called within 3 s, `respond` posts to its response_url later. */
  async command(inv: Invocation, ack: Send, respond: Send): Promise<void> {
    const where = channelRefusal(inv.channel, this.cfg);
    if (where) return void (await ack(ephemeral(`🚫 ${where}`)));
    const role = roleOf(inv.user, this.cfg);
    const tools = visibleTools(this.lab.config);
    const cmd = parseCommand(inv.text, catalogue);
    if (cmd.kind === 'help') {
      const text = cmd.tool
        ? (this.whyNot(cmd.tool, inv) ?? toolHelp(cmd.tool))
        : cmd.resource
          ? resourceHelp(cmd.resource, tools, role)
          : overview(tools, role);
      return void (await ack(ephemeral(text)));
    }
    if (cmd.kind === 'error') return void (await ack(ephemeral(`❌ ${cmd.message}${cmd.hint ? `\n${cmd.hint}` : ''}`)));
    return this.dispatch(cmd.tool, cmd.args, { yes: cmd.yes, public: cmd.public }, inv, shownCommand(inv.text), ack, respond);
  }

  /**
   * A button under a lab alert (src/slack/alerts.ts): the read it names runs for whoever clicked,
   * down the same path as `/lab` (the channel, the member's role, the tool's schema, in-flight
   * limits). Only the tools alerts offer are taken; the answer goes to the clicker alone.
   */
  async alertButton(value: string, user: string, channel: string, respond: Send): Promise<void> {
    const asked = alertCall(value);
    const say: Send = async (r) => (r ? respond({ ...r, replace_original: false }) : undefined);
    if (!asked) return void (await say(ephemeral('🚫 this button does not name a diagnosis this app offers')));
    const tool = catalogue.find((t) => t.name === asked.tool);
    if (!tool) return void (await say(ephemeral(`🚫 ${asked.tool} is not a tool of this server`)));
    const { name, ...rest } = asked.args;
    const text = [asked.tool.replace('_', ' '), ...(name ? [name] : []), ...Object.entries(rest).map(([k, v]) => `${k}=${v}`)].join(' ');
    const inv = { text, user, channel };
    return this.dispatch(tool, asked.args, { yes: false, public: false }, inv, shownCommand(text), say, say);
  }

  private async dispatch(
    tool: AnyTool,
    args: Record<string, unknown>,
    flags: { yes: boolean; public: boolean },
    inv: Invocation,
    shown: string,
    ack: Send,
    respond: Send,
  ): Promise<void> {
    const cmd = { tool, args, ...flags };
    // The policy (the tool is on, this member's role allows it, the input is valid) answers before
    // anything is shown in the channel; a refused change is audited there, as on every front end.
    const checked = await checkCall(this.lab, cmd.tool.name, cmd.args, this.ctx(inv), this.policy(inv));
    if (!checked.ok) {
      if (refusedOutright(checked.error)) return void (await ack(ephemeral(`🚫 ${checked.error.message}`)));
      return void (await ack(this.reply(cmd.tool, checked, `${shown}`, 'ephemeral', 0)));
    }
    const busy = this.inflight.refusal(inv.user);
    if (busy) return void (await ack(ephemeral(`🚦 ${busy}`)));
    if (cmd.tool.effect === 'read') {
      return this.inflight.run(inv.user, () => this.read(cmd.tool, cmd.args, inv, shown, cmd.public, ack, respond));
    }
    if (callEffect(cmd.tool, cmd.args) === 'destructive' && !(cmd.yes && this.cfg.allowYes)) {
      const p = this.confirmations.add({ user: inv.user, channel: inv.channel, tool: cmd.tool, args: cmd.args, shown });
      const note = cmd.yes ? '`--yes` cannot skip this question here (NSLAB_SLACK_ALLOW_YES is off).' : undefined;
      return void (await ack({ response_type: 'ephemeral', text: `Run ${shown}?`, blocks: confirmBlocks(p, this.cfg.confirmTtlS, note) }));
    }
    await ack();
    await this.inflight.run(inv.user, () => this.change(cmd.tool, cmd.args, inv, shown, respond));
  }

  /** A click on Run or Cancel under a confirmation question. */
  async button(action: 'confirm' | 'cancel', id: string, user: string, respond: Send): Promise<void> {
    // Checked before the question is taken, so that Run can be clicked again once a call ends.
    const busy = action === 'confirm' ? this.inflight.refusal(user) : undefined;
    if (busy) return void (await respond({ response_type: 'ephemeral', text: `🚦 ${busy}, then click Run again` }));
    const taken = this.confirmations.take(id, user);
    if (!taken.ok) {
      // Someone else's click leaves the question where it is, for its author.
      await respond({ response_type: 'ephemeral', replace_original: taken.expired === true, text: `🚫 ${taken.why}` });
      return;
    }
    const p = taken.pending;
    if (action === 'cancel') return void (await respond({ replace_original: true, text: `Cancelled: ${p.shown} was not run.` }));
    const inv = { text: p.shown, user, channel: p.channel };
    // Asked again at the click: a role or the server's mode may have changed while the question waited.
    const checked = await checkCall(this.lab, p.tool.name, p.args, this.ctx(inv), this.policy(inv));
    if (!checked.ok) return void (await respond({ replace_original: true, text: `🚫 ${checked.error.message}` }));
    await respond({ replace_original: true, text: `Confirmed: running ${p.shown}; its progress is posted in the channel.` });
    await this.inflight.run(user, () => this.change(p.tool, p.args, inv, p.shown, respond));
  }

  private whyNot(tool: AnyTool, inv: Invocation, args: Record<string, unknown> = {}): string | undefined {
    const off = unavailable(tool, this.lab.config);
    return off ? phrase(off, 'slack') : refusal(tool, inv.user, inv.channel, this.cfg, args);
  }

  /** Who is calling, for the policy: this member's role in this channel. */
  private policy(inv: Invocation): CallPolicy {
    return { access: (tool, _effect, args) => refusal(tool, inv.user, inv.channel, this.cfg, args) };
  }

  private ctx(inv: Invocation, progress?: (m: string, f?: number) => void) {
    return { caller: { front_end: 'slack', id: `${inv.user}@${inv.channel}` }, ...(progress ? { progress } : {}) };
  }

  private async read(tool: AnyTool, args: Record<string, unknown>, inv: Invocation, shown: string, pub: boolean, ack: Send, respond: Send) {
    const started = Date.now();
    const call = runTool(this.lab, tool.name, args, this.ctx(inv), this.policy(inv));
    const quick = await Promise.race([
      call,
      new Promise<undefined>((r) => setTimeout(() => r(undefined), this.opts.readBudgetMs ?? 2000).unref()),
    ]);
    const kind = pub ? 'in_channel' : 'ephemeral';
    if (quick && !(quick.ok && renderResult(tool, quick.result, '').uploads.length)) {
      return void (await ack(this.reply(tool, quick, shown, kind, Date.now() - started)));
    }
    await ack(ephemeral(`⏳ ${shown}…`));
    const outcome = await call;
    const reply = this.reply(tool, outcome, shown, kind, Date.now() - started);
    if (outcome.ok) await this.attach(tool, outcome.result, reply);
    await respond(reply);
  }

  /** Files of a read: an image is shown in the answer; a long output is linked (reads have no thread). */
  private async attach(tool: AnyTool, result: Record<string, unknown>, reply: Reply): Promise<void> {
    for (const u of renderResult(tool, result, reply.text).uploads) {
      try {
        const file = await this.api.upload(u);
        reply.blocks?.push(
          u.image
            ? { type: 'image', slack_file: { id: file.id }, alt_text: u.title.replace(/[*`]/g, '').slice(0, 250) }
            : context(`Full output: ${file.permalink ? `<${file.permalink}|${u.filename}>` : u.filename}`),
        );
      } catch (err) {
        reply.blocks?.push(context(`(could not upload ${u.filename}: ${(err as Error).message})`));
      }
    }
  }

  /** A change: one message in the channel, updated with progress, ending with the result. */
  private async change(tool: AnyTool, args: Record<string, unknown>, inv: Invocation, shown: string, respond: Send): Promise<void> {
    const heading = `<@${inv.user}> ran ${shown}`;
    const msg = new ProgressMessage(this.api, inv.channel, heading, this.opts.updateIntervalMs ?? 1500, this.log);
    const posted = await msg.start();
    const outcome = await runTool(this.lab, tool.name, args, this.ctx(inv, msg.note), this.policy(inv));
    const reply = this.reply(tool, outcome, shown, 'in_channel', msg.elapsedS() * 1000, heading);
    try {
      if (posted) return await msg.finish({ ...reply, blocks: reply.blocks ?? [], uploads: this.uploads(tool, outcome) });
    } catch (err) {
      this.log(`could not post the result in ${inv.channel}: ${(err as Error).message}`);
    }
    // Not in the channel (a private one the app was not invited to): the result still reaches it.
    await respond(reply);
  }

  private uploads(tool: AnyTool, outcome: ToolOutcome): Rendered['uploads'] {
    return outcome.ok ? renderResult(tool, outcome.result, tool.title).uploads : [];
  }

  private reply(tool: AnyTool, outcome: ToolOutcome, shown: string, kind: Reply['response_type'], ms: number, who?: string): Reply {
    const took = ms >= 1000 || kind === 'in_channel' ? ` in ${duration(ms / 1000)}` : '';
    const head = who ?? shown;
    if (outcome.ok) {
      const r = renderResult(tool, outcome.result, tool.effect === 'read' ? `*${tool.title}* · ${shown}` : `✅ ${head} — done${took}`);
      return { response_type: kind, text: r.text, blocks: r.blocks };
    }
    // Errors answer the caller alone, unless they end a change everyone saw start.
    return {
      response_type: tool.effect === 'read' ? 'ephemeral' : kind,
      ...errorView(outcome.error, head, took && ` after${took.slice(3)}`),
    };
  }
}

/** The reads an alert's buttons may ask for (src/slack/alerts.ts), with string arguments only. */
export const ALERT_TOOLS = ['daemon_status', 'host_get', 'tunnel_diagnose', 'topology_verify'] as const;

/** `{"tool": ..., "args": {...}}` from a button's value, or undefined when it is not one of ALERT_TOOLS with string args. */
export function alertCall(value: string): { tool: string; args: Record<string, string> } | undefined {
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch {
    return undefined;
  }
  const o = v as { tool?: unknown; args?: unknown };
  if (!o || typeof o !== 'object' || typeof o.tool !== 'string' || !(ALERT_TOOLS as readonly string[]).includes(o.tool)) return undefined;
  if (!o.args || typeof o.args !== 'object' || Array.isArray(o.args)) return undefined;
  const args: Record<string, string> = Object.create(null);
  for (const [k, x] of Object.entries(o.args)) {
    if (typeof x !== 'string' || k === '__proto__') return undefined;
    args[k] = x;
  }
  return { tool: o.tool, args };
}

/** Refused before its input is looked at (the tool is off here, or the member's role): one line. */
const refusedOutright = (e: LabError): boolean => e.code === 'READ_ONLY' || e.code === 'FORBIDDEN';

export function errorView(err: LabError, head: string, after: string): { text: string; blocks: Block[] } {
  const message = escapeMrkdwn(err.message);
  const text = `❌ ${head} — failed${after}: ${message}`;
  return {
    text,
    blocks: [
      section(`❌ ${head} — failed${after}`),
      ...splitSections(message),
      ...(err.hint ? [context(`💡 ${escapeMrkdwn(err.hint)}`)] : []),
      context(`code: ${err.code}`),
    ],
  };
}

/** The command as typed, for messages: one line, code blocks shown as such. */
export function shownCommand(text: string): string {
  // The channel sees what was run, never a password typed with it, nor a mention it carried.
  const line = escapeMrkdwn(maskText(text))
    .replace(/```[\s\S]*?```/g, '(code block)')
    .replace(/\s+/g, ' ')
    .trim();
  return `\`/lab ${line.length > 150 ? `${line.slice(0, 149)}…` : line}\``;
}

/** Long text as several sections (3000 characters each at most), split at line ends. */
export function splitSections(text: string): Block[] {
  const out: Block[] = [];
  let cur = '';
  for (const line of text.split('\n')) {
    if (cur && cur.length + line.length + 1 > 2900) {
      out.push(section(cur));
      cur = '';
    }
    cur = cur ? `${cur}\n${line}` : line;
  }
  if (cur) out.push(section(cur));
  return out.slice(0, 45);
}
