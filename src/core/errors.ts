/** The one error type every layer below the front ends throws. Only runTool catches it. */

export const ERROR_CODES = [
  'INVALID_INPUT',
  'NOT_FOUND',
  'CONFLICT',
  'DOCKER_UNAVAILABLE',
  'TIMEOUT',
  'UNSUPPORTED',
  'READ_ONLY',
  'FORBIDDEN',
  'NOT_CONFIRMED',
  'STORE_ERROR',
  'IMAGE_BUILD_FAILED',
  'DAEMON_ERROR',
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface FieldIssue {
  path: string;
  message: string;
}

export class LabError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly issues: FieldIssue[] | undefined;

  constructor(code: ErrorCode, message: string, opts: { hint?: string; cause?: unknown; issues?: FieldIssue[] } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'LabError';
    this.code = code;
    this.hint = opts.hint;
    this.issues = opts.issues;
  }

  /** One line (plus hint) a person can act on; the same text on every front end. */
  toText(): string {
    return this.hint ? `${this.message}\n${this.hint}` : this.message;
  }

  toJSON(): { code: ErrorCode; message: string; hint?: string; issues?: FieldIssue[] } {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint ? { hint: this.hint } : {}),
      ...(this.issues ? { issues: this.issues } : {}),
    };
  }
}

export const notFound = (what: string, name: string, hint?: string): LabError =>
  new LabError('NOT_FOUND', `${what} '${name}' not found`, {
    hint: hint ?? `list them with ${what}_list; only objects created by netstream-lab are visible`,
  });

export const conflict = (message: string, hint?: string): LabError => new LabError('CONFLICT', message, hint ? { hint } : {});

export const invalid = (path: string, message: string, hint?: string): LabError =>
  new LabError('INVALID_INPUT', `${path}: ${message}`, {
    issues: [{ path, message }],
    ...(hint ? { hint } : {}),
  });

/** Turn anything thrown into a LabError, keeping LabErrors as they are. */
export function asLabError(err: unknown): LabError {
  if (err instanceof LabError) return err;
  const engine = err as { statusCode?: unknown; json?: { message?: string } | null; reason?: string };
  if (typeof engine?.statusCode === 'number') {
    // An answer from the Docker engine (dockerode): the engine's own words, with a code to match.
    const why = engine.json?.message ?? engine.reason ?? (err as Error).message;
    const code = engine.statusCode === 404 ? 'NOT_FOUND' : engine.statusCode === 409 ? 'CONFLICT' : 'DAEMON_ERROR';
    return new LabError(code, `the Docker engine refused: ${why}`, {
      cause: err,
      hint: 'something may have changed outside netstream-lab (a container or network removed by hand?); compare with `docker ps -a` and `docker network ls`',
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new LabError('INTERNAL', `internal error: ${message}`, {
    cause: err,
    hint: 'this is a bug in netstream-lab; please report it with the command that caused it',
  });
}
