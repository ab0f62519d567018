import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, describe, expect, it } from 'vitest';
import { root, sweep, testEnv } from '../helpers/docker.js';
import { manifest, serverCommand } from './mcp-client.js';

/**
 * A client no one on the project wrote: the MCP Inspector's CLI (bin mcp-inspector of
 * @modelcontextprotocol/inspector) starts the server over stdio from the manifest's command,
 * lists and calls tools, and prints the JSON answer.
 */
const RUN = `mcpx-insp-${process.pid}`;
const env = { ...process.env, ...testEnv(RUN), NSLAB_READ_ONLY: '', NSLAB_TOOLSETS: '' };
const INSPECTOR = join(root, 'node_modules', '.bin', 'mcp-inspector');

function inspector(...args: string[]): Promise<any> {
  return new Promise((resolve, reject) => {
    execFile(
      INSPECTOR,
      ['--cli', serverCommand.command, ...serverCommand.args, ...args],
      { env, cwd: root, timeout: 60_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`mcp-inspector ${args.join(' ')} failed: ${err.message}\n${stderr}`));
        try {
          resolve(JSON.parse(stdout));
        } catch {
          reject(new Error(`mcp-inspector printed no JSON: ${stdout.slice(0, 500)}\n${stderr}`));
        }
      },
    );
  });
}

const call = (tool: string, ...toolArgs: string[]) =>
  inspector('--method', 'tools/call', '--tool-name', tool, ...(toolArgs.length ? ['--tool-arg', ...toolArgs] : []));

describe('MCP Inspector CLI over stdio', () => {
  let outputSchemas: Map<string, object>;
  const ajv = new Ajv2020({ strict: false });
  const valid = (tool: string, r: { structuredContent?: unknown }) => {
    const validate = ajv.compile(outputSchemas.get(tool) ?? {});
    if (!validate(r.structuredContent)) throw new Error(`${tool}: ${ajv.errorsText(validate.errors)}`);
    return r.structuredContent as Record<string, any>;
  };

  afterAll(async () => {
    await sweep(RUN);
  });

  it('lists every tool of the manifest, with output schemas and annotations', async () => {
    const { tools } = await inspector('--method', 'tools/list');
    expect(tools.map((t: { name: string }) => t.name)).toEqual(manifest.tools.map((t: { name: string }) => t.name));
    for (const t of tools) {
      expect(t.outputSchema?.type, t.name).toBe('object');
      expect(t.annotations?.openWorldHint, t.name).toBe(false);
    }
    outputSchemas = new Map(tools.map((t: { name: string; outputSchema: object }) => [t.name, t.outputSchema]));
  });

  it('calls network_list, network_create and network_delete, each result matching its output schema', async () => {
    expect(valid('network_list', await call('network_list'))).toEqual({ networks: [] });
    const made = valid('network_create', await call('network_create', 'name=mcpx-insp', 'subnet=10.245.20.0/24'));
    expect(made).toMatchObject({ name: 'mcpx-insp', subnet: '10.245.20.0/24' });
    const list = valid('network_list', await call('network_list'));
    expect(list.networks.map((n: { name: string; subnet: string }) => [n.name, n.subnet])).toEqual([['mcpx-insp', '10.245.20.0/24']]);
    // the Inspector does not declare elicitation: with the default (elicit) a destructive tool runs
    expect(valid('network_delete', await call('network_delete', 'name=mcpx-insp'))).toEqual({ deleted: 'mcpx-insp' });
    const missing = await call('network_get', 'name=mcpx-insp');
    expect(missing.isError).toBe(true);
    expect(missing.content[0].text).toContain("network 'mcpx-insp' not found");
  });

  it('lists resource templates and prompts', async () => {
    const { resourceTemplates } = await inspector('--method', 'resources/templates/list');
    expect(resourceTemplates.map((t: { uriTemplate: string }) => t.uriTemplate)).toContain('nslab://daemon/{name}/config');
    const { prompts } = await inspector('--method', 'prompts/list');
    expect(prompts.map((p: { name: string }) => p.name)).toEqual(['plan-and-apply-topology', 'troubleshoot-bgp-session']);
  });
});
