import { describe, expect, it } from 'vitest';
import { LabError } from '../../src/core/errors.js';
import { refusal, roleOf } from '../../src/slack/access.js';
import { errorView, shownCommand } from '../../src/slack/commands.js';
import { Confirmations } from '../../src/slack/confirm.js';
import { type Command, parseCommand } from '../../src/slack/grammar.js';
import { overview, resourceHelp, toolHelp } from '../../src/slack/help.js';
import { renderResult } from '../../src/slack/render.js';
import { loadSlackConfig } from '../../src/slack/settings.js';
import { tokenize } from '../../src/slack/tokens.js';
import { catalogue, findTool } from '../../tools/index.js';

const parse = (text: string) => parseCommand(text, catalogue);
const call = (text: string) => {
  const c = parse(text);
  if (c.kind !== 'call') throw new Error(`not a call: ${JSON.stringify(c.kind === 'error' ? c.message : c)}`);
  return c;
};
const error = (text: string): Extract<Command, { kind: 'error' }> => {
  const c = parse(text);
  if (c.kind !== 'error') throw new Error(`expected an error for ${text}`);
  return c;
};

describe('the /lab grammar, derived from the catalogue', () => {
  it('reaches every tool as <resource> <verb>, with help for each', () => {
    for (const t of catalogue) {
      const [resource, ...verb] = t.name.split('_');
      const c = parse(`${resource} ${verb.join('_')} --help`);
      expect(c.kind === 'help' && c.tool?.name).toBe(t.name);
      expect(toolHelp(t)).toContain(`/lab ${resource} ${verb.join('_')}`);
    }
  });

  it('reads key=value in the types of the tool schema', () => {
    expect(call('daemon create r1 kind=frr asn=65001 interfaces=core:10.1.0.5,lan:auto advertise=10.9.0.0/24').args).toEqual({
      name: 'r1',
      kind: 'frr',
      asn: 65001,
      interfaces: [
        { network: 'core', ip: '10.1.0.5' },
        { network: 'lan', ip: 'auto' },
      ],
      advertise: ['10.9.0.0/24'],
    });
    expect(call('daemon create r1 interfaces=core').args.interfaces).toEqual([{ network: 'core' }]);
    expect(call('network create n1 subnet=10.243.9.0/24 internal=no').args.internal).toBe(false);
    expect(call('daemon create r1 neighbors=[{"address":"10.0.0.2","asn":65002}]').args.neighbors).toEqual([
      { address: '10.0.0.2', asn: 65002 },
    ]);
    // a union of objects: the variant the number of parts fits; dotted keys build objects
    expect(call('tunnel create t1 a=r1:172.31.0.1/30 b=192.0.2.1').args).toMatchObject({ b: { remote_ip: '192.0.2.1' } });
    expect(call('tunnel create t1 a.container=r1 a.tunnel_ip=172.31.0.1/30 b=r2:172.31.0.2/30').args).toMatchObject({
      a: { container: 'r1', tunnel_ip: '172.31.0.1/30' },
      b: { container: 'r2', tunnel_ip: '172.31.0.2/30' },
    });
    // a value the schema refuses is passed on as typed, for zod to name it
    expect(call('daemon create r1 asn=abc').args.asn).toBe('abc');
  });

  it('takes quotes, smart quotes, em dashes, HTML escapes and argv in one quoted value', () => {
    expect(call('host exec h1 command=“ping -c 1 10.0.0.1” —yes').args.command).toEqual(['ping', '-c', '1', '10.0.0.1']);
    expect(call('host exec h1 command=“ping -c 1 10.0.0.1” —yes').yes).toBe(true);
    expect(call('daemon exec r1 command=\'vtysh -c "show bgp summary"\'').args.command).toEqual(['vtysh', '-c', 'show bgp summary']);
    expect(tokenize('a &lt;b&gt; &amp;').map((t) => t.text)).toEqual(['a', '<b>', '&']);
    expect(call('topology standup tri --dry-run --public')).toMatchObject({ args: { name: 'tri', dry_run: true }, public: true });
  });

  it('pastes YAML or JSON as a code block', () => {
    const yaml = 'name: tri\nnetworks:\n  core: { subnet: 10.10.0.0/24 }\nnodes: {}';
    expect(call(`topology create \`\`\`yaml\n${yaml}\n\`\`\``).args).toEqual({ yaml });
    expect(call('topology create replace=true ```{"name": "x"}```').args).toEqual({ replace: true, yaml: '{"name": "x"}' });
    expect(call('topology create spec=```name: x\nnodes: {}```').args).toEqual({ spec: { name: 'x', nodes: {} } });
    expect(call('daemon create ```{"name": "r1", "asn": 65001}```').args).toEqual({ name: 'r1', asn: 65001 });
  });

  it('fills required text fields from bare words where there is no name (network connect core r1)', () => {
    expect(call('network connect core r1').args).toEqual({ network: 'core', container: 'r1' });
    expect(call('daemon peer add r1 address=10.0.0.2 asn=65002').tool.name).toBe('daemon_peer_add');
    expect(error('network list extra').message).toContain("unexpected 'extra'");
  });

  it('suggests the closest resource or verb, naming the field of a broken value', () => {
    expect(error('netwrok list').message).toBe("unknown resource 'netwrok': did you mean network?");
    expect(error('network lsit').message).toContain('did you mean `/lab network list`?');
    expect(error('daemon up r1').message).not.toContain('did you mean');
    expect(error('topology up tri').message).toContain('`/lab topology standup`');
    expect(error('router list').message).toContain('did you mean daemon?');
    expect(error('daemon create r1 interfaces=[{"network"').field).toBe('interfaces');
    expect(error('network list --frobnicate').message).toContain("unknown option '--frobnicate'");
  });
});

describe('help, access and confirmation', () => {
  const cfg = loadSlackConfig({
    SLACK_BOT_TOKEN: 'x',
    SLACK_SIGNING_SECRET: 's',
    NSLAB_SLACK_ADMINS: 'UA',
    NSLAB_SLACK_OPERATORS: 'UO, UP',
  });
  if (!cfg) throw new Error('configured');

  it('shows each role only what it may run', () => {
    expect(roleOf('UP', cfg)).toBe('operator');
    expect(overview(catalogue, 'reader')).not.toContain('create');
    expect(overview(catalogue, 'operator')).toContain('create ✏️');
    expect(overview(catalogue, 'operator')).not.toContain('delete');
    expect(overview(catalogue, 'admin')).toContain('delete ⚠️');
    expect(resourceHelp('network', catalogue, 'reader')).toContain('more network commands need more rights');
  });

  it('refuses with the reason and the way to get the right', () => {
    const create = findTool('network_create');
    const del = findTool('network_delete');
    if (!create || !del) throw new Error('tools');
    expect(refusal(create, 'UO', 'C1', cfg)).toBeUndefined();
    expect(refusal(create, 'UX', 'C1', cfg)).toContain('add your user id UX to NSLAB_SLACK_OPERATORS');
    expect(refusal(del, 'UO', 'C1', cfg)).toContain('only admins (NSLAB_SLACK_ADMINS)');
    expect(refusal(del, 'UA', 'C1', { ...cfg, channels: ['C2'] })).toContain('limited to <#C2>');
  });

  it('lets only the author confirm, once, before it expires', async () => {
    const tool = findTool('network_delete');
    if (!tool) throw new Error('tool');
    const c = new Confirmations(60_000);
    const p = c.add({ user: 'UA', channel: 'C1', tool, args: { name: 'n1' }, shown: '`/lab network delete n1`' });
    expect(c.take(p.id, 'UO')).toMatchObject({ ok: false, why: expect.stringContaining('only <@UA>') });
    expect(c.take(p.id, 'UA')).toMatchObject({ ok: true });
    expect(c.take(p.id, 'UA')).toMatchObject({ ok: false, why: expect.stringContaining('no longer waiting') });
    const short = new Confirmations(20);
    const q = short.add({ user: 'UA', channel: 'C1', tool, args: {}, shown: 'x' });
    await new Promise((r) => setTimeout(r, 40));
    expect(short.take(q.id, 'UA')).toMatchObject({ ok: false, expired: true });
  });

  it('reads the settings, refusing a bad value by name', () => {
    expect(loadSlackConfig({ SLACK_BOT_TOKEN: 'x' })).toBeUndefined();
    expect(cfg.operators).toEqual(['UO', 'UP']);
    expect(() => loadSlackConfig({ SLACK_BOT_TOKEN: 'x', SLACK_APP_TOKEN: 'a', NSLAB_SLACK_ALLOW_YES: 'maybe' })).toThrow(
      'NSLAB_SLACK_ALLOW_YES',
    );
    expect(() => loadSlackConfig({ SLACK_BOT_TOKEN: 'x', SLACK_APP_TOKEN: 'a', NSLAB_SLACK_CONFIRM_TTL_S: '0' })).toThrow(
      'NSLAB_SLACK_CONFIRM_TTL_S',
    );
  });
});

describe('Block Kit from output schemas', () => {
  it('marks states, one line per BGP neighbor', () => {
    const tool = findTool('daemon_status');
    if (!tool) throw new Error('tool');
    const r = renderResult(
      tool,
      {
        name: 'r1',
        kind: 'frr',
        state: 'running',
        daemon: 'running',
        neighbors: [
          { address: '10.0.0.2', asn: 65002, state: 'Established', uptime_s: 125, prefixes_received: 3 },
          { address: '10.0.0.3', asn: 65003, state: 'Active' },
        ],
      },
      'r1',
    );
    const text = JSON.stringify(r.blocks);
    expect(text).toContain('🟢 running');
    expect(text).toContain('🟢 *10.0.0.2* Established · asn 65002 · uptime_s 2 min 5 s · prefixes_received 3');
    expect(text).toContain('🟡 *10.0.0.3* Active');
  });

  it('shows what a container wrote as text: mentions and links in it never reach Slack as control sequences', () => {
    const tool = findTool('host_exec');
    if (!tool) throw new Error('tool');
    const stdout = 'hello <!channel> <@U0ADMIN> <https://evil.example|click> & bye';
    const r = renderResult(tool, { exit_code: 0, stdout, stderr: '<!here>', timed_out: false, truncated: false }, 'exec');
    const text = JSON.stringify(r.blocks);
    for (const seq of ['<!channel>', '<@U0ADMIN>', '<https://evil', '<!here>']) expect(text).not.toContain(seq);
    expect(text).toContain('&lt;!channel&gt;');
    expect(text).toContain('&amp; bye');
    const shown = errorView(new LabError('NOT_FOUND', "daemon '<!everyone>' not found", { hint: 'see <@U1>' }), 'h', '');
    expect(JSON.stringify(shown)).not.toMatch(/<!everyone>|<@U1>/);
    expect(shownCommand('daemon get <!channel> password=pw-x')).toBe('`/lab daemon get &lt;!channel&gt; password=***`');
  });

  it('cuts what does not fit and keeps all of it for a file', () => {
    const tool = findTool('host_exec');
    if (!tool) throw new Error('tool');
    const stdout = Array.from({ length: 5000 }, (_, i) => String(i)).join('\n');
    const r = renderResult(tool, { exit_code: 0, stdout, stderr: '', timed_out: false, truncated: false }, 'exec');
    for (const b of r.blocks as Array<{ text?: { text: string } }>) expect(b.text?.text.length ?? 0).toBeLessThanOrEqual(3000);
    expect(r.uploads).toHaveLength(1);
    expect(String(r.uploads[0]?.content)).toContain('4998\\n4999');
  });
});
