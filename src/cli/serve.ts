import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Command } from 'commander';
import type { Lab } from '../core/lab.js';
import { httpOptions } from '../http/options.js';
import { createLogger } from '../log.js';
import type { SlackFrontEnd } from '../slack/app.js';
import { startUpkeep, stopOnSignals } from './upkeep.js';

/** `nslab serve`: MCP over Streamable HTTP, the REST API, Slack when configured, /healthz. */
export function serveCommand(program: Command, lab: () => Lab, fail: (message: string) => never): void {
  program
    .command('serve')
    .description('one HTTP server: MCP at /mcp, the REST API, Slack at /slack/events when configured, /healthz')
    .option('--host <address>', 'address to bind (a non-loopback address needs NSLAB_HTTP_TOKEN)', undefined)
    .option('--port <port>', 'TCP port (0 picks a free one)', undefined)
    .action(async (flags: { host?: string; port?: string }) => {
      let opts: ReturnType<typeof httpOptions>;
      try {
        opts = httpOptions(process.env, flags);
      } catch (err) {
        fail((err as Error).message);
      }
      // Loaded here, not at the top: every other nslab command would pay for the HTTP, REST and
      // Slack (Bolt) modules at start.
      const [{ createRestHandler }, { startHttpServer }, { createSlack }] = await Promise.all([
        import('../http/rest.js'),
        import('../http/server.js'),
        import('../slack/app.js'),
      ]);
      const l = lab();
      const log = createLogger(l.config.logLevel);
      let slack: SlackFrontEnd | undefined;
      try {
        slack = createSlack(l, process.env);
      } catch (err) {
        fail((err as Error).message);
      }
      const fronts = {
        rest: createRestHandler(l),
        ...(slack?.mode === 'http'
          ? { slack: (req: IncomingMessage, res: ServerResponse) => (slack as SlackFrontEnd).handle(req, res) }
          : {}),
      };
      // The event stream's history is read back before anyone can follow it (GET /events, MCP subscriptions).
      const stopUpkeep = startUpkeep(l, log);
      await l.events.start();
      const running = await startHttpServer(l, opts, fronts, (m) => log.error(m)).catch((err: Error) =>
        fail(`cannot listen on ${opts.host}:${opts.port}: ${err.message}`),
      );
      // Slack's own check (auth.test) and Socket Mode: a Slack that does not answer is logged, and
      // MCP and REST go on serving.
      await slack
        ?.start()
        .catch((err: unknown) => log.error({ err: String(err) }, 'Slack did not start; /slack/events will answer once it does'));
      log.info(
        { url: running.url, mcp: `${running.url}/mcp`, slack: slack?.mode ?? 'off', token: Boolean(opts.token), dataDir: l.config.dataDir },
        'netstream-lab serving',
      );
      // Machine-readable first line on stdout, so scripts (and tests) learn the port picked by --port 0.
      process.stdout.write(`${JSON.stringify({ listening: running.url })}\n`);
      stopOnSignals(log, 'shutting down: waiting for calls in flight', async () => {
        await running.close();
        await stopUpkeep();
        await slack?.stop();
      });
    });
}
