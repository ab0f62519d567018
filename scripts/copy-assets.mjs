// Copies what tsc does not emit into a build's output folder: the web view's static files
// (src/http/ui: index.html, app.js, app.css), which `nslab serve` reads beside its compiled
// src/http/ui.js. `npm run build`, scripts/bundle.ts and the Dockerfile run it after tsc.
// Usage: node scripts/copy-assets.mjs [OUT_DIR]   (default: dist)
import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const out = resolve(process.argv[2] ?? join(root, 'dist'));
for (const dir of ['src/http/ui']) {
  mkdirSync(join(out, dir), { recursive: true });
  for (const f of readdirSync(join(root, dir))) cpSync(join(root, dir, f), join(out, dir, f));
}
