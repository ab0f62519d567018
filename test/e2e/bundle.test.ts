import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { visibleTools } from '../../tools/index.js';
import { root } from '../helpers/docker.js';
import { ltsNode } from '../helpers/node.js';

/**
 * `npm run bundle`, then the .mcpb unpacked into an empty folder and started the way an MCP Bundle
 * host starts it: the manifest's command and args with ${__dirname} and ${user_config.*} filled in
 * (defaults: the user set nothing), only PATH and HOME besides the manifest's env, and Node 22 (the
 * LTS a host ships) first on PATH. Everything it stores goes to the temporary HOME; it creates no
 * Docker object, so nothing needs the test label.
 */
type Manifest = {
  version: string;
  server: { mcp_config: { command: string; args: string[]; env: Record<string, string> } };
  user_config: Record<string, { default?: unknown }>;
  tools: Array<{ name: string }>;
};
type Result = { isError?: boolean; structuredContent?: Record<string, any>; content: Array<{ type: string; text?: string }> };

const tmp = mkdtempSync(join(tmpdir(), 'pkg-bundle-'));
const dir = join(tmp, 'unpacked');
const home = join(tmp, 'home');
const node22 = dirname(ltsNode());
let bundle: string;
let manifest: Manifest;
let client: Client;

const fill = (s: string) =>
  s.replaceAll('${__dirname}', dir).replace(/\$\{user_config\.(\w+)\}/g, (_, k: string) => String(manifest.user_config[k]?.default ?? ''));
const ok = async (name: string, args: Record<string, unknown>) => {
  const r = (await client.callTool({ name, arguments: args })) as Result;
  if (r.isError) throw new Error(`${name}: ${r.content[0]?.text}`);
  return r.structuredContent as Record<string, any>;
};

describe('the MCP Bundle, unpacked and started as a host would', () => {
  beforeAll(async () => {
    const out = execFileSync('npm', ['run', '-s', 'bundle', '--', '--out', tmp], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    bundle = out.trim().split('\n').at(-1) as string;
    execFileSync('unzip', ['-q', bundle, '-d', dir]);
    execFileSync('mkdir', ['-p', home]);
    manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    const cfg = manifest.server.mcp_config;
    const transport = new StdioClientTransport({
      command: cfg.command,
      args: cfg.args.map(fill),
      env: {
        PATH: `${node22}:${process.env.PATH}`,
        HOME: home,
        ...Object.fromEntries(Object.entries(cfg.env).map(([k, v]) => [k, fill(v)])),
      },
      cwd: home,
      stderr: 'pipe',
    });
    client = new Client({ name: 'pkg-bundle-host', version: '1.0.0' });
    await client.connect(transport);
  }, 300_000);

  afterAll(async () => {
    await client?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('is named after the version, at most 10 MB, and carries no dev toolchain', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(bundle).toBe(join(tmp, `netstream-lab-${pkg.version}.mcpb`));
    expect(statSync(bundle).size).toBeLessThanOrEqual(10_000_000);
    expect(manifest.version).toBe(pkg.version);
    for (const dev of ['typescript', 'vitest', '@biomejs', '@anthropic-ai/mcpb', 'tsx']) {
      expect(existsSync(join(dir, 'node_modules', dev)), dev).toBe(false);
    }
    expect(existsSync(join(dir, 'images', 'frr', 'Dockerfile'))).toBe(true);
  });

  it("lists the catalogue's tools, as the manifest does", async () => {
    const { tools } = await client.listTools();
    const expected = visibleTools(loadConfig({ HOME: home }, {}, root)).map((t) => t.name);
    expect(tools.map((t) => t.name)).toEqual(expected);
    expect(manifest.tools.map((t) => t.name)).toEqual(expected);
  });

  it('runs read tools against the engine and keeps its store under HOME (the data folder left blank)', async () => {
    expect(await ok('network_list', {})).toHaveProperty('networks');
    expect(await ok('daemon_list', {})).toHaveProperty('daemons');
    const bad = await ok('topology_validate', {
      spec: {
        name: 'pkg-t',
        networks: { core: { subnet: '10.244.9.0/24' } },
        nodes: { r1: { kind: 'frr', asn: 65001, interfaces: { core: '10.245.0.1' } } },
      },
    });
    expect(bad.valid).toBe(false);
    expect(bad.errors.map((e: { path: string }) => e.path)).toContain('nodes.r1.interfaces.core');
    expect(existsSync(join(home, '.local', 'share', 'netstream-lab'))).toBe(true);
  });

  it('draws a saved topology as PNG (Graphviz WebAssembly, the native resvg addon and the bundled font)', async () => {
    const spec = {
      name: 'pkg-draw',
      networks: { core: { subnet: '10.244.9.0/24' } },
      nodes: {
        r1: { kind: 'frr', asn: 65001, interfaces: { core: 'auto' } },
        r2: { kind: 'gobgp', asn: 65002, interfaces: { core: 'auto' } },
      },
      bgp: { sessions: [['r1', 'r2']] },
    };
    await ok('topology_create', { spec });
    const g = await ok('topology_graph', { name: 'pkg-draw', format: 'png' });
    const png = Buffer.from(g.data_base64, 'base64');
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.length).toBeGreaterThan(2000);
  });
});
