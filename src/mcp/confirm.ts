import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import { type AnyTool, callEffect } from '../../tools/index.js';
import type { ConfirmMode } from '../config.js';
import { ownValue } from '../core/keys.js';
import type { Lab } from '../core/lab.js';
import { maskSecrets } from '../core/secrets.js';

/** What a person is asked to confirm, in words: what goes away or is interrupted. */
type Args = Record<string, string | number | boolean | string[] | undefined>;
type Describe = (a: Args, lab: Lab) => string | Promise<string>;

const WHAT: Record<string, Describe> = {
  daemon_delete: (a) => `Remove daemon '${a.name}': its container, its addresses and its record (its tunnels go with it).`,
  daemon_stop: (a) => `Stop daemon '${a.name}': its container stops and its BGP sessions go down.`,
  daemon_peer_remove: (a) => `Remove BGP neighbor ${a.address} from daemon '${a.name}': that session goes down.`,
  daemon_route_withdraw: (a) => `Withdraw ${a.prefix} from daemon '${a.name}': its peers remove the route.`,
  daemon_exec: (a) => `Run ${JSON.stringify(a.command)} inside daemon '${a.name}' (a command may change or stop the daemon).`,
  host_delete: (a) => `Remove host '${a.name}': its container, its addresses and its record.`,
  host_stop: (a) => `Stop host '${a.name}'.`,
  host_exec: (a) => `Run ${JSON.stringify(a.command)} on host '${a.name}'.`,
  network_delete: (a) => `Delete lab network '${a.name}'.`,
  sync_run: () =>
    'Repair drift between the store and Docker: remove labelled containers and networks that no record claims, recreate or restart what the store holds, rebuild lost records and forwarding rules.',
  network_disconnect: (a) =>
    `Detach '${a.container}' from network '${a.network}' and free its address${a.force ? ', even if BGP peers become unreachable' : ''}.`,
  tunnel_delete: (a) => `Remove tunnel '${a.name}' of '${a.container}' at both ends.`,
  tunnel_fix: (a) =>
    `Recreate or reconfigure the interfaces of tunnel '${a.name}' of '${a.container}' where they differ from what was saved.`,
  topology_delete: (a) => `Delete the topology file '${a.name}'${a.force ? ', tearing it down first if it is deployed' : ''}.`,
  topology_teardown: (a) => `Remove every container, network and tunnel of topology '${a.name}' (its file is kept).`,
  topology_activate: (a) => `Tear down the topology that is active now (if another), then stand up '${a.name}'.`,
  topology_standup: async (a, lab) => {
    const head = `Stand up topology '${a.name}'`;
    try {
      const { summary: s } = await lab.topologies.plan(String(a.name));
      return `${head}: ${s.create} to create, ${s.update} to update in place, ${s.recreate} to remove and recreate, ${s.delete} to remove, ${s.keep} kept.`;
    } catch {
      return `${head}: nodes and networks that changed or left the file are removed or recreated.`;
    }
  },
};

/** Arguments shown in the question: secrets never. */
const shown = (args: Record<string, unknown>) => JSON.stringify(maskSecrets(args));

export async function describeDestructive(tool: AnyTool, args: Record<string, unknown>, lab: Lab): Promise<string> {
  const what = WHAT[tool.name];
  return what ? what(args as Args, lab) : `${tool.title} with ${shown(args)}: ${tool.description}`;
}

/** The store collection a tool's `name` argument names, where there is one. */
const TARGET: Array<[RegExp, 'daemons' | 'hosts' | 'networks' | 'topologies']> = [
  [/^daemon_/, 'daemons'],
  [/^host_/, 'hosts'],
  [/^network_delete$/, 'networks'],
  [/^topology_/, 'topologies'],
];

/**
 * Does the call need a person's yes first? A dry run changes nothing, and a call on a name the
 * store does not hold is left to fail with "not found" rather than ask about nothing.
 */
async function needsConfirmation(tool: AnyTool, args: Record<string, unknown>, lab: Lab): Promise<boolean> {
  if (callEffect(tool, args) !== 'destructive' || args.dry_run === true) return false;
  const coll = TARGET.find(([re]) => re.test(tool.name))?.[1];
  if (!coll || typeof args.name !== 'string') return true;
  return ownValue<unknown>((await lab.store.read())[coll], args.name) !== undefined;
}

const canElicit = (server: Server): boolean => {
  const e = server.getClientCapabilities()?.elicitation;
  // an empty object means form mode (the SDK normalises it to { form: {} })
  return e !== undefined && (e.form !== undefined || e.url === undefined);
};

export type Verdict = { go: true } | { go: false; reason: string };

/**
 * Ask the client to confirm a destructive call (elicitation, a boolean `confirm` field). Without
 * elicitation: `elicit` runs it (the tool's annotations already say it is destructive), `always`
 * refuses it, `never` never asks. Anything but an explicit yes leaves the lab untouched.
 */
export async function confirmCall(
  server: Server,
  lab: Lab,
  tool: AnyTool,
  args: Record<string, unknown>,
  mode: ConfirmMode,
  request: { signal: AbortSignal; requestId: RequestId },
): Promise<Verdict> {
  if (mode === 'never' || !(await needsConfirmation(tool, args, lab))) return { go: true };
  const what = await describeDestructive(tool, args, lab);
  if (!canElicit(server)) {
    if (mode === 'elicit') return { go: true };
    return {
      go: false,
      reason: `${tool.name} was not run: it removes or interrupts part of the lab, and this server asks for a confirmation (NSLAB_CONFIRM_DESTRUCTIVE=always) that this client cannot give (it does not support elicitation). Nothing was changed.\nWould have done: ${what}`,
    };
  }
  try {
    const r = await server.elicitInput(
      {
        mode: 'form',
        message: `${what}\n\nConfirm to run ${tool.name}; anything else leaves the lab as it is.`,
        requestedSchema: {
          type: 'object',
          properties: { confirm: { type: 'boolean', title: `Run ${tool.name}`, description: what, default: false } },
          required: ['confirm'],
        },
      },
      // A person may take a while to answer; the call's own cancellation still ends the wait. Over
      // HTTP the question travels on the tool call's own stream (relatedRequestId).
      { signal: request.signal, relatedRequestId: request.requestId, timeout: 10 * 60_000 },
    );
    if (r.action === 'accept' && r.content?.confirm === true) return { go: true };
    const how = r.action === 'accept' ? 'not confirmed' : r.action === 'decline' ? 'declined' : 'cancelled';
    return {
      go: false,
      reason: `${tool.name} was not run: the confirmation was ${how}. Nothing was changed.\nIt would have done: ${what}`,
    };
  } catch (err) {
    return {
      go: false,
      reason: `${tool.name} was not run: the confirmation could not be asked (${(err as Error).message}). Nothing was changed.`,
    };
  }
}
