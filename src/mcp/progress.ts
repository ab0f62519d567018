import type { ProgressToken } from '@modelcontextprotocol/sdk/types.js';
import type { Progress } from '../core/progress.js';
import type { McpLog, Notify } from './logging.js';

export interface CallProgress {
  /** what runTool passes to the core as ctx.progress */
  progress: Progress;
  /** the call ended: no more heartbeats */
  stop(): void;
}

/**
 * Progress of one tool call. With a progress token each step is a `notifications/progress` whose
 * `progress` only grows (a counter: the core's fractions go back down when a standup rolls back);
 * a call that says nothing for `heartbeatMs` gets a "still running" step, so every long tool
 * (an exec, a diagnosis, a delete) keeps the client's timeout alive. Each step is also a debug log
 * message. A send that fails is dropped: reporting never breaks the operation it reports on.
 */
export function callProgress(
  tool: string,
  token: ProgressToken | undefined,
  notify: Notify,
  log: McpLog,
  heartbeatMs: number,
): CallProgress {
  const started = Date.now();
  let step = 0;
  let last = started;
  const progress: Progress = (message, fraction) => {
    try {
      last = Date.now();
      log.send('debug', message, { tool, ...(fraction === undefined ? {} : { fraction }) }, notify);
      if (token === undefined) return;
      step += 1;
      notify({ method: 'notifications/progress', params: { progressToken: token, progress: step, message } }).catch(() => undefined);
    } catch {
      // a closed transport throws synchronously in some SDK paths: still nothing to report
    }
  };
  const timer =
    token === undefined
      ? undefined
      : // checked a few times per period: timers fire a little early or late
        setInterval(
          () => {
            if (Date.now() - last >= heartbeatMs) progress(`${tool} still running (${Math.round((Date.now() - started) / 1000)} s)`);
          },
          Math.max(10, Math.min(1000, heartbeatMs / 4)),
        );
  timer?.unref();
  return { progress, stop: () => clearInterval(timer) };
}
