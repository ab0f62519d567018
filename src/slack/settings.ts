import { parseBool } from '../config.js';

/**
 * Slack settings (docs/interfaces.md: SLACK_*, NSLAB_SLACK_*), read from the environment the
 * same way as the rest of the configuration (booleans 1/true/yes, empty = unset).
 */
export interface SlackConfig {
  signingSecret: string | undefined;
  botToken: string;
  /** Socket Mode when set */
  appToken: string | undefined;
  apiUrl: string | undefined;
  admins: string[];
  operators: string[];
  /** empty: every channel */
  channels: string[];
  /** `--yes` may skip the confirmation button of a destructive command */
  allowYes: boolean;
  confirmTtlS: number;
  /** NSLAB_SLACK_ALERT_CHANNEL: the channel id lab alerts are posted in (src/slack/alerts.ts); unset: no alerts */
  alertChannel: string | undefined;
}

const ids = (raw: string | undefined): string[] => (raw ?? '').split(/[\s,]+/).filter(Boolean);

/** Undefined when Slack is not configured (a bot token, and a signing secret or an app token). */
export function loadSlackConfig(env: NodeJS.ProcessEnv = process.env): SlackConfig | undefined {
  const botToken = env.SLACK_BOT_TOKEN?.trim();
  const signingSecret = env.SLACK_SIGNING_SECRET?.trim() || undefined;
  const appToken = env.SLACK_APP_TOKEN?.trim() || undefined;
  // HTTP needs the signing secret to check who sent a request; Socket Mode needs the app token.
  if (!botToken || (!signingSecret && !appToken)) return undefined;
  const rawTtl = env.NSLAB_SLACK_CONFIRM_TTL_S?.trim();
  const ttl = rawTtl ? Number(rawTtl) : 300;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 3600) {
    throw new Error(`NSLAB_SLACK_CONFIRM_TTL_S=${rawTtl} must be a whole number of seconds between 1 and 3600`);
  }
  const alertChannel = env.NSLAB_SLACK_ALERT_CHANNEL?.trim() || undefined;
  const channels = ids(env.NSLAB_SLACK_CHANNELS);
  if (alertChannel !== undefined && !/^[CGD][A-Z0-9]{2,30}$/.test(alertChannel)) {
    throw new Error(
      `NSLAB_SLACK_ALERT_CHANNEL=${alertChannel} is not a channel id: give the id (like C0123ABCD: the channel's details show it at the bottom), not its name`,
    );
  }
  if (alertChannel !== undefined && channels.length && !channels.includes(alertChannel)) {
    throw new Error(
      `NSLAB_SLACK_ALERT_CHANNEL=${alertChannel} is not in NSLAB_SLACK_CHANNELS, so the buttons of its alerts would be refused: add it there, or post alerts in one of ${channels.join(', ')}`,
    );
  }
  return {
    signingSecret,
    botToken,
    appToken,
    apiUrl: env.SLACK_API_URL?.trim() || undefined,
    admins: ids(env.NSLAB_SLACK_ADMINS),
    operators: ids(env.NSLAB_SLACK_OPERATORS),
    channels,
    allowYes: parseBool('NSLAB_SLACK_ALLOW_YES', env.NSLAB_SLACK_ALLOW_YES, false),
    confirmTtlS: ttl,
    alertChannel,
  };
}
