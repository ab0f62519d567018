import { ErrorCode, type GetPromptResult, McpError, type Prompt } from '@modelcontextprotocol/sdk/types.js';
import type { Lab } from '../core/lab.js';
import { type Args, badArg, type PromptDef } from './prompt-kit.js';
import { planAndApply } from './prompt-plan.js';
import { troubleshoot } from './prompt-troubleshoot.js';

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
