/**
 * `npm run bundle [-- --out DIR]`: the MCP Bundle (.mcpb) with production dependencies only.
 * Stages a fresh folder (compiled dist without source maps, manifest, package.json, images, docs),
 * installs the locked production dependencies into it, drops what never runs (typings, docs of
 * dependencies, unused fonts), validates the manifest and packs it with the mcpb CLI. Prints the
 * path of the .mcpb on stdout; everything else goes to stderr.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string };
const outArg = process.argv.indexOf('--out');
const outDir = resolve(outArg > 0 ? (process.argv[outArg + 1] ?? '.') : root);
const out = join(outDir, `${pkg.name}-${pkg.version}.mcpb`);
const bin = (name: string) => join(root, 'node_modules', '.bin', name);
const run = (cmd: string, args: string[], cwd = root) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 2, 2] });

const stage = mkdtempSync(join(tmpdir(), 'nslab-bundle-'));
try {
  const t0 = Date.now();
  // A fresh compile into the stage: never a dist/ that another build is rewriting, and no maps.
  run(bin('tsc'), ['-p', 'tsconfig.json', '--outDir', join(stage, 'dist'), '--sourceMap', 'false']);
  run('node', [join(root, 'scripts', 'copy-assets.mjs'), join(stage, 'dist')]);
  for (const f of ['manifest.json', 'package.json', 'package-lock.json', 'README.md', 'LICENSE']) {
    if (existsSync(join(root, f))) cpSync(join(root, f), join(stage, f));
  }
  // images/ is read at run time (lab Dockerfiles); schemas, examples and docs are for the user.
  for (const d of ['images', 'schemas', 'examples', 'docs']) cpSync(join(root, d), join(stage, d), { recursive: true });
  // Exactly the locked production tree. No install scripts: nothing in it needs one (resvg ships
  // prebuilt binaries as optional packages; ssh2's native speed-ups are optional).
  run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], stage);
  rmSync(join(stage, 'package-lock.json'));
  // The PNG renderer (@resvg/resvg-js) is a native addon: npm fetched only this machine's build
  // (2 MB packed each; all of them would break the 10 MB goal), so the bundle says which platform
  // it serves rather than claim every platform of the checkout's manifest.
  const manifest = JSON.parse(readFileSync(join(stage, 'manifest.json'), 'utf8'));
  manifest.compatibility = { ...manifest.compatibility, platforms: [process.platform] };
  writeFileSync(join(stage, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  run('node', [join(root, 'scripts', 'prune-modules.mjs'), join(stage, 'node_modules')]);
  run(bin('mcpb'), ['validate', join(stage, 'manifest.json')]);
  mkdirSync(outDir, { recursive: true });
  rmSync(out, { force: true });
  run(bin('mcpb'), ['pack', stage, out]);
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  process.stderr.write(`bundle: ${mb(statSync(out).size)} packed, ${mb(du(stage))} unpacked, ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  process.stdout.write(`${out}\n`);
} finally {
  rmSync(stage, { recursive: true, force: true });
}

function du(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) n += statSync(join(e.parentPath, e.name)).size;
  }
  return n;
}
