import { LabError } from '../src/core/errors.js';
import { catalogue } from './catalogue.js';
import type { AnyTool } from './define.js';

/**
 * Messages and hints name operations by tool name (`network_create`), the neutral vocabulary.
 * Each front end reads them in its own words: the CLI as `nslab call network_create`, REST as
 * `POST /networks`, Slack as `/lab network create`; MCP clients call tools by name, so MCP keeps it.
 */
export type Vocabulary = 'mcp' | 'cli' | 'rest' | 'slack';

export function vocabularyOf(frontEnd: string | undefined): Vocabulary {
  if (frontEnd === 'cli' || frontEnd === 'rest' || frontEnd === 'slack') return frontEnd;
  return 'mcp';
}

/** How a user of one front end runs a tool. */
export function phraseTool(tool: AnyTool, vocabulary: Vocabulary): string {
  switch (vocabulary) {
    case 'mcp':
      return tool.name;
    case 'cli':
      return `nslab call ${tool.name}`;
    case 'slack':
      return `/lab ${tool.name.replace('_', ' ')}`;
    case 'rest':
      return tool.http ? `${tool.http.method} ${tool.http.path}` : `the ${tool.name} tool (over MCP, or nslab call ${tool.name})`;
  }
}

const names = [...catalogue].map((t) => t.name).sort((a, b) => b.length - a.length);
// A tool name as a word of its own: not part of a longer identifier or of a path.
const pattern = new RegExp(`(?<![\\w/-])(${names.join('|')})(?![\\w-])`, 'g');
const byName = new Map(catalogue.map((t) => [t.name, t]));

export function phrase(text: string, vocabulary: Vocabulary): string {
  if (vocabulary === 'mcp') return text;
  return text.replace(pattern, (name, _g, offset: number) => {
    // Already phrased for the CLI ("nslab call network_create") stays as it is.
    if (vocabulary === 'cli' && text.slice(Math.max(0, offset - 11), offset) === 'nslab call ') return name;
    const tool = byName.get(name);
    return tool ? phraseTool(tool, vocabulary) : name;
  });
}

/** The same error in the caller's words; code and field issues are unchanged. */
export function phraseError(err: LabError, vocabulary: Vocabulary): LabError {
  if (vocabulary === 'mcp') return err;
  const message = phrase(err.message, vocabulary);
  const hint = err.hint === undefined ? undefined : phrase(err.hint, vocabulary);
  if (message === err.message && hint === err.hint) return err;
  return new LabError(err.code, message, {
    ...(hint === undefined ? {} : { hint }),
    ...(err.issues ? { issues: err.issues } : {}),
    ...(err.cause === undefined ? {} : { cause: err.cause }),
  });
}
