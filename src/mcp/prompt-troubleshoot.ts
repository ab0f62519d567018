import type { DaemonKind } from '../core/bgp/types.js';
import type { DaemonRecord, StoreState } from '../core/store/schema.js';
import { connectedSubnets, inSubnet } from '../core/subnets.js';
import { badArg, numbered, type PromptDef, user } from './prompt-kit.js';

/** Commands that show one session in detail, per daemon kind (argv for daemon_exec). */
const DETAIL: Record<DaemonKind, (peer: string) => string[][]> = {
  frr: (p) => [
    ['vtysh', '-c', `show bgp neighbors ${p}`],
    ['tail', '-n', '50', '/var/log/frr/frr.log'],
  ],
  gobgp: (p) => [['gobgp', 'neighbor', p]],
  exabgp: () => [['exabgpcli', 'show', 'neighbor', 'extensive']],
  bird: (p) => [['birdc', 'show', 'protocols', 'all', `peer_${p.replaceAll('.', '_')}`]],
  openbgpd: (p) => [['bgpctl', 'show', 'neighbor', p]],
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

export const troubleshoot: PromptDef = {
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
