import { z } from 'zod';
import { AddressOrAuto, LIMITS, Name } from '../src/core/fields.js';

export {
  AddressOrAuto,
  Asn,
  Cidr,
  EngineName,
  HostGateway,
  Ipv4,
  LIMITS,
  Name,
  NeighborFields,
  Password,
  Prefix,
  RouterId,
  SafeText,
  SubnetCidr,
  TunnelKey,
  TunnelMtu,
  TunnelName,
  TunnelTtl,
  UnicastIpv4,
  VXLAN_VNI_MAX,
} from '../src/core/fields.js';

/** Tool-level shapes shared by the tool declarations (field rules live in src/core/fields.ts). */

export const InterfaceInput = z.strictObject({
  network: Name.describe('name of a lab network (network_create)'),
  ip: AddressOrAuto.optional().describe('address on that network; omit or "auto" to allocate the next free one'),
});

/**
 * Fields of a daemon or host record that no tool shows: Docker's id (replies name containers), the
 * state the user asked for (views show the state Docker reports), when it was made, and a create
 * or delete under way (sync_run's business). Every other record field is part of the view.
 */
export const NODE_INTERNALS = { container_id: true, desired: true, created_at: true, pending: true } as const;

export const ContainerState = z
  .enum(['running', 'paused', 'stopped', 'restarting', 'missing'])
  .describe('missing: the store knows it but Docker has no container');

export const Deleted = z.object({ deleted: z.string(), warnings: z.array(z.string()).optional() });

export const ExecInput = z.strictObject({
  name: Name,
  command: z
    .array(z.string().max(LIMITS.argBytes, `each argument at most ${LIMITS.argBytes} characters`))
    .min(1, 'give the program and its arguments, e.g. ["ping", "-c", "1", "10.0.0.1"]')
    .max(LIMITS.argv, `at most ${LIMITS.argv} arguments`)
    .refine((a) => a.reduce((n, x) => n + Buffer.byteLength(x), 0) <= LIMITS.execBytes, {
      message: `the arguments together must be at most ${LIMITS.execBytes} bytes`,
    })
    .describe('argv (no shell): ["ip", "route"]'),
  timeout_s: z.number().int().min(1).max(600).optional().describe('kill the command after this many seconds (default 30)'),
  max_output_bytes: z
    .number()
    .int()
    .min(1)
    .max(16 * 1024 * 1024)
    .optional()
    .describe('cap on each of stdout and stderr (default 1 MiB)'),
});

export const ExecOutput = z.object({
  exit_code: z.number().int(),
  stdout: z.string(),
  stderr: z.string(),
  timed_out: z.boolean(),
  truncated: z.boolean(),
});

export const NameInput = z.strictObject({ name: Name });
