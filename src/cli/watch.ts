import type { Command } from 'commander';
import { EVENT_TYPES, type EventType, isEventType, type StreamEvent } from '../core/events/index.js';
import type { Lab } from '../core/lab.js';
import { TopologyName } from '../core/topology/spec.js';
import { table, wantsJson } from './render.js';

type Fail = (message: string) => never;

/** How many recent events the live table shows. */
const RECENT = 15;

/** One line of what happened, for the table: the detail's most telling fields, in words. */
export function summary(e: StreamEvent): string {
  const d = e.detail;
  const s = (v: unknown) => (v === undefined || v === null ? '' : String(v));
  switch (e.type) {
    case 'session_up':
    case 'session_down':
      return `${s(d.peer_node ?? d.peer)} ${s(d.from)} -> ${s(d.to)}${d.reason ? ` (${s(d.reason)})` : ''}`;
    case 'node_died':
      return `${s(d.role)} exited${d.exit_code !== undefined ? ` ${s(d.exit_code)}` : ''} (${s(d.by)})`;
    case 'node_started':
      return s(d.role);
    case 'drift':
      return s(d.text);
    case 'fault_injected':
    case 'fault_cleared':
      return `${s(d.kind)} ${s(d.target)} (${s(d.id)})`;
    case 'verify_passed':
    case 'verify_failed':
      return s(d.summary ?? (d.failed_step ? `failed at ${s(d.failed_step)}` : d.scenario));
    default:
      return JSON.stringify(d).slice(0, 120);
  }
}

/** Terminal text is the lab's: control characters a container wrote do not reach the terminal. */
const clean = (t: string, max = 100) =>
  [...t]
    .map((c) => {
      const n = c.charCodeAt(0);
      return n < 0x20 || (n >= 0x7f && n <= 0x9f) ? ' ' : c;
    })
    .join('')
    .slice(0, max);

/**
 * The live table: each BGP session as last read from each end, then the recent events. Pure, so
 * the redraw is a function of the state.
 */
export function liveTable(
  title: string,
  sessions: Map<string, { node: string; peer: string; state: string }>,
  recent: StreamEvent[],
  columns = 120,
): string {
  const rows = [...sessions.values()].sort((a, b) => a.node.localeCompare(b.node) || a.peer.localeCompare(b.peer));
  const cut = (text: string) =>
    text
      .split('\n')
      .map((l) => l.slice(0, Math.max(20, columns - 1)))
      .join('\n');
  return cut(
    [
      title,
      '',
      rows.length
        ? table([['NODE', 'PEER', 'STATE'], ...rows.map((r) => [clean(r.node, 40), clean(r.peer, 40), clean(r.state, 20)])])
        : 'no BGP sessions read yet\n',
      table([
        ['SEQ', 'TIME', 'EVENT', 'NODE', 'WHAT'],
        ...recent.map((e) => [String(e.seq), e.time.slice(11, 19), e.type, clean(e.node ?? e.topology ?? '', 40), clean(summary(e))]),
      ]),
    ].join('\n'),
  );
}

/** `nslab watch [topology]`: the lab's events as they happen, from a stream in this process. */
export function watchCommand(program: Command, lab: () => Lab, fail: Fail): void {
  program
    .command('watch')
    .description(
      'follow the lab: BGP sessions up and down, nodes died or started, drift, faults, verify results (a live table on a terminal, JSON lines when piped)',
    )
    .argument('[topology]', 'only the events of this topology')
    .option('--json', 'print one JSON object per event (the default when stdout is not a terminal)')
    .option('--types <list>', `only these event types, comma separated (${EVENT_TYPES.join(', ')})`)
    .action(async (topology: string | undefined, o: { json?: boolean; types?: string }) => {
      if (topology !== undefined && !TopologyName.safeParse(topology).success) fail(`'${topology}' is not a topology name`);
      let types: EventType[] | undefined;
      if (o.types) {
        const list = o.types.split(',').map((t) => t.trim());
        const bad = list.find((t) => !isEventType(t));
        if (bad !== undefined) fail(`unknown event type '${bad}'; use ${EVENT_TYPES.join(', ')}`);
        types = list as EventType[];
      }
      const l = lab();
      if (topology !== undefined) {
        const state = await l.store.read().catch((err: Error) => fail(err.message));
        if (!Object.hasOwn(state.topologies, topology)) fail(`topology '${topology}' not found; nslab call topology_list lists them`);
      }
      const json = wantsJson(o.json);
      // A viewer: its stream is its own and keeps no history on disk.
      const stop = await l.events.start({
        persist: false,
        onError: (err) => process.stderr.write(`nslab watch: ${String(err)}\n`),
      });
      const sub = l.events.subscribe({ filter: { topology, types } });
      let quitting = false;
      const quit = async (code: number, message?: string) => {
        if (quitting) return;
        quitting = true;
        sub.close();
        if (!json) process.stdout.write('\x1b[?25h');
        if (message) process.stderr.write(`${message}\n`);
        await stop();
        process.exit(code);
      };
      process.once('SIGINT', () => void quit(0));
      process.once('SIGTERM', () => void quit(0));
      // A reader that went away (nslab watch | head): stop quietly.
      process.stdout.on('error', () => void quit(0));
      sub.onEnd((why) => {
        if (why === 'slow') void quit(1, 'nslab watch: the output fell too far behind the lab; events were lost');
      });

      if (json) {
        for await (const e of sub) {
          if (!process.stdout.write(`${JSON.stringify(e)}\n`)) await new Promise((r) => process.stdout.once('drain', r));
        }
        return;
      }

      const sessions = new Map<string, { node: string; peer: string; state: string }>();
      const recent: StreamEvent[] = [];
      const title = () =>
        `nslab watch ${topology ?? '(all topologies)'}: every ${l.config.watchIntervalS} s, ${new Date().toLocaleTimeString()}; Ctrl-C to stop`;
      let pending = false;
      const draw = () => {
        pending = false;
        process.stdout.write(`\x1b[?25l\x1b[H\x1b[2J${liveTable(title(), sessions, recent, process.stdout.columns || 120)}`);
      };
      const redraw = () => {
        if (pending) return;
        pending = true;
        setTimeout(draw, 200);
      };
      const seed = () => {
        for (const s of l.events.sessions()) {
          if (topology === undefined || s.topology === topology)
            sessions.set(`${s.node}|${s.peer}`, { node: s.node, peer: s.peer_node ?? s.peer, state: s.state });
        }
        redraw();
      };
      draw();
      void l.events.poll().then(seed);
      setInterval(seed, l.config.watchIntervalS * 1000).unref();
      for await (const e of sub) {
        recent.push(e);
        if (recent.length > RECENT) recent.shift();
        if ((e.type === 'session_up' || e.type === 'session_down') && e.node) {
          const peer = typeof e.detail.peer === 'string' ? e.detail.peer : '';
          const name = typeof e.detail.peer_node === 'string' ? e.detail.peer_node : peer;
          sessions.set(`${e.node}|${peer}`, { node: e.node, peer: name, state: String(e.detail.to) });
        }
        redraw();
      }
    });
}
