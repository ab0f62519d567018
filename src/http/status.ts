import type { ErrorCode } from '../core/errors.js';

/**
 * The one mapping from the lab's transport-neutral error codes to HTTP statuses, used by the REST
 * handler and documented in /openapi.json. 500 means a bug and nothing else: failures of what the
 * lab drives (the Docker engine, a BGP daemon, an image build) are 502, an unusable store or engine 503.
 */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  INVALID_INPUT: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  // The server runs read-only (NSLAB_READ_ONLY) or the tool's toolset is off: forbidden here,
  // whoever asks, so 403 and not 401.
  READ_ONLY: 403,
  // This caller may not make this call (a Slack member's role); REST has no roles, but the code maps.
  FORBIDDEN: 403,
  // A person asked to confirm a destructive call said no (MCP elicitation); REST does not ask.
  NOT_CONFIRMED: 412,
  // Well-formed and valid, but this lab cannot do it (GRE on a kernel without ip_gre, a field a
  // daemon kind does not support): 422 Unprocessable Content, so that 400 always means "fix the input".
  UNSUPPORTED: 422,
  DAEMON_ERROR: 502,
  IMAGE_BUILD_FAILED: 502,
  DOCKER_UNAVAILABLE: 503,
  STORE_ERROR: 503,
  // Timed out or cancelled (a client that went away, a server shutting down).
  TIMEOUT: 504,
  INTERNAL: 500,
};

export const statusOf = (code: ErrorCode): number => HTTP_STATUS[code];

/** Refusals of the HTTP layer itself, before a tool runs; their codes are not LabError codes. */
export const TRANSPORT_ERRORS = {
  INVALID_JSON: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  SHUTTING_DOWN: 503,
} as const;

/** What each status means to a REST client, for the OpenAPI document. */
export const STATUS_TEXT: Record<number, string> = {
  400: 'Bad input: the body is not JSON, or a field is wrong (error.issues names each field: {path, message})',
  401: 'No or wrong bearer token (NSLAB_HTTP_TOKEN)',
  403: 'Refused: the server runs read-only or the toolset is disabled, or the request came from a foreign Host/Origin',
  404: 'No such daemon, host, network, tunnel or topology (or one netstream-lab did not create)',
  405: 'Method not allowed on this path (the Allow header lists the allowed ones)',
  409: 'Conflict: the name, subnet or address is taken, or the object is in use',
  412: 'A destructive call was not confirmed by the person asked (front ends that ask; REST does not)',
  413: 'The request body is larger than 2 MiB',
  415: 'The request body is not JSON (send Content-Type: application/json)',
  422: 'Valid input this lab cannot carry out (e.g. GRE on a kernel without ip_gre, a field the daemon kind does not support)',
  500: 'A bug in netstream-lab (the server log has the details)',
  502: 'The Docker engine, a BGP daemon or an image build refused or failed',
  503: 'The Docker engine or the store is unavailable, or the server is shutting down',
  504: 'The operation timed out or was cancelled',
};
