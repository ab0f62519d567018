/** Regenerate the files derived from the catalogue: manifest.json, the README tool table, the topology JSON Schema. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { manifestText } from '../src/gen/manifest.js';
import { withToolTable } from '../src/gen/readme.js';
import { slackManifestJson, slackManifestYaml } from '../src/gen/slack-manifest.js';
import { topologySchemaText } from '../src/gen/topology-schema.js';
import { openApiText } from '../src/http/openapi.js';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
writeFileSync('manifest.json', manifestText(pkg.version));
writeFileSync('README.md', withToolTable(readFileSync('README.md', 'utf8')));
mkdirSync('schemas', { recursive: true });
writeFileSync('schemas/topology.schema.json', topologySchemaText());
writeFileSync('schemas/openapi.json', openApiText());
writeFileSync('slack-manifest.json', slackManifestJson());
writeFileSync('slack-manifest.yaml', slackManifestYaml());
process.stdout.write(
  'wrote manifest.json, the README tool table, schemas/topology.schema.json, schemas/openapi.json and slack-manifest.json/.yaml\n',
);
