import { z } from 'zod';
import { NeighborRecord } from '../src/core/store/schema.js';
import { SNAPSHOT_LIMITS, SnapshotId, SnapshotLabel } from '../src/core/topology/snapshot-files.js';
import { TopologyName } from '../src/core/topology/spec.js';
import { defineTool } from './define.js';

/** A neighbor as tools show it: as stored, with whether it has a password instead of the password. */
const NeighborView = NeighborRecord.omit({ password: true }).extend({ has_password: z.boolean() });

const Summary = z.object({
  id: z.string(),
  topology: z.string(),
  label: z.string().optional(),
  created_at: z.string(),
  deployed: z.boolean().describe('the lab was stood up when it was taken'),
  nodes: z.number(),
  daemons: z.number(),
  peers: z.number().describe('BGP neighbors over all its daemons'),
  prefixes: z.number().describe('prefixes advertised over all its daemons'),
  changed_since_standup: z.number().describe('daemons whose peers or prefixes differed from the file (changed live)'),
});

const LiveChange = z.object({
  name: z.string(),
  peers_added: z.array(NeighborView).optional(),
  peers_removed: z.array(z.string()).optional(),
  prefixes_advertised: z.array(z.string()).optional(),
  prefixes_withdrawn: z.array(z.string()).optional(),
});

const NodeChange = z.object({
  name: z.string(),
  container: z.enum(['kept', 'created', 'recreated', 'removed']).describe('kept: the same container; recreated: made again'),
  peers_added: z.array(z.string()).optional(),
  peers_removed: z.array(z.string()).optional(),
  peers_changed: z.array(z.string()).optional().describe('the same address with other settings'),
  prefixes_advertised: z.array(z.string()).optional(),
  prefixes_withdrawn: z.array(z.string()).optional(),
});

const PlanSummary = z.object({ create: z.number(), keep: z.number(), update: z.number(), recreate: z.number(), delete: z.number() });

/** Neighbors as stored (passwords included) become views with has_password. */
const viewNeighbors = <T extends { password?: string | undefined }>(list: T[]) =>
  list.map(({ password, ...n }) => ({ ...n, has_password: password !== undefined }));

export const snapshotTools = [
  defineTool({
    name: 'topology_snapshot',
    title: 'Snapshot a topology',
    description: `Save a topology's file as stored plus each node's live state under an id: every daemon's BGP neighbors (all their settings) and advertised prefixes, including those added or withdrawn since standup (daemon_peer_add, daemon_route_advertise, ...), and each node's own config, files and exec lines. topology_restore brings the lab back to it. At most ${SNAPSHOT_LIMITS.perTopology} are kept per topology (the oldest is dropped). Returns the id and what differed from the file.`,
    toolset: 'topologies',
    effect: 'write',
    idempotent: false,
    http: { method: 'POST', path: '/topologies/{id}/snapshots' },
    input: z.strictObject({ name: TopologyName, label: SnapshotLabel.optional() }),
    output: Summary.extend({
      daemons_changed_since_standup: z
        .array(LiveChange)
        .describe('per daemon, what its peers and prefixes had beyond (or without) what the file gives it'),
      dropped: z.array(z.string()).optional().describe('the oldest snapshots removed to keep the limit'),
      warnings: z.array(z.string()).optional(),
    }),
    handle: async (lab, i) => {
      const r = await lab.snapshots.take(i.name, i.label);
      return {
        ...r,
        daemons_changed_since_standup: r.daemons_changed_since_standup.map(({ peers_added, ...c }) => ({
          ...c,
          ...(peers_added ? { peers_added: viewNeighbors(peers_added) } : {}),
        })),
      };
    },
  }),
  defineTool({
    name: 'topology_snapshot_list',
    title: 'List snapshots',
    description: 'The snapshots of a topology (or of all), newest first: id, label, when, and counts of nodes, peers and prefixes.',
    toolset: 'topologies',
    effect: 'read',
    idempotent: true,
    http: { method: 'GET', path: '/snapshots' },
    input: z.strictObject({ name: TopologyName.optional().describe('one topology; absent: all') }),
    output: z.object({
      snapshots: z.array(Summary),
      unreadable: z.array(z.string()).optional().describe('snapshot files that could not be read (damaged)'),
    }),
    handle: (lab, i) => lab.snapshots.list(i.name),
  }),
  defineTool({
    name: 'topology_restore',
    title: 'Restore a snapshot',
    description:
      "Converge a lab to one of its snapshots, changing only what differs: the snapshot's file becomes the topology's file again; a standup runs if nodes, networks or tunnels differ (nodes whose settings are unchanged keep their containers); then each daemon's peers and prefixes are changed live to the snapshot's (same container, no restart). Returns per node what changed (peers and prefixes added or removed, containers made again) and warnings.",
    toolset: 'topologies',
    effect: 'destructive',
    idempotent: true,
    confirm: (a) =>
      `Restore topology '${a.name}' to snapshot ${a.snapshot}: its file is replaced by the snapshot's, nodes that differ are recreated or removed, and peers and prefixes changed since are undone (those sessions go down or come up).`,
    http: { method: 'POST', path: '/topologies/{id}/restore' },
    input: z.strictObject({ name: TopologyName, snapshot: SnapshotId }),
    output: z.object({
      topology: z.string(),
      snapshot: z.string(),
      file_restored: z.boolean().describe("the topology's file was changed back to the snapshot's"),
      standup: z.object({
        ran: z.boolean(),
        why: z.string(),
        summary: PlanSummary.optional(),
      }),
      nodes: z.array(NodeChange).describe('nodes where something changed'),
      unchanged: z.number().describe('nodes left as they were'),
      warnings: z.array(z.string()).optional(),
      duration_s: z.number(),
    }),
    handle: (lab, i, ctx) => lab.snapshots.restore(i.name, i.snapshot, ctx),
  }),
];
