/**
 * The words of a `/lab` command as Slack delivers them: HTML-escaped (&lt; &gt; &amp;), with the
 * typographic quotes and dashes a phone or macOS puts in, and YAML/JSON pasted as code blocks.
 */

export interface Token {
  text: string;
  /** some part of it was in quotes: its spaces are content, not separators */
  quoted: boolean;
  /** the whole value (after `key=`) was a code block: keep its text as written */
  block: boolean;
}

const SMART: Record<string, string> = { '“': '"', '”': '"', '„': '"', '″': '"', '‘': "'", '’': "'", '‚': "'", '′': "'" };

export function normalise(text: string): string {
  return (
    text
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&')
      .replace(/[“”„″‘’‚′]/g, (c) => SMART[c] ?? c)
      .replace(/\u00a0/g, ' ')
      // autocorrect turns `--yes` into `—yes` (em dash) or `–yes` (en dash)
      .replace(/(^|\s)[—–]-?(?=[a-z])/gi, '$1--')
  );
}

// ```yaml\n...``` (a language word only when a line break follows it), or ```...```
const BLOCK = /```(?:[a-zA-Z]+[ \t]*\n|[ \t]*\n?)([\s\S]*?)```/g;
const MARK = (i: number) => `\uE000${i}\uE000`;

/** Split into words: quotes ("a b", 'a b', `a`) group, code blocks are one word each. */
export function tokenize(raw: string): Token[] {
  const blocks: string[] = [];
  const text = normalise(raw).replace(BLOCK, (_m, body: string, at: number, all: string) => {
    blocks.push(body.replace(/\n$/, ''));
    // `yaml=```...```` keeps its key; a block on its own is a word of its own
    return `${all[at - 1] === '=' ? '' : ' '}${MARK(blocks.length - 1)} `;
  });
  const tokens: Token[] = [];
  let cur = '';
  let quoted = false;
  let quote: string | undefined;
  let started = false;
  // Inside JSON ([...] or {...} as a value) spaces and quotes are the JSON's own.
  let depth = 0;
  let inString = false;
  let escaped = false;
  const push = () => {
    if (started) tokens.push(expand({ text: cur, quoted, block: false }, blocks));
    cur = '';
    quoted = false;
    started = false;
  };
  for (const ch of text) {
    const valueStart = cur === '' || cur.endsWith('=');
    if (depth > 0) {
      cur += ch;
      if (escaped) escaped = false;
      else if (inString && ch === '\\') escaped = true;
      else if (ch === '"') inString = !inString;
      else if (inString) continue;
      else if (ch === '[' || ch === '{') depth++;
      else if (ch === ']' || ch === '}') depth--;
    } else if (quote) {
      if (ch === quote) quote = undefined;
      else cur += ch;
    } else if ((ch === '"' || ch === "'" || ch === '`') && valueStart) {
      quote = ch;
      quoted = true;
      started = true;
    } else if ((ch === '[' || ch === '{') && valueStart) {
      depth = 1;
      cur += ch;
      started = true;
    } else if (/\s/.test(ch)) {
      push();
    } else {
      cur += ch;
      started = true;
    }
  }
  push();
  return tokens;
}

/** Put code blocks back where their marks stand: `yaml=<block>` or a block on its own. */
function expand(t: Token, blocks: string[]): Token {
  const m = /^(.*?)\uE000(\d+)\uE000$/s.exec(t.text);
  if (!m) return t;
  return { text: `${m[1]}${blocks[Number(m[2])] ?? ''}`, quoted: true, block: true };
}

/** argv from one quoted value: `command="ping -c 1 10.0.0.1"` -> [ping, -c, 1, 10.0.0.1]. */
export function words(text: string): string[] {
  return tokenize(text).map((t) => t.text);
}
