import type { IncomingMessage, ServerResponse } from 'node:http';
import { App, type Authorize, HTTPReceiver, type Logger, LogLevel, SocketModeReceiver } from '@slack/bolt';
import type { Lab } from '../core/lab.js';
import { bodyUnread, HttpRefusal, lingerBeforeClose, readBody } from '../http/body.js';
import { SLACK_BODY_TIMEOUT_MS, slackPrecheck } from '../http/guard.js';
import { createLogger } from '../log.js';
import { SlackAlerts, type SlackAlertsOptions } from './alerts.js';
import { SlackApi } from './api.js';
import { type CommandOptions, LabCommands, type Reply, type Send } from './commands.js';
import { loadSlackConfig, type SlackConfig } from './settings.js';

/** Slack as `nslab serve` mounts it (HTTP at /slack/events) and `nslab slack` runs it. */
export interface SlackFrontEnd {
  /** 'socket' when SLACK_APP_TOKEN is set (start() connects), else 'http' */
  mode: 'http' | 'socket';
  /** Slack's slash commands and button clicks over HTTP, signature checked by Bolt's HTTPReceiver */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** checks the bot token (auth.test), and connects Socket Mode when SLACK_APP_TOKEN is set */
  start(): Promise<void>;
  stop(): Promise<void>;
  commands: LabCommands;
  /** lab alerts in NSLAB_SLACK_ALERT_CHANNEL (started by start()), when it is set */
  alerts: SlackAlerts | undefined;
}

/** Undefined when Slack is not configured (SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET or SLACK_APP_TOKEN). */
export function createSlack(
  lab: Lab,
  env: NodeJS.ProcessEnv = process.env,
  opts: CommandOptions & {
    /** tests shorten SLACK_BODY_TIMEOUT_MS */ bodyTimeoutMs?: number;
    /** tests shorten the alerts' flap window and rate limit */ alerts?: SlackAlertsOptions;
  } = {},
): SlackFrontEnd | undefined {
  const cfg = loadSlackConfig(env);
  if (!cfg) return undefined;
  const pino = createLogger(lab.config.logLevel).child({ front_end: 'slack' });
  const logger = boltLogger(pino);
  const api = new SlackApi(cfg.botToken, cfg.apiUrl);
  const { bodyTimeoutMs = SLACK_BODY_TIMEOUT_MS, alerts: alertOptions, ...commandOptions } = opts;
  const commands = new LabCommands(lab, cfg, api, { log: (m) => pino.warn(m), ...commandOptions });
  const alerts = cfg.alertChannel ? new SlackAlerts(lab, api, cfg.alertChannel, { log: (m) => pino.warn(m), ...alertOptions }) : undefined;
  const clientOptions = cfg.apiUrl ? { slackApiUrl: cfg.apiUrl } : {};
  // The bot token is checked once at start (auth.test), not by Bolt at construction, where a
  // refusal would be an unhandled rejection.
  const authorize: Authorize<boolean> = async () => ({ botToken: cfg.botToken });

  const http = cfg.signingSecret
    ? new HTTPReceiver({ signingSecret: cfg.signingSecret, endpoints: '/slack/events', logger, processBeforeResponse: false })
    : undefined;
  if (http) wire(new App({ receiver: http, authorize, logger, clientOptions }), commands, pino);
  const socket = cfg.appToken ? new SocketModeReceiver({ appToken: cfg.appToken, logger, installerOptions: { clientOptions } }) : undefined;
  const socketApp = socket ? new App({ receiver: socket, authorize, logger, clientOptions }) : undefined;
  if (socketApp) wire(socketApp, commands, pino);

  return {
    mode: socket ? 'socket' : 'http',
    commands,
    alerts,
    async handle(req, res) {
      if (!http)
        return refuse(res, 404, 'Slack runs in Socket Mode here (SLACK_APP_TOKEN); set SLACK_SIGNING_SECRET to take HTTP requests');
      // Bolt answers only POST /slack/events (it throws for anything else, below, without reading a body).
      if (req.method === 'POST' && new URL(req.url ?? '/', 'http://localhost').pathname === '/slack/events') {
        // The headers first: an unsigned or stale request is refused before its body is read, and
        // a signed one may send only so much, within a time.
        const check = slackPrecheck(req);
        if (!check.ok) {
          pino.warn({ status: check.status, reason: check.message }, 'refused a request to /slack/events');
          return refuse(res, check.status, check.message, true);
        }
        try {
          // Bolt takes a body already read (its rawBody) as it is; the signature is Bolt's to check.
          (req as IncomingMessage & { rawBody?: Buffer }).rawBody = await readBody(req, {
            maxBytes: check.maxBytes,
            timeoutMs: bodyTimeoutMs,
          });
        } catch (err) {
          if (!(err instanceof HttpRefusal)) throw err;
          pino.warn({ status: err.status, reason: err.message }, 'refused a request to /slack/events');
          return refuse(res, err.status, err.message, true);
        }
      }
      const done = new Promise<void>((resolve) => {
        res.once('finish', resolve);
        res.once('close', resolve);
      });
      try {
        http.requestListener(req, res);
      } catch {
        // Bolt answers only POST /slack/events; it throws for anything else.
        return refuse(res, 405, 'Slack posts to /slack/events', bodyUnread(req));
      }
      await done;
    },
    async start() {
      const who = await api.client.auth.test().catch((err: Error) => {
        throw new Error(`Slack refused the bot token (SLACK_BOT_TOKEN): ${err.message}`);
      });
      pino.info({ team: who.team, bot: who.user, mode: socket ? 'socket' : 'http' }, 'Slack ready');
      if (socketApp) await socketApp.start();
      if (alerts) {
        await alerts.start();
        pino.info({ channel: alerts.channel }, 'Slack alerts on');
      }
    },
    async stop() {
      await alerts?.stop();
      if (socketApp) await socketApp.stop();
    },
  };
}

function wire(app: App, commands: LabCommands, log: ReturnType<typeof createLogger>): void {
  app.command(/^\/lab/, async ({ command, ack, respond }) => {
    const inv = { text: command.text ?? '', user: command.user_id, channel: command.channel_id };
    const acked = { done: false };
    const once: Send = async (r) => {
      acked.done = true;
      await ack(r as Parameters<typeof ack>[0]);
    };
    try {
      await commands.command(inv, once, (r) => respond(r as Reply & Parameters<typeof respond>[0]));
    } catch (err) {
      log.error({ err }, 'a /lab command failed');
      const reply = { response_type: 'ephemeral' as const, text: `❌ internal error: ${(err as Error).message}` };
      await (acked.done ? respond(reply) : ack(reply)).catch(() => undefined);
    }
  });
  for (const action of ['confirm', 'cancel'] as const) {
    app.action({ action_id: `nslab_${action}` }, async ({ ack, body, action: a, respond }) => {
      await ack();
      const id = (a as { value?: string }).value ?? '';
      try {
        await commands.button(action, id, body.user.id, (r) => respond(r as Reply & Parameters<typeof respond>[0]));
      } catch (err) {
        log.error({ err }, 'a /lab button failed');
        await respond({ response_type: 'ephemeral', replace_original: false, text: `❌ internal error: ${(err as Error).message}` }).catch(
          () => undefined,
        );
      }
    });
  }
  // The buttons under a lab alert: the read they name runs for whoever clicked, as /lab would.
  for (const id of ['nslab_alert_diagnose', 'nslab_alert_verify']) {
    app.action({ action_id: id }, async ({ ack, body, action: a, respond }) => {
      await ack();
      const channel = (body as { channel?: { id?: string } }).channel?.id ?? '';
      try {
        await commands.alertButton((a as { value?: string }).value ?? '', body.user.id, channel, (r) =>
          respond(r as Reply & Parameters<typeof respond>[0]),
        );
      } catch (err) {
        log.error({ err }, 'an alert button failed');
        await respond({ response_type: 'ephemeral', replace_original: false, text: `❌ internal error: ${(err as Error).message}` }).catch(
          () => undefined,
        );
      }
    });
  }
  app.error(async (err) => {
    log.error({ err }, 'Bolt error');
  });
}

/** `close`: the body was not read (all of it): the connection closes rather than reading the rest. */
function refuse(res: ServerResponse, status: number, message?: string, close = false): void {
  if (res.headersSent || res.destroyed) return;
  if (close) lingerBeforeClose(res);
  res
    .writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...(close ? { connection: 'close' } : {}) })
    .end(message ? `${message}\n` : undefined);
}

/** Bolt's logger interface over our pino logger (stderr). */
function boltLogger(pino: ReturnType<typeof createLogger>): Logger {
  const text = (msg: unknown[]) =>
    msg.map((m) => (typeof m === 'string' ? m : m instanceof Error ? m.message : JSON.stringify(m))).join(' ');
  let level = LogLevel.INFO;
  return {
    debug: (...m) => pino.debug(text(m)),
    info: (...m) => pino.info(text(m)),
    warn: (...m) => pino.warn(text(m)),
    error: (...m) => pino.error(text(m)),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}

export type { SlackConfig };
