/** Regenerate the files derived from the tool catalogue: manifest.json and the README tool table. */
import { readFileSync, writeFileSync } from 'node:fs';
import { manifestText } from '../src/gen/manifest.js';
import { withToolTable } from '../src/gen/readme.js';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
writeFileSync('manifest.json', manifestText(pkg.version));
writeFileSync('README.md', withToolTable(readFileSync('README.md', 'utf8')));
process.stdout.write('wrote manifest.json and the README tool table\n');
