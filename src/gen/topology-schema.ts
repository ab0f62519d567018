import { topologyJsonSchema } from '../core/topology/spec.js';

/** schemas/topology.schema.json: the topology file's JSON Schema, generated from its zod schema. */
export function topologySchemaText(): string {
  return `${JSON.stringify(topologyJsonSchema(), null, 2)}\n`;
}
