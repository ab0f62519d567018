import type { ConfirmMode } from '../config.js';

/** A sentence of the instructions, given only when every tool it names is offered. */
const SENTENCES: Array<{ needs: string[]; text: string }> = [
  {
    needs: ['topology_create', 'topology_standup', 'topology_status'],
    text: 'Whole labs: topology_create (YAML) then topology_standup with wait_established_s, topology_status, topology_graph (png shows the lab); the plan-and-apply-topology prompt walks through validate, plan, confirm, standup, status.',
  },
  {
    needs: ['network_create', 'daemon_create', 'daemon_status'],
    text: 'One at a time: network_create, daemon_create, daemon_peer_add / daemon_route_advertise (live), daemon_status until neighbors are Established, host_create + host_exec ping to check forwarding, tunnel_create + tunnel_diagnose / tunnel_fix.',
  },
  {
    needs: ['topology_status', 'daemon_status'],
    text: 'To look at a running lab: topology_list, topology_status, topology_graph, daemon_status (live BGP state), tunnel_diagnose.',
  },
  { needs: ['daemon_status'], text: 'A BGP session that stays down: the troubleshoot-bgp-session prompt.' },
  {
    needs: ['topology_get'],
    text: 'Resources: nslab://topology/{name}/file and nslab://topology/{name}/status, nslab://daemon/{name}/config (the rendered BGP files).',
  },
  {
    needs: ['event_list', 'topology_status'],
    text: 'Watching: event_list (since_seq) and nslab://events give the lab event stream (sessions up and down, nodes died, drift, faults, verify results); resources/subscribe on nslab://topology/{name}/status or nslab://daemon/{name}/status sends notifications/resources/updated when they change.',
  },
];

const CONFIRM: Record<ConfirmMode, string> = {
  elicit: 'Tools annotated destructive ask the user to confirm first when the client supports elicitation.',
  always: 'Tools annotated destructive run only after the user confirms through elicitation; without elicitation they are refused.',
  never: '',
};

/** The server's instructions, kept true to what this server offers (toolsets, read-only mode). */
export function instructions(visible: Set<string>, readOnly: boolean, confirm: ConfirmMode): string {
  const parts = [
    'netstream-lab runs container BGP labs (FRR, GoBGP, ExaBGP, BIRD and OpenBGPD daemons, hosts, networks, GRE/VXLAN tunnels).',
    ...SENTENCES.filter((s) => s.needs.every((t) => visible.has(t))).map((s) => s.text),
    readOnly ? 'This server is read-only: only tools that change nothing are offered.' : CONFIRM[confirm],
  ];
  return parts.filter(Boolean).join(' ');
}
