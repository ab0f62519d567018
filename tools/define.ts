import type { z } from 'zod';
import type { Toolset } from '../src/config.js';
import type { Lab } from '../src/core/lab.js';
import type { OpContext } from '../src/core/progress.js';

/** read: changes nothing; write: creates or changes; destructive: removes or interrupts. */
export type Effect = 'read' | 'write' | 'destructive';

export interface HttpRoute {
  method: 'GET' | 'POST' | 'DELETE';
  /** the original service's path; {name} etc. map to input fields */
  path: string;
}

export interface ToolDef<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  name: string;
  title: string;
  /** written for a model: what it does, when to use it, what it returns */
  description: string;
  toolset: Toolset;
  /** the most a call can do: what MCP annotations, help and the README table show */
  effect: Effect;
  /**
   * What this call does, when its arguments decide (sync_run reports, sync_run apply removes).
   * Read from the raw arguments, before parsing: anything but a plain "no" counts as the worse case.
   */
  effectOf?: (args: Record<string, unknown>) => Effect;
  idempotent: boolean;
  /**
   * What a person is asked to confirm before a destructive call: what goes away or is interrupted,
   * naming its target. Without it the question shows the title and the (masked) arguments.
   */
  confirm?: (input: z.output<I>, lab: Lab) => string | Promise<string>;
  http?: HttpRoute;
  /** output fields a chat message leaves out (long per-item detail; the summary fields say enough) */
  chatOmits?: string[];
  input: I;
  output: O;
  handle: (lab: Lab, input: z.output<I>, ctx: OpContext) => Promise<z.input<O>>;
}

export type AnyTool = ToolDef<z.ZodType, z.ZodType>;

/** What this call with these arguments may do: the tool's effect, or less where its arguments say so. */
export function callEffect(tool: AnyTool, args: unknown): Effect {
  const a = args && typeof args === 'object' && !Array.isArray(args) ? (args as Record<string, unknown>) : {};
  return tool.effectOf ? tool.effectOf(a) : tool.effect;
}

/** Declare one operation, once. Every front end derives what it needs from this object. */
export function defineTool<I extends z.ZodType, O extends z.ZodType>(def: ToolDef<I, O>): AnyTool {
  return def as unknown as AnyTool;
}
