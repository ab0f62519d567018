import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import { type AnyTool, type CallPolicy, describeCall, type Verdict } from '../../tools/index.js';
import type { ConfirmMode } from '../config.js';

/** The question for a destructive call: the tool's own words (tools/policy.ts decides). */
export const describeDestructive = describeCall;

const canElicit = (server: Server): boolean => {
  const e = server.getClientCapabilities()?.elicitation;
  // an empty object means form mode (the SDK normalises it to { form: {} })
  return e !== undefined && (e.form !== undefined || e.url === undefined);
};

/**
 * How this MCP client is asked to confirm a destructive call (the policy decides when): by
 * elicitation, a form with one boolean `confirm` field. Without elicitation: `elicit` runs it (the
 * tool's annotations already say it is destructive), `always` refuses it; `never` never asks.
 * Anything but an explicit yes leaves the lab untouched.
 */
export function mcpConfirmer(
  server: Server,
  mode: ConfirmMode,
  request: { signal: AbortSignal; requestId: RequestId },
): CallPolicy['confirm'] {
  if (mode === 'never') return undefined;
  return async (what: string, tool: AnyTool): Promise<Verdict> => {
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
  };
}
