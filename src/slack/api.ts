import { webApi } from '@slack/bolt';
import type { Block, Upload } from './render.js';

export interface SlackMessage {
  text: string;
  blocks?: Block[];
}

interface RateLimited {
  code: string;
  retryAfter: number;
}
const isRateLimited = (err: unknown): err is RateLimited => (err as RateLimited)?.code === webApi.ErrorCode.RateLimitedError;

/** Slack's Web API (SLACK_API_URL in tests), every call honouring 429 Retry-After. */
export class SlackApi {
  readonly client: webApi.WebClient;

  constructor(token: string, apiUrl: string | undefined) {
    // Rate limits come back to us as errors (not retried inside the client), so that a progress
    // updater can skip stale updates instead of queueing them behind the wait.
    this.client = new webApi.WebClient(token, {
      ...(apiUrl ? { slackApiUrl: apiUrl } : {}),
      rejectRateLimitedCalls: true,
      retryConfig: { retries: 2, factor: 2, minTimeout: 200, maxTimeout: 2000 },
    });
  }

  /** Run one call; on 429 wait what Slack says and try again, up to `tries` times. */
  async call<T>(fn: () => Promise<T>, tries = 4): Promise<T> {
    for (let i = 1; ; i++) {
      try {
        return await fn();
      } catch (err) {
        if (!isRateLimited(err) || i >= tries) throw err;
        await sleep(err.retryAfter * 1000);
      }
    }
  }

  async post(channel: string, msg: SlackMessage, threadTs?: string): Promise<string> {
    const args = { channel, text: msg.text, ...(msg.blocks ? { blocks: msg.blocks } : {}), ...(threadTs ? { thread_ts: threadTs } : {}) };
    const res = await this.call(() => this.client.chat.postMessage(args as webApi.ChatPostMessageArguments));
    return res.ts as string;
  }

  /** One attempt; a 429 is thrown with its retryAfter (seconds) for the caller to honour. */
  update(channel: string, ts: string, msg: SlackMessage): Promise<unknown> {
    return this.client.chat.update({ channel, ts, text: msg.text, ...(msg.blocks ? { blocks: msg.blocks } : {}) });
  }

  /** files upload v2 (get URL, send bytes, complete): shared in a channel/thread, or private when no channel. */
  async upload(u: Upload, where: { channel?: string; threadTs?: string } = {}): Promise<{ id: string; permalink?: string }> {
    const args = {
      filename: u.filename,
      title: u.title.replace(/[*`]/g, '').slice(0, 250),
      ...(typeof u.content === 'string' ? { content: u.content } : { file: u.content }),
      ...(where.channel ? { channel_id: where.channel } : {}),
      ...(where.channel && where.threadTs ? { thread_ts: where.threadTs } : {}),
      ...(u.image ? { alt_text: u.title.replace(/[*`]/g, '').slice(0, 250) } : {}),
    };
    // biome-ignore lint/suspicious/noExplicitAny: the v2 argument union is wider than its type says
    const res = (await this.call(() => this.client.filesUploadV2(args as any))) as {
      files?: Array<{ files?: Array<{ id: string; permalink?: string }> }>;
    };
    const file = res.files?.[0]?.files?.[0];
    if (!file?.id) throw new Error('Slack accepted the upload but named no file');
    return file;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export { isRateLimited };
