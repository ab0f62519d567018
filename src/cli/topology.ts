/**
 * `nslab topology up|down|status`: friendly wrappers over the topology tools. On a terminal they
 * draw a progress bar and tables; piped (or with --json) they print the tool's JSON result.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { runTool } from '../../tools/index.js';
import type { Lab } from '../core/lab.js';
import { interopCommands } from './interop.js';
import { progressBar, table, wantsJson } from './render.js';

type Fail = (message: string) => never;

async function run(lab: Lab, fail: Fail, tool: string, args: Record<string, unknown>, json: boolean): Promise<Record<string, unknown>> {
  const tty = !json && process.stderr.isTTY === true;
  const bar = tty ? progressBar(process.stderr) : undefined;
  const outcome = await runTool(lab, tool, args, { ...(bar ? { progress: bar } : {}), caller: { front_end: 'cli', id: process.env.USER } });
  bar?.done();
  if (!outcome.ok) fail(outcome.error.toText());
  return outcome.result;
}

interface StatusResult {
  nodes: Array<{ name: string; kind: string; state: string; daemon?: string; interfaces: Array<{ ip: string }> }>;
  sessions: Array<{ a: string; b: string; via: string; a_state?: string; b_state?: string }>;
  tunnels: Array<{ name: string; state: string }>;
  faults?: Array<{ id: string; kind: string; target: string }>;
}

interface CheckRow {
  check: string;
  target: string;
  ok: boolean;
  observed: string;
  detail: string;
}
interface Verified {
  passed: boolean;
  summary: string;
  duration_ms: number;
  checks: CheckRow[];
}
interface Scenario {
  scenario: string;
  passed: boolean;
  skipped: number;
  steps: Array<{ step: string; ok: boolean; took_ms: number; converged_ms?: number; detail?: string }>;
}

function printChecks(checks: CheckRow[], heading: string): void {
  process.stdout.write(
    table([['', 'CHECK', 'TARGET', 'OBSERVED'], ...checks.map((c) => [c.ok ? 'ok' : 'FAIL', c.check, c.target, c.observed])]),
  );
  for (const c of checks.filter((x) => !x.ok)) process.stdout.write(`FAIL ${c.check} ${c.target}: ${c.detail}\n`);
  process.stdout.write(`${heading}\n`);
}

function printStatus(s: StatusResult): void {
  process.stdout.write(
    table([
      ['NODE', 'KIND', 'CONTAINER', 'DAEMON', 'ADDRESSES'],
      ...s.nodes.map((n) => [n.name, n.kind, n.state, n.daemon ?? '-', n.interfaces.map((i) => i.ip).join(', ')]),
    ]),
  );
  if (s.sessions.length) {
    process.stdout.write(
      `\n${table([['SESSION', 'VIA', 'A SEES', 'B SEES'], ...s.sessions.map((x) => [`${x.a} <-> ${x.b}`, x.via, x.a_state ?? '?', x.b_state ?? '?'])])}`,
    );
  }
  if (s.tunnels.length) process.stdout.write(`\n${table([['TUNNEL', 'STATE'], ...s.tunnels.map((t) => [t.name, t.state])])}`);
  if (s.faults?.length) process.stdout.write(`\n${table([['FAULT', 'KIND', 'TARGET'], ...s.faults.map((f) => [f.id, f.kind, f.target])])}`);
}

export function topologyCommands(program: Command, lab: () => Lab, fail: Fail): void {
  const topo = program.command('topology').description('stand up, tear down and inspect topology files');
  const out = (json: boolean, result: unknown, human: () => void) => {
    if (json || !process.stdout.isTTY) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else human();
  };

  topo
    .command('up')
    .description('save a topology file (YAML or JSON) and stand it up; running it again applies only what changed')
    .argument('<file>', 'topology file')
    .option('--json', 'print the JSON result (the default when stdout is not a terminal)')
    .option('--dry-run', 'show the plan only')
    .option('--wait <seconds>', 'wait until every BGP session is Established', '60')
    .option('--concurrency <n>', 'nodes made at once', '8')
    .option('--keep-on-error', 'keep what was made when a node fails, for inspection')
    .action(async (file: string, o: { json?: boolean; dryRun?: boolean; wait: string; concurrency: string; keepOnError?: boolean }) => {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        fail(`cannot read ${file}: ${(err as Error).message}`);
      }
      const l = lab();
      const json = wantsJson(o.json);
      const saved = (await run(l, fail, 'topology_create', { yaml: text, replace: true }, json)) as { name: string };
      const result = await run(
        l,
        fail,
        'topology_standup',
        {
          name: saved.name,
          ...(o.dryRun ? { dry_run: true } : { wait_established_s: Number(o.wait) }),
          concurrency: Number(o.concurrency),
          ...(o.keepOnError ? { on_error: 'keep' } : {}),
        },
        json,
      );
      out(json, result, () => {
        const r = result as {
          plan: { items: Array<{ kind: string; name: string; action: string; reason?: string }>; summary: Record<string, number> };
          established?: { all: boolean; not_established: string[] };
          duration_s: number;
        };
        const changed = r.plan.items.filter((i) => i.action !== 'keep');
        if (changed.length)
          process.stdout.write(
            table([['ACTION', 'KIND', 'NAME', 'WHY'], ...changed.map((i) => [i.action, i.kind, i.name, i.reason ?? ''])]),
          );
        process.stdout.write(
          `${saved.name}: ${Object.entries(r.plan.summary)
            .map(([k, v]) => `${v} ${k}`)
            .join(', ')}${o.dryRun ? ' (dry run)' : ` in ${r.duration_s} s`}\n`,
        );
        if (r.established) {
          process.stdout.write(
            r.established.all ? 'all BGP sessions Established\n' : `not Established: ${r.established.not_established.join('; ')}\n`,
          );
        }
      });
    });

  topo
    .command('down')
    .description("tear a topology down (its file is kept: 'up' brings it back)")
    .argument('<name>', 'topology name')
    .option('--json', 'print the JSON result')
    .action(async (name: string, o: { json?: boolean }) => {
      const json = wantsJson(o.json);
      const result = (await run(lab(), fail, 'topology_teardown', { name }, json)) as { removed: Record<string, number> };
      out(json, result, () =>
        process.stdout.write(
          `${name}: removed ${result.removed.containers} containers, ${result.removed.networks} networks, ${result.removed.tunnels} tunnels\n`,
        ),
      );
    });

  topo
    .command('verify')
    .description("check a deployed topology against its file's expect: and every session, node and tunnel (exit 1 when a check fails)")
    .argument('<name>', 'topology name')
    .option('--wait <seconds>', 'retry until every check holds, for up to this long', '0')
    .option('--no-implicit', 'only the checks of expect:')
    .option('--json', 'print the JSON result')
    .action(async (name: string, o: { wait: string; implicit: boolean; json?: boolean }) => {
      const json = wantsJson(o.json);
      const r = (await run(
        lab(),
        fail,
        'topology_verify',
        { name, wait_s: Number(o.wait), implicit: o.implicit },
        json,
      )) as unknown as Verified;
      out(json, r, () => printChecks(r.checks, `${name}: ${r.summary} (${r.duration_ms} ms)`));
      if (!r.passed) process.exitCode = 1;
    });

  topo
    .command('scenario')
    .description('run a scenario of the file (faults, clears, timed verifies) on a deployed topology (exit 1 when a step fails)')
    .argument('<name>', 'topology name')
    .argument('<scenario>', 'a scenario of its file (scenarios:)')
    .option('--keep-faults', 'leave the faults in when a step fails')
    .option('--json', 'print the JSON result')
    .action(async (name: string, scenario: string, o: { keepFaults?: boolean; json?: boolean }) => {
      const json = wantsJson(o.json);
      const args = { name, scenario, ...(o.keepFaults ? { keep_faults: true } : {}) };
      const r = (await run(lab(), fail, 'topology_scenario', args, json)) as unknown as Scenario;
      out(json, r, () => {
        process.stdout.write(
          table([
            ['STEP', 'RESULT', 'TOOK', 'CONVERGED', 'DETAIL'],
            ...r.steps.map((s) => [
              s.step,
              s.ok ? 'ok' : 'FAILED',
              `${(s.took_ms / 1000).toFixed(1)} s`,
              s.converged_ms !== undefined ? `${(s.converged_ms / 1000).toFixed(1)} s` : '-',
              (s.detail ?? '').slice(0, 100),
            ]),
          ]),
        );
        process.stdout.write(
          `${name} ${r.scenario}: ${r.passed ? 'passed' : 'failed'}${r.skipped ? ` (${r.skipped} steps not run)` : ''}\n`,
        );
      });
      if (!r.passed) process.exitCode = 1;
    });

  topo
    .command('status')
    .description('nodes, BGP sessions (seen from both ends) and tunnels of a topology')
    .argument('<name>', 'topology name')
    .option('--json', 'print the JSON result')
    .action(async (name: string, o: { json?: boolean }) => {
      const json = wantsJson(o.json);
      const result = await run(lab(), fail, 'topology_status', { name }, json);
      out(json, result, () => printStatus(result as unknown as StatusResult));
    });

  interopCommands(topo, lab, fail, run);
}
