export { catalogue, findTool, unavailable, visibleTools } from './catalogue.js';
export type { AnyTool, Effect, ToolDef } from './define.js';
export { formatZodError, runTool, type ToolOutcome } from './run.js';
