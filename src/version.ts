import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultRoot } from './config.js';

/** The one version number, read from package.json (in a checkout, a bundle or the server image). */
export const VERSION: string = (JSON.parse(readFileSync(join(defaultRoot(), 'package.json'), 'utf8')) as { version: string }).version;
