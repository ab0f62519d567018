import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogue } from '../../tools/index.js';
import { root } from '../helpers/docker.js';
import { ltsNode } from '../helpers/node.js';

/**
 * `npm pack`, then `npm install -g` of the tarball into an empty prefix (dependencies from the
 * registry, as a user gets them), and the installed `nslab` run from an unrelated folder on Node 22.
 * The lab it touches is a temporary store; it creates no Docker object.
 */
const tmp = mkdtempSync(join(tmpdir(), 'pkg-pack-'));
const prefix = join(tmp, 'global');
const work = join(tmp, 'work');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
const env = {
  ...process.env,
  PATH: `${dirname(ltsNode())}:${process.env.PATH}`,
  NSLAB_DATA_DIR: join(tmp, 'data'),
};
let files: string[];
const nslab = (...args: string[]) => execFileSync(join(prefix, 'bin', 'nslab'), args, { cwd: work, env, encoding: 'utf8' });

describe('npm pack, installed globally', () => {
  beforeAll(() => {
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', tmp], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    // prepack's build may print before the JSON report.
    const report = JSON.parse(out.slice(out.indexOf('[')))[0] as { filename: string; files: Array<{ path: string }> };
    files = report.files.map((f) => f.path);
    execFileSync('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--loglevel=error', join(tmp, report.filename)], {
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    mkdirSync(work);
  }, 300_000);

  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('ships the runtime, images, manifest, schemas, examples, README and the docs it links to, and no tests, sources or maps', () => {
    for (const f of [
      'dist/src/cli/main.js',
      'images/frr/Dockerfile',
      'manifest.json',
      'schemas/topology.schema.json',
      'examples/triangle.yaml',
      'README.md',
      'docs/architecture.md',
      'docs/interfaces.md',
    ]) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => /^(src|tools|test|scripts|bench)\/|\.map$|\.ts$/.test(f))).toEqual([]);
  });

  it('the nslab bin answers --version with the package version', () => {
    expect(readdirSync(join(prefix, 'bin'))).toEqual(['nslab']);
    expect(nslab('--version').trim()).toBe(pkg.version);
  });

  it('lists the tools and runs one against the engine', () => {
    const tools = (JSON.parse(nslab('tools')) as { tools: Array<{ name: string }> }).tools.map((t) => t.name);
    expect(tools).toEqual(catalogue.map((t) => t.name));
    expect(JSON.parse(nslab('call', 'network_list'))).toEqual({ networks: [] });
  });

  it("finds the lab images' Dockerfiles in the installed package (same content tags as the checkout's)", () => {
    const checkout = execFileSync('node', [join(root, 'dist', 'src', 'cli', 'main.js'), 'images', 'build', '--json'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(JSON.parse(nslab('images', 'build', '--json'))).toEqual(JSON.parse(checkout));
  });
});
