import { ErrorCode, type GetPromptResult, McpError, type Prompt } from '@modelcontextprotocol/sdk/types.js';
import type { DaemonKind } from '../core/bgp/types.js';
import type { Lab } from '../core/lab.js';
import type { DaemonRecord, StoreState } from '../core/store/schema.js';
import { connectedSubnets, inSubnet } from '../core/subnets.js';

type Args = Record<string, string>;

interface PromptDef {
  prompt: Prompt;
  /** offered only while every one of these tools is (toolsets, read-only mode) */
  needs: string[];
  complete(lab: Lab, argument: string, context: Args): Promise<string[]>;
  get(lab: Lab, args: Args, has: (tool: string) => boolean): Promise<GetPromptResult>;
}

const badArg = (name: string, message: string) => new McpError(ErrorCode.InvalidParams, `${name}: ${message}`);
const user = (text: string): GetPromptResult['messages'][number] => ({ role: 'user', content: { type: 'text', text } });
const numbered = (steps: Array<string | false>) =>
  steps
    .filter((s): s is string => typeof s === 'string')
    .map((s, i) => `${i + 1}. ${s}`)
    .join('\n');

/** A topology argument is YAML when it has more than a name could: a newline or a colon. */
const isYaml = (s: string) => /[\n:]/.test(s);

const planAndApply: PromptDef = {
  prompt: {
    name: 'plan-and-apply-topology',
    title: 'Plan, then apply a topology',
    description:
      'Validate a topology, show what standing it up would change, ask before applying it, then check that every BGP session is Established.',
    arguments: [
      { name: 'topology', description: 'name of a saved topology, or the YAML text of a new one', required: true },
      { name: 'wait_established_s', description: 'seconds to wait for BGP sessions after the standup (default 60)', required: false },
    ],
  },
  needs: ['topology_validate', 'topology_plan', 'topology_standup', 'topology_status'],
  complete: async (lab, argument) => (argument === 'topology' ? Object.keys((await lab.store.read()).topologies).sort() : []),
  get: async (lab, args, has) => {
    const topology = args.topology?.trim();
    if (!topology) throw badArg('topology', 'give the name of a saved topology or the YAML of a new one');
    const wait = args.wait_established_s?.trim() || '60';
    if (!/^\d{1,3}$/.test(wait) || Number(wait) > 600)
      throw badArg('wait_established_s', `'${wait}' is not a number of seconds from 0 to 600`);
    const yaml = isYaml(topology);
    if (yaml && !has('topology_create')) throw badArg('topology', 'a new topology needs topology_create, which this server does not offer');
    const saved = (await lab.store.read()).topologies;
    if (!yaml && !saved[topology]) {
      throw badArg(
        'topology',
        `no saved topology '${topology}' (saved: ${Object.keys(saved).sort().join(', ') || 'none'}); give its YAML instead`,
      );
    }
    const name = yaml ? 'the name given in the file' : `'${topology}'`;
    const steps = numbered([
      yaml
        ? 'Check the file with topology_validate {"yaml": <the file below>}. If it is not valid, show me each error with its field path and propose a corrected file; do not go on until it is valid.'
        : `Check the saved file with topology_validate {"name": "${topology}"}. If it is not valid, show me each error with its field path and stop.`,
      yaml && 'Save it with topology_create {"yaml": <the file>} (if that name exists already, ask me before passing "replace": true).',
      `Run topology_plan for ${name} and show me the plan as a short table: for each network, node, session and tunnel the action (create, keep, update, recreate, delete) and its reason.`,
      'Ask me to confirm before applying it, pointing out every recreate and delete (those containers are removed). If I say no, stop here: nothing has changed.',
      `Apply it with topology_standup {"name": ${yaml ? '<its name>' : JSON.stringify(topology)}, "wait_established_s": ${wait}}. It reports progress; on failure it rolls back what it created, so tell me the error and its hint.`,
      `Check the result with topology_status for ${name}: list any node not running and any BGP session not Established from both ends.`,
      'If a session is not Established, troubleshoot it (the troubleshoot-bgp-session prompt) and tell me what you found.',
    ]);
    const text = `Plan, then apply the netstream-lab topology ${name}, step by step:\n\n${steps}${yaml ? `\n\nThe topology file:\n\n\`\`\`yaml\n${topology}\n\`\`\`` : ''}`;
    const messages: GetPromptResult['messages'] = [user(text)];
    if (!yaml && has('topology_get')) {
      // The saved file itself, so the plan can be read against it.
      const rec = saved[topology];
      messages.push({
        role: 'user',
        content: {
          type: 'resource',
          resource: {
            uri: `nslab://topology/${topology}/file`,
            mimeType: 'application/yaml',
            text: rec?.yaml ?? JSON.stringify(rec?.spec, null, 2),
          },
        },
      });
    }
    return { description: `Plan, then apply topology ${yaml ? '(new file)' : topology}`, messages };
  },
};

/** Commands that show one session in detail, per daemon kind (argv for daemon_exec). */
const DETAIL: Record<DaemonKind, (peer: string) => string[][]> = {
  frr: (p) => [
    ['vtysh', '-c', `show bgp neighbors ${p}`],
    ['tail', '-n', '50', '/var/log/frr/frr.log'],
  ],
  gobgp: (p) => [['gobgp', 'neighbor', p]],
  exabgp: () => [['exabgpcli', 'show', 'neighbor', 'extensive']],
};

/** Which lab daemon (if any) holds this address, and over which network or tunnel the two meet. */
function peerFacts(state: StoreState, d: DaemonRecord, address: string): string {
  const owner = Object.values(state.daemons).find((x) => x.name !== d.name && connectedSubnets(x, state).some((c) => c.ip === address));
  const via = connectedSubnets(d, state).find((c) => inSubnet(address, c.subnet));
  const where = via
    ? `on ${via.via} (${via.subnet}), which ${d.name} is connected to as ${via.ip}`
    : `on none of ${d.name}'s networks or tunnels`;
  const who = owner
    ? `${address} is lab daemon '${owner.name}' (${owner.kind}, AS ${owner.asn})${owner.neighbors.some((n) => via && n.address === via.ip) ? `, which has ${d.name} configured as a neighbor` : `, which does NOT have ${d.name}'s address ${via?.ip ?? ''} configured as a neighbor`}`
    : `${address} is not a lab daemon (an outside peer or a typo)`;
  return `${who}; the address is ${where}.`;
}

const troubleshoot: PromptDef = {
  prompt: {
    name: 'troubleshoot-bgp-session',
    title: 'Troubleshoot a BGP session',
    description:
      "Find out why a daemon's BGP session is not Established: its state, reachability, the far end's configuration, tunnels, the daemon's own log.",
    arguments: [
      { name: 'daemon', description: 'name of the lab daemon', required: true },
      {
        name: 'neighbor',
        description: 'address of the neighbor whose session is down (default: every neighbor that is not Established)',
        required: false,
      },
    ],
  },
  needs: ['daemon_status', 'daemon_get'],
  complete: async (lab, argument, context) => {
    const state = await lab.store.read();
    if (argument === 'daemon') return Object.keys(state.daemons).sort();
    if (argument === 'neighbor') {
      const d = context.daemon ? state.daemons[context.daemon] : undefined;
      return (d ? d.neighbors : Object.values(state.daemons).flatMap((x) => x.neighbors)).map((n) => n.address);
    }
    return [];
  },
  get: async (lab, args, has) => {
    const name = args.daemon?.trim();
    if (!name) throw badArg('daemon', 'give the name of a lab daemon');
    const state = await lab.store.read();
    const d = state.daemons[name];
    if (!d) throw badArg('daemon', `no lab daemon '${name}' (daemons: ${Object.keys(state.daemons).sort().join(', ') || 'none'})`);
    const peer = args.neighbor?.trim();
    const n = peer ? d.neighbors.find((x) => x.address === peer) : undefined;
    if (peer && !/^\d{1,3}(\.\d{1,3}){3}$/.test(peer)) throw badArg('neighbor', `'${peer}' is not an IPv4 address`);
    const facts = [
      `${name} is ${d.kind} AS ${d.asn}, router id ${d.router_id}, on ${connectedSubnets(d, state)
        .map((c) => `${c.via} as ${c.ip}`)
        .join(', ')}.`,
      peer
        ? n
          ? `Its neighbor ${peer} is configured with AS ${n.asn}${n.multihop ? `, multihop ${n.multihop}` : ''}${n.password ? ', with a password' : ''}. ${peerFacts(state, d, peer)}`
          : `${peer} is NOT configured as a neighbor of ${name} (its neighbors: ${d.neighbors.map((x) => x.address).join(', ') || 'none'}): that alone keeps the session down.`
        : `Its neighbors: ${d.neighbors.map((x) => `${x.address} (AS ${x.asn})`).join(', ') || 'none'}.`,
    ];
    const target = peer ?? 'each neighbor that is not Established';
    const detail = (peer ? DETAIL[d.kind](peer) : DETAIL[d.kind]('<address>')).map((c) => JSON.stringify(c)).join(' and ');
    const steps = numbered([
      `Read the live state with daemon_status {"name": "${name}"}: the daemon field (running, not_answering, restarting, stopped) and the state of ${target}. If it is Established, say so and stop.`,
      has('daemon_start') && 'If the container or the daemon is not running, say why (daemon_status note) and offer daemon_start.',
      'Check the far end: if it is a lab daemon, daemon_get and daemon_status on it. Its neighbor entry must be our address with our AS, and the AS numbers, passwords (set on both ends or on neither) and multihop must agree.',
      has('network_get') && 'Check that both ends share a network (network_get) or that the peer is reachable with multihop set.',
      has('daemon_exec') &&
        `Check reachability from ${name}: daemon_exec {"name": "${name}", "command": ["ping", "-c", "3", "-W", "1", "${peer ?? '<address>'}"]}, and TCP port 179 is not filtered.`,
      has('tunnel_list') &&
        `If the session runs over a tunnel (tunnel_list {"container": "${name}"}), run tunnel_diagnose on it${has('tunnel_fix') ? ' and offer tunnel_fix for what it finds' : ''}.`,
      has('daemon_exec') && `Read the daemon's own view and log with daemon_exec: ${detail}.`,
      `Tell me the cause in one sentence, the evidence, and the fix${has('daemon_peer_add') ? ' (e.g. daemon_peer_add / daemon_peer_remove with the right AS or password)' : ''}; ask before changing anything, then check daemon_status again.`,
    ]);
    return {
      description: `Troubleshoot BGP on ${name}${peer ? ` with ${peer}` : ''}`,
      messages: [
        user(
          `The BGP session of netstream-lab daemon '${name}' with ${peer ?? 'one of its neighbors'} is not Established. What the store says:\n${facts.map((f) => `- ${f}`).join('\n')}\n\nInvestigate step by step:\n\n${steps}`,
        ),
      ],
    };
  },
};

export const PROMPTS: readonly PromptDef[] = [planAndApply, troubleshoot];

export class Prompts {
  constructor(
    private readonly lab: Lab,
    private readonly visible: () => Set<string>,
  ) {}

  #offered(): PromptDef[] {
    const tools = this.visible();
    return PROMPTS.filter((p) => p.needs.every((t) => tools.has(t)));
  }

  list(): Prompt[] {
    return this.#offered().map((p) => p.prompt);
  }

  #find(name: string): PromptDef {
    const p = this.#offered().find((x) => x.prompt.name === name);
    if (!p)
      throw new McpError(
        ErrorCode.InvalidParams,
        `unknown prompt '${name}'; the prompts are ${
          this.list()
            .map((x) => x.name)
            .join(', ') || 'none in this mode'
        }`,
      );
    return p;
  }

  get(name: string, args: Args = {}): Promise<GetPromptResult> {
    const p = this.#find(name);
    const known = new Set((p.prompt.arguments ?? []).map((a) => a.name));
    for (const k of Object.keys(args)) if (!known.has(k)) throw badArg(k, `unknown argument of ${name}; use ${[...known].join(', ')}`);
    const tools = this.visible();
    return p.get(this.lab, args, (t) => tools.has(t));
  }

  async complete(name: string, argument: string, typed: string, context: Args): Promise<string[]> {
    const p = this.#offered().find((x) => x.prompt.name === name);
    if (!p) return [];
    return (await p.complete(this.lab, argument, context)).filter((v) => v.startsWith(typed));
  }
}
