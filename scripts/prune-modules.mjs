#!/usr/bin/env node
/**
 * node scripts/prune-modules.mjs <node_modules>: drop files of production dependencies that no run
 * reads. Shared by `npm run bundle` and the server image (plain JavaScript so that any Node runs it
 * without a TypeScript loader). Prints the bytes removed on stderr.
 */
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

const modules = process.argv[2];
if (!modules) {
  process.stderr.write('usage: prune-modules.mjs <node_modules folder>\n');
  process.exit(2);
}
let removed = 0;
const drop = (p) => {
  removed += size(p);
  rmSync(p, { recursive: true, force: true });
};

drop(join(modules, '@types'));
// The graph renderer loads only these two faces (src/core/topology/graph.ts); keep the licence.
const fonts = join(modules, 'dejavu-fonts-ttf', 'ttf');
for (const f of readdirSync(fonts)) if (!['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'].includes(f)) drop(join(fonts, f));
// Graphviz as WebAssembly (1.2 MB): our graph code, its only user, imports it as ESM, which resolves
// to dist/viz.js; dist/viz.cjs (require), lib/ and the browser build are copies of the same code.
for (const f of ['lib', 'src', 'dist/viz-global.js', 'dist/viz.cjs']) drop(join(modules, '@viz-js', 'viz', f));
// Node never runs TypeScript from node_modules; *.bare are addons for the Bare runtime (bare-fs and
// friends are tar-stream's `fs` there only); tests, docs and changelogs are for authors.
const junk =
  /(\.[cm]?ts|\.map|\.md|\.markdown|\.tsbuildinfo|\.bare)$|^(test|tests|__tests__|benchmarks?|docs|CHANGELOG.*|HISTORY.*|AUTHORS|\.github|\.travis\.yml)$/i;
const walk = (dir) => {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    // Licences travel with the code.
    if (/^licen[cs]e/i.test(e.name)) continue;
    if (junk.test(e.name)) drop(p);
    else if (e.isDirectory()) walk(p);
  }
};
walk(modules);
process.stderr.write(`pruned ${(removed / 1e6).toFixed(1)} MB from ${modules}\n`);

function size(p) {
  let st;
  try {
    st = statSync(p);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.size;
  return readdirSync(p).reduce((n, e) => n + size(join(p, e)), 0);
}
