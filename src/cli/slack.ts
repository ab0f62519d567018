import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Command } from 'commander';
import { drainCalls } from '../../tools/index.js';
import type { Lab } from '../core/lab.js';
import { createLogger } from '../log.js';
import { startUpkeep, stopOnSignals } from './upkeep.js';

/** `nslab slack`: Slack only; Socket Mode when SLACK_APP_TOKEN is set, otherwise HTTP on --port. */
export function slackCommand(program: Command, lab: () => Lab, fail: (message: string) => never): void {
  program
    .command('slack')
    .description('Slack /lab only: Socket Mode when SLACK_APP_TOKEN is set, otherwise HTTP (POST /slack/events) on --port')
    .option('--host <address>', 'address to bind in HTTP mode (Slack signs its requests)', '127.0.0.1')
    .option('--port <port>', 'TCP port in HTTP mode (0 picks a free one)', '3000')
    .action(async (flags: { host: string; port: string }) => {
      // Loaded here: other nslab commands need not load Bolt at start.
      const { createSlack } = await import('../slack/app.js');
      const l = lab();
      const log = createLogger(l.config.logLevel);
      let slack: ReturnType<typeof createSlack>;
      try {
        slack = createSlack(l);
      } catch (err) {
        fail((err as Error).message);
      }
      if (!slack) {
        fail(
          'Slack is not configured: set SLACK_BOT_TOKEN, and SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP); the README section "Slack" has the five steps',
        );
      }
      const port = Number(flags.port);
      if (!Number.isInteger(port) || port < 0 || port > 65_535) fail(`--port ${flags.port} is not a TCP port`);
      // Upkeep first: it starts the lab's event stream with its logging, which the alerts follow.
      const stopUpkeep = startUpkeep(l, log);
      await slack.start().catch((err: Error) => fail(err.message));
      let close = async () => {};
      if (slack.mode === 'socket') {
        process.stdout.write(`${JSON.stringify({ socket_mode: true })}\n`);
      } else {
        const front = slack;
        const server = createServer((req, res) => {
          front.handle(req, res).catch((err: unknown) => {
            log.error({ err: String(err) }, 'a Slack request failed');
            if (!res.headersSent) res.writeHead(500).end();
          });
        });
        await new Promise<void>((resolve) => {
          server.once('error', (err) => fail(`cannot listen on ${flags.host}:${port}: ${err.message}`));
          server.listen(port, flags.host, resolve);
        });
        const addr = server.address() as AddressInfo;
        const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
        // Machine-readable first line, like `nslab serve`, so that scripts learn the port.
        process.stdout.write(`${JSON.stringify({ listening: url, events: `${url}/slack/events` })}\n`);
        close = () => new Promise<void>((r) => server.close(() => r()));
      }
      stopOnSignals(log, 'Slack: stopping; letting running commands finish', async () => {
        stopUpkeep();
        await Promise.all([close(), slack.stop()]);
        await drainCalls(30_000);
      });
    });
}
