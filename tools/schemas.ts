import { z } from 'zod';
import { ENGINE_NAME } from '../src/core/engines/parse.js';
import { Ipv4, LIMITS, Name } from '../src/core/fields.js';

export {
  Asn,
  Cidr,
  Ipv4,
  LIMITS,
  Name,
  Password,
  Prefix,
  RouterId,
  SafeText,
  SubnetCidr,
  TunnelName,
  UnicastIpv4,
} from '../src/core/fields.js';

/** Tool-level shapes shared by the tool declarations (field rules live in src/core/fields.ts). */

export const InterfaceInput = z.strictObject({
  network: Name.describe('name of a lab network (network_create)'),
  ip: z
    .union([Ipv4, z.literal('auto')])
    .optional()
    .describe('address on that network; omit or "auto" to allocate the next free one'),
});

export const Interface = z.object({ network: z.string(), ip: z.string() });

export const ContainerState = z
  .enum(['running', 'stopped', 'restarting', 'missing'])
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

/** An engine of NSLAB_ENGINES, where a node or network goes (the first engine when absent). */
export const EngineName = z.string().regex(ENGINE_NAME, 'an engine name from NSLAB_ENGINES');
