import { z } from 'zod';
import { defineTool } from './define.js';
import { EngineName, Ipv4 } from './schemas.js';

const EngineView = z.object({
  name: z.string(),
  host: z.string().describe('its DOCKER_HOST'),
  reachable: z.boolean(),
  error: z.string().optional().describe('why it did not answer'),
  docker_version: z.string().optional(),
  swarm: z
    .object({
      state: z.string().describe('inactive, pending, active, error or locked'),
      role: z.enum(['manager', 'worker', 'none']),
      node_id: z.string().optional(),
      cluster_id: z.string().optional().describe('known on managers'),
      joined_by_lab: z.boolean().describe('engine_join made this membership (engine_leave undoes it)'),
    })
    .optional(),
  lab_containers: z.number().int().optional().describe("this store's containers on the engine"),
  images: z.array(z.string()).optional().describe('lab images present'),
  cpus: z.number().optional(),
  memory_mb: z.number().optional(),
  free_memory_mb: z.number().optional().describe('memory minus the limits of running containers'),
});

/** An address other engines reach: link-local is fine (two engines on one machine), loopback is not. */
const SwarmAddress = Ipv4.refine((s) => !/^(0\.|127\.|22[4-9]\.|2[3-5]\d\.)/.test(s), {
  message: 'must be an address the other engines reach (not 0.0.0.0/8, loopback, multicast or broadcast)',
});

export const engineTools = [
  defineTool({
    name: 'engine_list',
    title: 'List Docker engines',
    description:
      'The Docker engines of this lab (NSLAB_ENGINES; one engine when unset): whether each answers, its Docker version, its Docker Swarm role, how many lab containers it runs, which lab images it has, CPUs and memory left for new nodes. An engine that does not answer is listed with the reason.',
    toolset: 'engines',
    effect: 'read',
    idempotent: true,
    http: { method: 'GET', path: '/engines' },
    input: z.strictObject({}),
    output: z.object({ engines: z.array(EngineView) }),
    handle: (lab) => lab.engines.list(),
  }),
  defineTool({
    name: 'engine_join',
    title: 'Join the engines in a swarm',
    description:
      "Join the engines of NSLAB_ENGINES into one Docker Swarm, so that one lab can span them: initialises a swarm on the first engine if it is in none, and joins the others as workers. An engine in another swarm is refused by name, and nothing is changed. Nothing else of an engine's swarm is touched; engine_leave undoes exactly what this did. advertise names the address each engine is reached at, when an engine has several.",
    toolset: 'engines',
    effect: 'write',
    idempotent: true,
    http: { method: 'POST', path: '/engines/join' },
    input: z.strictObject({
      advertise: z
        .record(EngineName, SwarmAddress)
        .refine((r) => Object.keys(r).length <= 16, 'at most 16 engines')
        .optional()
        .describe('address per engine that the other engines reach it at, e.g. {"a": "192.0.2.10", "b": "192.0.2.11"}'),
    }),
    output: z.object({
      manager: z.string(),
      initialized: z.boolean().describe('a swarm was created on the manager by this call'),
      joined: z.array(z.string()),
      already: z.array(z.string()).describe('engines that were members already (left as they are)'),
    }),
    handle: (lab, i) => lab.engines.join(i.advertise),
  }),
  defineTool({
    name: 'engine_leave',
    title: 'Undo engine_join',
    description:
      'Undo what engine_join did, and only that: the engines it joined leave the swarm, and the swarm is removed if engine_join created it. Engines that were in the swarm before stay.',
    toolset: 'engines',
    effect: 'destructive',
    idempotent: true,
    http: { method: 'POST', path: '/engines/leave' },
    input: z.strictObject({}),
    output: z.object({ left: z.array(z.string()), removed_swarm: z.boolean() }),
    handle: (lab) => lab.engines.leave(),
  }),
];
