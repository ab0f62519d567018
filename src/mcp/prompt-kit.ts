import { ErrorCode, type GetPromptResult, McpError, type Prompt } from '@modelcontextprotocol/sdk/types.js';
import type { Lab } from '../core/lab.js';

/** What each prompt is made of; the prompts live in prompt-*.ts, the registry in prompts.ts. */
export type Args = Record<string, string>;

export interface PromptDef {
  prompt: Prompt;
  /** offered only while every one of these tools is (toolsets, read-only mode) */
  needs: string[];
  complete(lab: Lab, argument: string, context: Args): Promise<string[]>;
  get(lab: Lab, args: Args, has: (tool: string) => boolean): Promise<GetPromptResult>;
}

export const badArg = (name: string, message: string) => new McpError(ErrorCode.InvalidParams, `${name}: ${message}`);
export const user = (text: string): GetPromptResult['messages'][number] => ({ role: 'user', content: { type: 'text', text } });
export const numbered = (steps: Array<string | false>) =>
  steps
    .filter((s): s is string => typeof s === 'string')
    .map((s, i) => `${i + 1}. ${s}`)
    .join('\n');
