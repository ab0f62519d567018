import { z } from 'zod';
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject, type ZodOpenApiResponseObject } from 'zod-openapi';
import { ERROR_CODES } from '../core/errors.js';
import { VERSION } from '../version.js';
import { isCreate, type Route, routes } from './routes.js';
import { HTTP_STATUS, STATUS_TEXT, TRANSPORT_ERRORS } from './status.js';

/** The one error body of every HTTP answer that is not a success. */
const ErrorBody = z
  .object({
    error: z.object({
      code: z
        .enum([...new Set<string>([...ERROR_CODES, ...Object.keys(TRANSPORT_ERRORS)])] as [string, ...string[]])
        .describe('a lab error code (the same as over MCP and the CLI) or one of the HTTP layer'),
      message: z.string().describe('what failed and why, in words a person can act on'),
      hint: z.string().optional().describe('what to do about it'),
      issues: z
        .array(z.object({ path: z.string().describe('the field, e.g. subnet or interfaces.0.network'), message: z.string() }))
        .optional()
        .describe('with INVALID_INPUT: one entry per wrong field'),
    }),
  })
  .meta({ id: 'Error' });

const ERROR_IDS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Unsupported',
  500: 'InternalError',
  502: 'UpstreamFailed',
  503: 'Unavailable',
  504: 'Timeout',
};

// One object per status: zod-openapi registers it once (by id) and references it everywhere.
const errorResponses = new Map<number, ZodOpenApiResponseObject>();
function errorResponse(status: number): ZodOpenApiResponseObject {
  let response = errorResponses.get(status);
  if (!response) {
    response = {
      id: ERROR_IDS[status],
      description: STATUS_TEXT[status] ?? `HTTP ${status}`,
      content: { 'application/json': { schema: ErrorBody } },
    };
    errorResponses.set(status, response);
  }
  return response;
}

/** Which error statuses an operation can answer: every one the mapping has, plus the HTTP layer's. */
function errorStatuses(route: Route): number[] {
  const statuses = new Set<number>([...Object.values(HTTP_STATUS), 401, 403]);
  if (route.method !== 'GET') for (const s of [413, 415]) statuses.add(s);
  return [...statuses].sort((a, b) => a - b);
}

function shapeOf(route: Route): Record<string, z.ZodType> {
  const input = route.tool.input as unknown as { shape?: Record<string, z.ZodType> };
  return input.shape ?? {};
}

function operation(route: Route): ZodOpenApiOperationObject {
  const shape = shapeOf(route);
  const pathFields = new Set(route.params.map((p) => p.field));
  const path = route.params.length
    ? z.object(Object.fromEntries(route.params.map((p) => [p.param, shape[p.field] ?? z.string()])))
    : undefined;
  const rest = Object.fromEntries(Object.entries(shape).filter(([k]) => !pathFields.has(k)));
  // The rest of the input: a query string for GET and DELETE, a JSON body for POST (the whole
  // input schema when there is no path parameter, so its refinements are documented too).
  const remaining = pathFields.size === 0 ? route.tool.input : z.strictObject(rest);
  const hasRest = Object.keys(rest).length > 0;
  const inQuery = route.method !== 'POST';
  const success = isCreate(route) ? '201' : '200';
  return {
    operationId: route.tool.name,
    summary: route.tool.title,
    description: route.tool.description,
    tags: [route.tool.toolset],
    ...(path || (hasRest && inQuery)
      ? { requestParams: { ...(path ? { path } : {}), ...(hasRest && inQuery ? { query: z.strictObject(rest) } : {}) } }
      : {}),
    ...(hasRest && !inQuery
      ? {
          requestBody: {
            required: !remaining.safeParse({}).success,
            content: { 'application/json': { schema: remaining } },
          },
        }
      : {}),
    responses: {
      [success]: {
        description: success === '201' ? 'Created: the new object, as the tool returns it' : 'The tool result',
        content: { 'application/json': { schema: route.tool.output } },
      },
      ...Object.fromEntries(errorStatuses(route).map((s) => [String(s), errorResponse(s)])),
    },
  };
}

function paths(): ZodOpenApiPathsObject {
  const out: ZodOpenApiPathsObject = {
    '/openapi.json': {
      get: {
        operationId: 'openapi',
        summary: 'This document',
        description: 'The REST API as OpenAPI 3.1, generated from the same tool declarations as the API itself.',
        responses: {
          '200': { description: 'OpenAPI 3.1 document', content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } } },
          '401': errorResponse(401),
        },
      },
    },
  };
  for (const route of routes) {
    out[route.path] ??= {};
    const item = out[route.path]!;
    item[route.method.toLowerCase() as 'get' | 'post' | 'delete'] = operation(route);
  }
  return out;
}

/**
 * The objects the API hands out, named after what they are (components/schemas/Daemon, ...): each
 * is the output schema of the tool that shows one, and list results reference the same schema.
 */
function namedSchemas(): Record<string, z.ZodType> {
  const names: Record<string, string> = {
    Daemon: 'daemon_get',
    DaemonStatus: 'daemon_status',
    Host: 'host_get',
    Network: 'network_get',
    Tunnel: 'tunnel_create',
    Topology: 'topology_create',
    ExecResult: 'host_exec',
    Deleted: 'host_delete',
  };
  return Object.fromEntries(
    Object.entries(names).flatMap(([name, tool]) => {
      const output = routes.find((r) => r.tool.name === tool)?.tool.output;
      return output ? [[name, output]] : [];
    }),
  );
}

let cached: ReturnType<typeof createDocument> | undefined;

/** The REST API as OpenAPI 3.1, generated from the tool catalogue's zod schemas (once per process). */
export function openApiDocument(): ReturnType<typeof createDocument> {
  cached ??= createDocument({
    openapi: '3.1.0',
    info: {
      title: 'netstream-lab REST API',
      version: VERSION,
      description:
        'Docker-based BGP labs. Each operation is one netstream-lab tool (operationId = tool name), the same as over MCP, the CLI and Slack. ' +
        'Arguments: path parameters, then query parameters (GET, DELETE) or a JSON body (POST). Success is 200 with the tool result (201 for creates). ' +
        'Errors are {error: {code, message, hint?, issues?}} with the status of their code: ' +
        Object.entries(HTTP_STATUS)
          .map(([code, status]) => `${code} ${status}`)
          .join(', ') +
        '.',
    },
    servers: [{ url: 'http://127.0.0.1:5010', description: 'nslab serve (default address)' }],
    security: [{ bearer: [] }],
    components: {
      schemas: namedSchemas(),
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'NSLAB_HTTP_TOKEN; required when the server was started with one (always when it listens beyond loopback)',
        },
      },
    },
    paths: paths(),
  });
  return cached;
}

/** The document as the file `npm run gen` writes (schemas/openapi.json), for readers without a server. */
export const openApiText = (): string => `${JSON.stringify(openApiDocument(), null, 2)}\n`;
