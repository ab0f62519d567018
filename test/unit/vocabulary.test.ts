import { describe, expect, it } from 'vitest';
import { LabError, notFound } from '../../src/core/errors.js';
import { phrase, phraseError, vocabularyOf } from '../../tools/index.js';

describe('hints read in the words of the front end that asked', () => {
  const hint = 'create it first with network_create, or list them with network_list';

  it('MCP keeps tool names, which are what an MCP client calls', () => {
    expect(phrase(hint, 'mcp')).toBe(hint);
  });

  it('the CLI names the command to type, without doubling one already written', () => {
    expect(phrase(hint, 'cli')).toBe('create it first with nslab call network_create, or list them with nslab call network_list');
    expect(phrase('run `nslab call daemon_list`', 'cli')).toBe('run `nslab call daemon_list`');
  });

  it('REST names the method and path, and Slack the slash command', () => {
    expect(phrase(hint, 'rest')).toBe('create it first with POST /networks, or list them with GET /networks');
    expect(phrase(hint, 'slack')).toBe('create it first with /lab network create, or list them with /lab network list');
    expect(phrase('start it (daemon_start / host_start)', 'slack')).toBe('start it (/lab daemon start / /lab host start)');
  });

  it('leaves words that only contain a tool name alone', () => {
    const text = 'the file /etc/nslab/daemon_list_x and my_daemon_list stay';
    expect(phrase(text, 'slack')).toBe(text);
  });

  it('keeps the code and the field issues of an error', () => {
    const err = phraseError(notFound('daemon', 'r9'), vocabularyOf('slack'));
    expect(err.code).toBe('NOT_FOUND');
    expect(err.hint).toContain('/lab daemon list');
    const bad = new LabError('INVALID_INPUT', 'subnet: not a CIDR', {
      issues: [{ path: 'subnet', message: 'not a CIDR' }],
      hint: 'see network_create',
    });
    const rest = phraseError(bad, 'rest');
    expect(rest.issues).toEqual([{ path: 'subnet', message: 'not a CIDR' }]);
    expect(rest.hint).toBe('see POST /networks');
    expect(vocabularyOf('mcp-http')).toBe('mcp');
  });
});
