import type { Command } from 'commander';
import { runTool } from '../../tools/index.js';
import type { Lab } from '../core/lab.js';
import { table, wantsJson } from './render.js';

type Fail = (message: string) => never;

/** `nslab engines list|join|leave`: the engines of NSLAB_ENGINES and the swarm that joins them. */
export function engineCommands(program: Command, lab: () => Lab, fail: Fail): void {
  const engines = program.command('engines').description('Docker engines of a lab (NSLAB_ENGINES) and the swarm joining them');
  const call = async (tool: string, args: Record<string, unknown>) => {
    const out = await runTool(lab(), tool, args, { caller: { front_end: 'cli', id: process.env.USER } });
    if (!out.ok) fail(out.error.toText());
    return out.result;
  };

  engines
    .command('list')
    .description('each engine: reachable, Docker version, swarm role, lab containers, images, free memory')
    .option('--json', 'print JSON (the default when stdout is not a terminal)')
    .action(async (o: { json?: boolean }) => {
      const r = (await call('engine_list', {})) as {
        engines: Array<{
          name: string;
          host: string;
          reachable: boolean;
          error?: string;
          docker_version?: string;
          swarm?: { role: string };
          lab_containers?: number;
          free_memory_mb?: number;
        }>;
      };
      if (wantsJson(o.json)) return void process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      process.stdout.write(
        table([
          ['ENGINE', 'HOST', 'STATE', 'DOCKER', 'SWARM', 'LAB CONTAINERS', 'FREE MEMORY'],
          ...r.engines.map((e) => [
            e.name,
            e.host,
            e.reachable ? 'up' : `DOWN: ${e.error ?? ''}`,
            e.docker_version ?? '-',
            e.swarm?.role ?? '-',
            String(e.lab_containers ?? '-'),
            e.free_memory_mb === undefined ? '-' : `${e.free_memory_mb} MB`,
          ]),
        ]),
      );
    });

  engines
    .command('join')
    .description('join the engines in one Docker Swarm (created on the first engine if it has none)')
    .option('--advertise <engine=address...>', 'the address an engine is reached at, when it has several')
    .option('--json', 'print JSON')
    .action(async (o: { advertise?: string[]; json?: boolean }) => {
      const advertise: Record<string, string> = {};
      for (const pair of o.advertise ?? []) {
        const [name, addr] = pair.split('=');
        if (!name || !addr) fail(`--advertise ${pair}: use engine=address, e.g. a=192.0.2.10`);
        advertise[name] = addr;
      }
      const r = (await call('engine_join', o.advertise ? { advertise } : {})) as {
        manager: string;
        initialized: boolean;
        joined: string[];
        already: string[];
      };
      if (wantsJson(o.json)) return void process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      process.stdout.write(
        `${r.initialized ? `created a swarm on ${r.manager}` : `${r.manager} manages the swarm`}; joined: ${r.joined.join(', ') || 'none'}${r.already.length ? `; already members: ${r.already.join(', ')}` : ''}\n`,
      );
    });

  engines
    .command('leave')
    .description('undo what join did, and only that')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const r = (await call('engine_leave', {})) as { left: string[]; removed_swarm: boolean };
      if (wantsJson(o.json)) return void process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      process.stdout.write(
        `left the swarm: ${r.left.join(', ') || 'none'}${r.removed_swarm ? '; the swarm join created is removed' : ''}\n`,
      );
    });
}
