#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { catalogue, drainCalls, runTool } from '../../tools/index.js';
import { loadConfig } from '../config.js';
import { LabError } from '../core/errors.js';
import { IMAGE_KINDS, type ImageKind } from '../core/images.js';
import { createLab } from '../core/lab.js';
import { createLogger } from '../log.js';
import { VERSION } from '../version.js';
import { completionCommands } from './completion.js';
import { engineCommands } from './engines.js';
import { progressBar, table, wantsJson } from './render.js';
import { serveCommand } from './serve.js';
import { slackCommand } from './slack.js';
import { topologyCommands } from './topology.js';
import { startUpkeep, stopOnSignals } from './upkeep.js';
import { watchCommand } from './watch.js';

function fail(message: string): never {
  process.stderr.write(`error: ${message}\n`);
  process.exit(1);
}

function lab() {
  try {
    return createLab(loadConfig());
  } catch (err) {
    fail(err instanceof LabError ? err.toText() : (err as Error).message);
  }
}

/** Progress lines on stderr, so stdout stays the machine-readable result. */
const stderrProgress = (message: string) => process.stderr.write(`… ${message}\n`);

const program = new Command('nslab').description('netstream-lab: container BGP labs from MCP, Slack, REST and the shell').version(VERSION);

program
  .command('mcp')
  .description('MCP server on stdio (for editors and MCP hosts)')
  .action(async () => {
    const l = lab();
    const log = createLogger(l.config.logLevel);
    // The MCP server's modules load only for this command, not for every nslab call.
    const [{ createMcpServer }, { BoundedStdioServerTransport }] = await Promise.all([
      import('../mcp/server.js'),
      import('../mcp/stdio.js'),
    ]);
    const server = createMcpServer(l);
    // Not the SDK's StdioServerTransport: a message over its 10 MiB buffer hangs the session for good.
    await server.connect(new BoundedStdioServerTransport(log));
    const stopUpkeep = startUpkeep(l, log);
    log.info({ dataDir: l.config.dataDir, readOnly: l.config.readOnly }, 'MCP server ready on stdio');
    // The host closed stdin or asked us to stop: calls in flight finish (or roll back) first, and the
    // event stream must not keep the process alive.
    stopOnSignals(
      log,
      'MCP server stopping',
      async () => {
        stopUpkeep();
        await drainCalls(20_000);
      },
      (trigger) => {
        process.stdin.once('end', () => trigger('stdin closed'));
        process.stdin.once('close', () => trigger('stdin closed'));
      },
    );
  });

program
  .command('call')
  .description('run one tool and print its result as JSON ("-" reads the arguments from stdin)')
  .argument('<tool>', 'tool name, e.g. daemon_list')
  .argument('[json-args]', 'arguments as a JSON object, or - for stdin', '{}')
  .action(async (tool: string, raw: string) => {
    const text = raw === '-' ? readFileSync(0, 'utf8') : raw;
    let args: unknown;
    try {
      args = JSON.parse(text || '{}');
    } catch (err) {
      fail(`arguments are not valid JSON: ${(err as Error).message}`);
    }
    const outcome = await runTool(lab(), tool, args, { progress: stderrProgress, caller: { front_end: 'cli', id: process.env.USER } });
    if (!outcome.ok) fail(outcome.error.toText());
    process.stdout.write(`${JSON.stringify(outcome.result, null, 2)}\n`);
  });

program
  .command('tools')
  .description('list the tools: name, toolset, effect (read, write, destructive) and title')
  .option('--json', 'print JSON (the default when stdout is not a terminal)')
  .action((o: { json?: boolean }) => {
    if (wantsJson(o.json)) {
      const rows = catalogue.map((t) => ({ name: t.name, toolset: t.toolset, effect: t.effect, title: t.title }));
      process.stdout.write(`${JSON.stringify({ tools: rows }, null, 2)}\n`);
    } else {
      process.stdout.write(
        table([['TOOL', 'TOOLSET', 'EFFECT', 'TITLE'], ...catalogue.map((t) => [t.name, t.toolset, t.effect, t.title])]),
      );
    }
  });

serveCommand(program, lab, fail);
slackCommand(program, lab, fail);
completionCommands(program, lab, fail);
engineCommands(program, lab, fail);
topologyCommands(program, lab, fail);
watchCommand(program, lab, fail);

const images = program.command('images').description('lab images');
images
  .command('build')
  .description(`build the lab images (${IMAGE_KINDS.join(', ')}); only missing or changed ones are built`)
  .argument('[kind...]', 'kinds to build (default: all; "base" builds only the Debian base)')
  .option('--json', 'print JSON (the default when stdout is not a terminal)')
  .action(async (kinds: string[], o: { json?: boolean }) => {
    const bad = kinds.filter((k) => k !== 'base' && !(IMAGE_KINDS as readonly string[]).includes(k));
    if (bad.length) fail(`unknown image kind ${bad.join(', ')}; use base, ${IMAGE_KINDS.join(', ')}`);
    const l = lab();
    try {
      await l.engine.ready();
      const wanted = kinds.filter((k) => k !== 'base') as ImageKind[];
      const bar = process.stderr.isTTY ? progressBar(process.stderr) : undefined;
      const refs = await l.images.buildAll(kinds.length ? wanted : IMAGE_KINDS, bar ?? stderrProgress);
      bar?.done();
      if (wantsJson(o.json)) process.stdout.write(`${JSON.stringify(refs, null, 2)}\n`);
      else process.stdout.write(table([['KIND', 'IMAGE'], ...Object.entries(refs).map(([k, v]) => [k, String(v)])]));
    } catch (err) {
      fail(err instanceof LabError ? err.toText() : (err as Error).message);
    }
  });

program.parseAsync().catch((err) => fail(err instanceof Error ? err.message : String(err)));
