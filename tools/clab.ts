import { z } from 'zod';
import { EXPORT_FORMATS, IMPORT_FORMATS } from '../src/core/topology/interop.js';
import { TOPOLOGY_LIMITS, TopologyName } from '../src/core/topology/spec.js';
import { defineTool } from './define.js';
import { View } from './topologies.js';

/** What one import may carry: the file and the files it binds, each bounded. */
export const IMPORT_LIMITS = { files: 500, fileBytes: 262_144, pathChars: 255 } as const;

const BoundFiles = z
  .record(z.string().min(1).max(IMPORT_LIMITS.pathChars), z.string().max(IMPORT_LIMITS.fileBytes))
  .refine((r) => Object.keys(r).length <= IMPORT_LIMITS.files, { message: `at most ${IMPORT_LIMITS.files} files` })
  .describe("the files its binds name, by their path relative to the lab's folder as written in the file (e.g. r1/frr.conf) -> text");

export const interopTools = [
  defineTool({
    name: 'topology_import',
    title: 'Import a containerlab lab',
    description:
      "Save a containerlab lab (.clab.yml text plus the files its binds name) as a topology, not stood up: frr and linux nodes running FRR, GoBGP, ExaBGP, BIRD or OpenBGPD keep their own configuration files, other linux nodes become hosts, each link becomes a network, interfaces keep the lab's names (eth1, ...) and exec lines run after start. What cannot be honoured (ports, vendor kinds, management settings, images that are not ours) comes back as warnings; binds outside the lab's folder are refused. Then topology_standup.",
    toolset: 'topologies',
    effect: 'write',
    idempotent: false,
    http: { method: 'POST', path: '/topologies/import' },
    input: z.strictObject({
      format: z.enum(IMPORT_FORMATS).describe('the file format: containerlab'),
      yaml: z.string().min(1).max(TOPOLOGY_LIMITS.yamlBytes).describe('the .clab.yml text'),
      files: BoundFiles.optional(),
      name: TopologyName.optional().describe("the topology's name (default: the lab's name, made to fit)"),
      replace: z.boolean().optional().describe('replace a saved topology of that name'),
    }),
    output: View.extend({ warnings: z.array(z.string()).describe('what could not be mapped, and what was changed (names)') }),
    handle: (lab, i) => lab.interop.import(i),
  }),
  defineTool({
    name: 'topology_export',
    title: 'Export a topology',
    description:
      "Write a topology out as a containerlab file (with the configuration files it binds: each router's configuration as it runs now, peers and prefixes changed live included) or as our own YAML, so that the lab runs under containerlab elsewhere.",
    toolset: 'topologies',
    effect: 'read',
    idempotent: true,
    http: { method: 'GET', path: '/topologies/{id}/export' },
    input: z.strictObject({
      name: TopologyName,
      format: z.enum(EXPORT_FORMATS).optional().describe('containerlab (default) or yaml'),
    }),
    output: z.object({
      name: z.string(),
      format: z.enum(EXPORT_FORMATS),
      text: z.string().describe('the .clab.yml (or topology YAML) text'),
      files: z.record(z.string(), z.string()).describe('path relative to the file -> text, for each file it binds'),
      warnings: z.array(z.string()),
    }),
    handle: (lab, i) => lab.interop.export(i.name, i.format ?? 'containerlab'),
  }),
];
