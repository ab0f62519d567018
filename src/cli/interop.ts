/**
 * `nslab topology import <file.clab.yml>` and `nslab topology export <name>`: containerlab files
 * from and to disk. Import reads the files the lab binds from its folder, never outside it (a
 * source that leaves the folder, also through a symbolic link, is not read: the import refuses
 * it by name); export writes the .clab.yml and its files into one folder, never outside it.
 */
import { lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Command } from 'commander';
import { bindSources } from '../core/clab/index.js';
import type { Lab } from '../core/lab.js';
import { wantsJson } from './render.js';

type Fail = (message: string) => never;
type Run = (lab: Lab, fail: Fail, tool: string, args: Record<string, unknown>, json: boolean) => Promise<Record<string, unknown>>;

/** The same bounds the tool sets (tools/clab.ts): more is refused there, so it is not read here. */
const READ = { files: 500, bytes: 262_144 };

const inside = (root: string, p: string) => p === root || p.startsWith(root + sep);

/** The bound files, lab-folder-relative path -> text, read only from inside `folder`. */
export function readBound(folder: string, sources: string[], note: (m: string) => void): Record<string, string> {
  const root = realpathSync(folder);
  const files: Record<string, string> = Object.create(null);
  let count = 0;
  const add = (rel: string, abs: string) => {
    if (count >= READ.files) return note(`more than ${READ.files} files: ${rel} not read`);
    const st = statSync(abs);
    if (st.size > READ.bytes) return note(`${rel} is larger than ${READ.bytes} bytes: not read`);
    files[rel] = readFileSync(abs, 'utf8');
    count++;
  };
  const walk = (rel: string, abs: string, depth: number) => {
    let real: string;
    try {
      real = realpathSync(abs);
    } catch {
      return note(`${rel} does not exist next to the lab file`);
    }
    if (!inside(root, real)) return note(`${rel} leads outside the lab's folder: not read`);
    const st = lstatSync(real);
    if (st.isDirectory()) {
      if (depth > 8) return note(`${rel}: folders nested too deep`);
      for (const e of readdirSync(real)) walk(rel === '.' ? e : `${rel}/${e}`, join(real, e), depth + 1);
    } else if (st.isFile()) add(rel, real);
  };
  for (const s of sources) walk(s, resolve(root, s), 0);
  return files;
}

export function interopCommands(topo: Command, lab: () => Lab, fail: Fail, run: Run): void {
  topo
    .command('import')
    .description('save a containerlab lab (.clab.yml) as a topology, with the files it binds from its folder')
    .argument('<file>', 'the .clab.yml file')
    .option('--name <name>', "the topology's name (default: the lab's name)")
    .option('--replace', 'replace a saved topology of that name')
    .option('--json', 'print the JSON result')
    .action(async (file: string, o: { name?: string; replace?: boolean; json?: boolean }) => {
      let yaml: string;
      try {
        yaml = readFileSync(file, 'utf8');
      } catch (err) {
        fail(`cannot read ${file}: ${(err as Error).message}`);
      }
      const notes: string[] = [];
      let sources: string[] = [];
      try {
        sources = bindSources(yaml);
      } catch {
        // not a containerlab file the import can read: the tool says why, naming the field
      }
      const files = readBound(dirname(resolve(file)), sources, (m) => notes.push(m));
      const json = wantsJson(o.json);
      const args = { format: 'containerlab', yaml, files, ...(o.name ? { name: o.name } : {}), ...(o.replace ? { replace: true } : {}) };
      const r = (await run(lab(), fail, 'topology_import', args, json)) as {
        name: string;
        nodes: number;
        networks: number;
        warnings: string[];
      };
      const warnings = [...notes, ...r.warnings];
      if (json || !process.stdout.isTTY) process.stdout.write(`${JSON.stringify({ ...r, warnings }, null, 2)}\n`);
      else {
        process.stdout.write(
          `${r.name}: ${r.nodes} nodes, ${r.networks} networks saved; stand it up with: nslab call topology_standup name=${r.name}\n`,
        );
        for (const w of warnings) process.stdout.write(`warning: ${w}\n`);
      }
    });

  topo
    .command('export')
    .description('write a topology out as a containerlab lab (or our YAML), with the configuration files it binds')
    .argument('<name>', 'topology name')
    .option('--format <format>', 'containerlab or yaml', 'containerlab')
    .option('--out <folder>', 'write <name>.clab.yml and its files into this folder (default: the text on stdout)')
    .option('--json', 'print the JSON result')
    .action(async (name: string, o: { format: string; out?: string; json?: boolean }) => {
      const json = wantsJson(o.json);
      const r = (await run(lab(), fail, 'topology_export', { name, format: o.format }, json)) as {
        text: string;
        files: Record<string, string>;
        warnings: string[];
      };
      if (!o.out) {
        if (json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        else process.stdout.write(r.text);
        for (const w of json ? [] : r.warnings) process.stderr.write(`warning: ${w}\n`);
        return;
      }
      const root = resolve(o.out);
      const written: string[] = [];
      const put = (rel: string, text: string) => {
        const abs = resolve(root, rel);
        if (!inside(root, abs) || relative(root, abs).startsWith('..')) fail(`refusing to write ${rel}: outside ${root}`);
        mkdirSync(dirname(abs), { recursive: true });
        writeFileSync(abs, text);
        written.push(abs);
      };
      put(`${name}${o.format === 'yaml' ? '.yaml' : '.clab.yml'}`, r.text);
      for (const [rel, text] of Object.entries(r.files)) put(rel, text);
      if (json) process.stdout.write(`${JSON.stringify({ written, warnings: r.warnings }, null, 2)}\n`);
      else {
        for (const w of written) process.stdout.write(`${w}\n`);
        for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
      }
    });
}
