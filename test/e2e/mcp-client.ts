import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, type ClientOptions } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { root, testEnv } from '../helpers/docker.js';

/** Shared by the MCP e2e files: the server started as manifest.json says, and checked results. */
export const manifest = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8'));
const cfg = manifest.server.mcp_config as { command: string; args: string[] };
export const serverCommand = { command: cfg.command, args: cfg.args.map((a) => a.replace('${__dirname}', root)) };

export type Result = {
  isError?: boolean;
  structuredContent?: Record<string, unknown>;
  content: Array<{ type: string; text?: string; data?: string; mimeType?: string }>;
};

/**
 * Start the server as an MCP Bundle host would: PATH, HOME and the user_config values (blank =
 * unset), plus the test labels and a private store; `env` adds settings such as
 * NSLAB_CONFIRM_DESTRUCTIVE. `dataDir` shares a store between two servers.
 */
export async function spawnServer(
  run: string,
  env: Record<string, string> = {},
  options: ClientOptions = {},
  dataDir?: string,
): Promise<{ client: Client; dataDir: string; stderr: () => string }> {
  const t = testEnv(run);
  const transport = new StdioClientTransport({
    ...serverCommand,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      NSLAB_DATA_DIR: dataDir ?? (t.NSLAB_DATA_DIR as string),
      DOCKER_HOST: '',
      NSLAB_READ_ONLY: '',
      NSLAB_EXTRA_LABELS: t.NSLAB_EXTRA_LABELS as string,
      ...env,
    },
    stderr: 'pipe',
  });
  let err = '';
  transport.stderr?.on('data', (b: Buffer) => {
    err += b.toString();
  });
  const client = new Client({ name: 'nslab-e2e', version: '1.0.0' }, options);
  await client.connect(transport);
  return { client, dataDir: dataDir ?? (t.NSLAB_DATA_DIR as string), stderr: () => err };
}

const ajv = new Ajv2020({ strict: false, allErrors: true });

/**
 * Tool calls whose every successful result is validated (ajv) against the outputSchema that
 * tools/list gives for that tool: a result that does not match fails the test that made it.
 */
export class CheckedTools {
  #validators: Map<string, ValidateFunction> | undefined;
  /** how many results were validated, so a test can show the check ran */
  checked = 0;

  constructor(private readonly client: Client) {}

  async #validator(name: string): Promise<ValidateFunction | undefined> {
    if (!this.#validators) {
      const { tools } = await this.client.listTools();
      this.#validators = new Map(tools.map((t) => [t.name, ajv.compile(t.outputSchema ?? { type: 'object' })]));
    }
    return this.#validators.get(name);
  }

  async call(name: string, args: Record<string, unknown> = {}, options?: RequestOptions): Promise<Result> {
    const validate = await this.#validator(name);
    const r = (await this.client.callTool({ name, arguments: args }, undefined, options)) as Result;
    if (!r.isError) {
      // a tool that tools/list hides (read-only mode, toolsets) must not work either
      if (!validate) throw new Error(`${name} is not listed by tools/list, yet a call to it worked`);
      if (!validate(r.structuredContent)) {
        throw new Error(`${name}: structuredContent does not match its output schema: ${ajv.errorsText(validate.errors)}`);
      }
      this.checked += 1;
    }
    return r;
  }

  /** A call that must work: its structured result. */
  async ok(name: string, args: Record<string, unknown> = {}, options?: RequestOptions): Promise<Record<string, any>> {
    const r = await this.call(name, args, options);
    if (r.isError) throw new Error(`${name}: ${r.content[0]?.text}`);
    return r.structuredContent as Record<string, any>;
  }
}
