import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { ServerNotification } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { Lab } from '../../src/core/lab.js';
import { describeDestructive } from '../../src/mcp/confirm.js';
import { instructions } from '../../src/mcp/instructions.js';
import { McpLog } from '../../src/mcp/logging.js';
import { callProgress } from '../../src/mcp/progress.js';
import { matchTemplate } from '../../src/mcp/resources.js';
import { catalogue } from '../../tools/index.js';

/** Pure parts of the MCP server: URI templates, progress and log delivery, confirmation texts, the setting. */
const newLog = () => new McpLog(new Server({ name: 't', version: '1' }, { capabilities: { logging: {} } }));
const sink = () => {
  const sent: ServerNotification[] = [];
  return { sent, notify: async (n: ServerNotification) => void sent.push(n) };
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('resource URI templates', () => {
  it('match one path segment per variable, decoded, and nothing else', () => {
    expect(matchTemplate('nslab://daemon/{name}/config', 'nslab://daemon/r%2D1/config')).toEqual({ name: 'r-1' });
    expect(matchTemplate('nslab://daemon/{name}/config/{file}', 'nslab://daemon/r1/config/frr.conf')).toEqual({
      name: 'r1',
      file: 'frr.conf',
    });
    expect(matchTemplate('nslab://daemon/{name}/config', 'nslab://daemon/r1/config/frr.conf')).toBeUndefined();
    expect(matchTemplate('nslab://daemon/{name}/config', 'nslab://daemon/a/b/config')).toBeUndefined();
    expect(matchTemplate('nslab://daemon/{name}/config', 'nslab://daemonXr1/config')).toBeUndefined();
    expect(matchTemplate('nslab://daemon/{name}/config', 'nslab://daemon/%E0%A4%A/config')).toBeUndefined();
  });
});

describe('progress of a call', () => {
  it('counts up on every step, whatever fractions the core gives, and never throws when a send fails', async () => {
    const { sent, notify } = sink();
    const p = callProgress('topology_standup', 'tok', notify, newLog(), 60_000);
    p.progress('plan', 0.5);
    p.progress('rolling back', 0.1);
    p.progress('done');
    p.stop();
    const progress = sent
      .filter((n) => n.method === 'notifications/progress')
      .map((n) => n.params as { progress: number; message: string });
    expect(progress).toEqual([
      { progressToken: 'tok', progress: 1, message: 'plan' },
      { progressToken: 'tok', progress: 2, message: 'rolling back' },
      { progressToken: 'tok', progress: 3, message: 'done' },
    ]);
    const failing = callProgress('x', 1, () => Promise.reject(new Error('closed')), newLog(), 60_000);
    const throwing = callProgress(
      'x',
      1,
      () => {
        throw new Error('not connected');
      },
      newLog(),
      60_000,
    );
    expect(() => failing.progress('a')).not.toThrow();
    expect(() => throwing.progress('a')).not.toThrow();
    failing.stop();
    throwing.stop();
    await sleep(10); // a rejected send must not surface as an unhandled rejection either
  });

  it('sends "still running" after a silence, stops with the call, and sends no progress without a token', async () => {
    const { sent, notify } = sink();
    const p = callProgress('daemon_exec', 7, notify, newLog(), 40);
    await sleep(130);
    p.stop();
    const n = sent.length;
    expect(n).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(sent[0]?.params)).toMatch(/"message":"daemon_exec still running \(\d+ s\)"/);
    await sleep(100);
    expect(sent).toHaveLength(n);
    const quiet = sink();
    const q = callProgress('daemon_exec', undefined, quiet.notify, newLog(), 40);
    q.progress('step');
    await sleep(100);
    q.stop();
    expect(quiet.sent.map((x) => x.method)).toEqual([]);
  });

  it('is also a debug log message when the client asked for debug', () => {
    const { sent, notify } = sink();
    const log = newLog();
    log.setLevel('debug');
    callProgress('t', undefined, notify, log, 60_000).progress('creating container r1');
    expect(sent).toEqual([
      {
        method: 'notifications/message',
        params: { level: 'debug', logger: 'netstream-lab', data: { message: 'creating container r1', tool: 't' } },
      },
    ]);
  });
});

describe('log messages', () => {
  it('are sent from the level the client set up, and a send without a connection is dropped', () => {
    const { sent, notify } = sink();
    const log = newLog();
    expect(log.level).toBe('info');
    log.send('debug', 'no', {}, notify);
    log.send('info', 'yes', {}, notify);
    log.setLevel('error');
    log.send('warning', 'no', {}, notify);
    log.send('critical', 'yes', {}, notify);
    expect(sent.map((n) => (n.params as { data: { message: string } }).data.message)).toEqual(['yes', 'yes']);
    expect(() => log.send('error', 'not connected')).not.toThrow();
  });
});

describe('confirmation of destructive tools', () => {
  const lab = { topologies: { plan: () => Promise.reject(new Error('no docker')) } } as unknown as Lab;
  it('says what each destructive tool would do, naming its target, without secrets', async () => {
    const destructive = catalogue.filter((t) => t.effect === 'destructive');
    expect(destructive.length).toBeGreaterThan(5);
    for (const t of destructive) {
      const text = await describeDestructive(
        t,
        {
          name: 'tgt-1',
          container: 'tgt-1',
          node: 'tgt-1',
          network: 'n1',
          address: '10.0.0.1',
          prefix: '10.9.0.0/24',
          command: ['true'],
          password: 'pw-secret',
        },
        lab,
      );
      // sync_run apply names no target: it says what it removes.
      if (t.name === 'sync_run') expect(text).toMatch(/remove labelled containers and networks that no record claims/);
      else expect(text, t.name).toContain('tgt-1');
      expect(text, t.name).not.toContain('pw-secret');
    }
  });
});

describe('server instructions', () => {
  const all = new Set(catalogue.map((t) => t.name));
  const reads = new Set(catalogue.filter((t) => t.effect === 'read').map((t) => t.name));
  it('name only tools the server offers, and say how destructive tools are confirmed', () => {
    expect(instructions(all, false, 'elicit')).toContain('topology_create (YAML) then topology_standup');
    expect(instructions(all, false, 'elicit')).toContain('ask the user to confirm first');
    expect(instructions(all, false, 'never')).not.toContain('destructive');
    const ro = instructions(reads, true, 'elicit');
    expect(ro).toContain('read-only');
    for (const hidden of ['topology_create', 'network_create', 'daemon_create', 'host_exec']) expect(ro).not.toContain(hidden);
    expect(ro).toContain('daemon_status');
  });
});

describe('NSLAB_CONFIRM_DESTRUCTIVE', () => {
  const cfg = (v?: string) =>
    loadConfig({ NSLAB_DATA_DIR: '/tmp/x', ...(v === undefined ? {} : { NSLAB_CONFIRM_DESTRUCTIVE: v }) }).confirmDestructive;
  it('defaults to elicit, takes elicit, never and always in any case, and names the variable and the choices otherwise', () => {
    expect(cfg()).toBe('elicit');
    expect(cfg(' ')).toBe('elicit');
    expect(cfg('Always')).toBe('always');
    expect(cfg('never')).toBe('never');
    expect(() => cfg('maybe')).toThrow('NSLAB_CONFIRM_DESTRUCTIVE=maybe is not one of elicit, never, always');
  });
});
