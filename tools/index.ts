export { catalogue, findTool, unavailable, visibleTools } from './catalogue.js';
export type { AnyTool, Effect, ToolDef } from './define.js';
export { callEffect } from './define.js';
export { inputJsonSchema, type JsonSchema, type ObjectJsonSchema, outputJsonSchema } from './json-schema.js';
export { type CallPolicy, describeCall, needsConfirmation, type Verdict } from './policy.js';
export { callsInFlight, checkCall, drainCalls, formatZodError, runTool, type ToolOutcome } from './run.js';
export { phrase, phraseError, phraseTool, type Vocabulary, vocabularyOf } from './vocabulary.js';
