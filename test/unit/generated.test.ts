import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { manifestText } from '../../src/gen/manifest.js';
import { withToolTable } from '../../src/gen/readme.js';
import { slackManifestJson, slackManifestYaml } from '../../src/gen/slack-manifest.js';
import { topologySchemaText } from '../../src/gen/topology-schema.js';
import { catalogue } from '../../tools/index.js';

const root = join(import.meta.dirname, '..', '..');
const read = (f: string) => readFileSync(join(root, f), 'utf8');
const pkg = JSON.parse(read('package.json')) as { version: string };

describe('files generated from the catalogue', () => {
  it('manifest.json is up to date (run `npm run gen`)', () => {
    expect(read('manifest.json')).toBe(manifestText(pkg.version));
  });

  it("manifest.json lists every tool and the server's entry point with the mcp argument", () => {
    const m = JSON.parse(read('manifest.json'));
    expect(m.manifest_version).toBe('0.3');
    expect(m.tools.map((t: { name: string }) => t.name)).toEqual(catalogue.map((t) => t.name));
    expect(m.server.mcp_config.args).toEqual(['${__dirname}/dist/src/cli/main.js', 'mcp']);
    expect(Object.keys(m.user_config).sort()).toEqual(['confirm_destructive', 'data_dir', 'docker_host', 'read_only']);
  });

  it('README tool table is up to date (run `npm run gen`)', () => {
    const readme = read('README.md');
    expect(readme).toBe(withToolTable(readme));
    for (const t of catalogue) expect(readme).toContain(`| \`${t.name}\` |`);
  });

  it('schemas/topology.schema.json is up to date (run `npm run gen`) and accepts the examples', async () => {
    expect(read('schemas/topology.schema.json')).toBe(topologySchemaText());
    const schema = JSON.parse(read('schemas/topology.schema.json')) as { required: string[]; properties: Record<string, unknown> };
    expect(schema.required).toEqual(['name', 'networks', 'nodes']);
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['networks', 'nodes', 'bgp', 'tunnels']));
    const ajv = new Ajv2020({ strict: false });
    const check = ajv.compile(schema);
    for (const f of readdirSync(join(root, 'examples')).filter((n) => n.endsWith('.yaml'))) {
      expect(check(parseYaml(read(join('examples', f)))), `${f}: ${JSON.stringify(check.errors)}`).toBe(true);
    }
    expect(check({ name: 'x', networks: {}, nodes: { r1: { kind: 'bird', asn: 'x', interfaces: { a: 'auto' } } } })).toBe(false);
  });

  it('slack-manifest.json and .yaml are up to date (run `npm run gen`): /lab, interactivity, Socket Mode, the scopes used', () => {
    expect(read('slack-manifest.json')).toBe(slackManifestJson());
    expect(read('slack-manifest.yaml')).toBe(slackManifestYaml());
    const m = JSON.parse(read('slack-manifest.json'));
    expect(m.features.slash_commands.map((c: { command: string }) => c.command)).toEqual(['/lab']);
    expect(m.settings).toMatchObject({ interactivity: { is_enabled: true }, socket_mode_enabled: true });
    expect(m.oauth_config.scopes.bot).toEqual(expect.arrayContaining(['commands', 'chat:write', 'files:write']));
    for (const t of catalogue) expect(m.features.slash_commands[0].usage_hint).toContain(t.name.split('_')[0]);
    expect(parseYaml(read('slack-manifest.yaml'))).toEqual(m);
  });

  it('mcpb validate accepts manifest.json', async () => {
    const { stdout } = await promisify(execFile)(join(root, 'node_modules', '.bin', 'mcpb'), ['validate', join(root, 'manifest.json')]);
    expect(stdout).toContain('validation passes');
  });
});
