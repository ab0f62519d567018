import { isRateLimited, type SlackApi, sleep } from './api.js';
import { type Block, clip, context, duration, type Rendered, section } from './render.js';

/**
 * One channel message that follows a long operation: posted when it starts, updated as progress
 * arrives (at most once per interval, only the latest state, later when Slack answers 429 with
 * Retry-After), and finally replaced by the result, with files in its thread.
 */
export class ProgressMessage {
  ts: string | undefined;
  private readonly started = Date.now();
  private latest: { message: string; fraction?: number | undefined } | undefined;
  private sentAt = 0;
  private notBefore = 0;
  private inFlight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private done = false;
  /** chat.update calls made, and 429s honoured (for the log and tests) */
  readonly stats = { updates: 0, rateLimited: 0 };

  constructor(
    private readonly api: SlackApi,
    readonly channel: string,
    private readonly heading: string,
    private readonly intervalMs = 1000,
    private readonly log: (msg: string) => void = () => {},
  ) {}

  async start(): Promise<boolean> {
    try {
      this.ts = await this.api.post(this.channel, this.view('started'));
      return true;
    } catch (err) {
      this.log(`could not post in ${this.channel}: ${(err as Error).message}`);
      return false;
    }
  }

  elapsedS(): number {
    return (Date.now() - this.started) / 1000;
  }

  /** The operation's progress callback: cheap, never waits, never throws. */
  readonly note = (message: string, fraction?: number): void => {
    if (this.done || !this.ts) return;
    this.latest = { message, fraction };
    this.schedule();
  };

  private schedule(): void {
    if (this.inFlight || this.timer || !this.latest) return;
    const wait = Math.max(0, this.sentAt + this.intervalMs - Date.now(), this.notBefore - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.inFlight = this.flush().finally(() => {
        this.inFlight = undefined;
        this.schedule();
      });
    }, wait);
  }

  private async flush(): Promise<void> {
    const state = this.latest;
    if (!state || this.done || !this.ts) return;
    this.latest = undefined;
    try {
      this.sentAt = Date.now();
      this.stats.updates++;
      await this.api.update(this.channel, this.ts, this.view(state.message, state.fraction));
    } catch (err) {
      if (isRateLimited(err)) {
        // Honour Retry-After; the state we could not show stays the one to show (unless newer came).
        this.stats.rateLimited++;
        this.notBefore = Date.now() + err.retryAfter * 1000;
        this.latest ??= state;
      } else this.log(`progress update failed: ${(err as Error).message}`);
    }
  }

  private view(message: string, fraction?: number): { text: string; blocks: Block[] } {
    const bar =
      fraction === undefined
        ? ''
        : `${'▓'.repeat(Math.round(fraction * 10))}${'░'.repeat(10 - Math.round(fraction * 10))} ${Math.round(fraction * 100)}% · `;
    return {
      text: `⏳ ${this.heading}: ${message}`.replace(/[*`]/g, ''),
      blocks: [section(`⏳ ${this.heading}`), context(clip(`${bar}${message} · ${duration(this.elapsedS())} so far`, 1900))],
    };
  }

  /** Replace the message by the result (waiting out a 429 if need be); files go in its thread. */
  async finish(result: Rendered): Promise<void> {
    this.done = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
    if (!this.ts) return;
    const wait = this.notBefore - Date.now();
    if (wait > 0) await sleep(wait);
    const ts = this.ts;
    await this.api.call(() => {
      this.stats.updates++;
      return this.api.update(this.channel, ts, result);
    }, 6);
    for (const u of result.uploads) await this.api.upload(u, { channel: this.channel, threadTs: ts });
  }
}
