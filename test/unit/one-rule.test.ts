import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { TopologySpec } from '../../src/core/topology/spec.js';
import { buildArgs } from '../../src/http/args.js';
import { routes } from '../../src/http/routes.js';
import { inputJsonSchema as mcpInputSchema } from '../../src/mcp/schema.js';
import { schemaOf } from '../../src/slack/coerce.js';
import { parseCommand } from '../../src/slack/grammar.js';
import { catalogue, findTool, inputJsonSchema, outputJsonSchema } from '../../tools/index.js';

const restQuery = (tool: string, query: string) =>
  buildArgs(routes.find((r) => r.tool.name === tool)!, { id: 't1' }, new URLSearchParams(query), {});
const slackArgs = (text: string) => {
  const c = parseCommand(text, catalogue);
  if (c.kind !== 'call') throw new Error(`not a call: ${text}`);
  return c.args;
};
const env = (v: string) => loadConfig({ NSLAB_READ_ONLY: v }, {}, '/tmp').readOnly;

describe('one rule per field, whichever way a value comes in', () => {
  it('reads yes/no words the same in the environment, Slack arguments and REST query strings', () => {
    for (const [word, value] of [
      ['yes', true],
      ['On', true],
      ['TRUE', true],
      ['1', true],
      ['no', false],
      ['off', false],
      ['False', false],
      ['0', false],
    ] as const) {
      expect(env(word)).toBe(value);
      expect(slackArgs(`topology delete t1 force=${word}`).force).toBe(value);
      expect(restQuery('topology_delete', `force=${word}`).force).toBe(value);
    }
    // Anything else: the environment names the variable; Slack and REST leave it for the schema to refuse.
    expect(() => env('maybe')).toThrow(/NSLAB_READ_ONLY=maybe is not a boolean: use true\/yes\/on\/1 or false\/no\/off\/0/);
    expect(slackArgs('topology delete t1 force=maybe').force).toBe('maybe');
    expect(restQuery('topology_delete', 'force=maybe').force).toBe('maybe');
  });

  it('derives each tool JSON Schema once, shared by MCP, Slack and REST, and frozen against changes', () => {
    const tool = findTool('daemon_create')!;
    expect(mcpInputSchema(tool)).toBe(inputJsonSchema(tool));
    expect(schemaOf(tool)).toEqual({ input: inputJsonSchema(tool), output: outputJsonSchema(tool) });
    expect(schemaOf(tool).input).toBe(inputJsonSchema(tool));
    expect(inputJsonSchema(tool).$schema).toBeUndefined();
    expect(Object.isFrozen(inputJsonSchema(tool).properties?.neighbors)).toBe(true);
  });

  it('holds a topology session and daemon_peer_add to the same multihop, description and timer limits', () => {
    const peerAdd = findTool('daemon_peer_add')!;
    const session = (extra: object) =>
      TopologySpec.safeParse({ name: 't', networks: {}, nodes: {}, bgp: { sessions: [{ a: 'r1', b: 'r2', ...extra }] } }).success;
    const peer = (extra: object) => peerAdd.input.safeParse({ name: 'r1', address: '10.0.0.2', asn: 65002, ...extra }).success;
    for (const [extra, ok] of [
      [{ multihop: 255 }, true],
      [{ multihop: 256 }, false],
      [{ multihop: 0 }, false],
      [{ description: 'x'.repeat(80) }, true],
      [{ description: 'x'.repeat(81) }, false],
      [{ hold_s: 0 }, true],
      [{ hold_s: 3, keepalive_s: 1, bfd: true }, true],
      [{ hold_s: 65535, keepalive_s: 21845 }, true],
      [{ hold_s: 2 }, false],
      [{ hold_s: 65536 }, false],
      [{ hold_s: 3.5 }, false],
      [{ keepalive_s: 0 }, false],
      [{ keepalive_s: 21846 }, false],
      [{ bfd: 'yes' }, false],
    ] as const) {
      expect(session(extra)).toBe(ok);
      expect(peer(extra)).toBe(ok);
    }
  });
});
