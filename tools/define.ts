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
  effect: Effect;
  idempotent: boolean;
  http?: HttpRoute;
  input: I;
  output: O;
  handle: (lab: Lab, input: z.output<I>, ctx: OpContext) => Promise<z.input<O>>;
}

export type AnyTool = ToolDef<z.ZodType, z.ZodType>;

/** Declare one operation, once. Every front end derives what it needs from this object. */
export function defineTool<I extends z.ZodType, O extends z.ZodType>(def: ToolDef<I, O>): AnyTool {
  return def as unknown as AnyTool;
}
