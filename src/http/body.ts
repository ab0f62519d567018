import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** Request bodies are tool arguments: a topology file is the largest, far below this. */
export const MAX_BODY_BYTES = 2 * 1024 * 1024;

/** A refusal of the HTTP layer, before any tool runs. */
export class HttpRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

const tooLarge = (limit = MAX_BODY_BYTES) =>
  new HttpRefusal(413, 'PAYLOAD_TOO_LARGE', `the request body is larger than ${limit} bytes`, 'send a smaller JSON object');

/** The Content-Length a request declares, undefined when it declares none (chunked, or no body). */
export function declaredLength(req: IncomingMessage): number | undefined {
  const raw = req.headers['content-length'];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** Whether the request has a body the server has not read all of: an answer must then close the connection. */
export function bodyUnread(req: IncomingMessage): boolean {
  if (req.complete) return false;
  return (declaredLength(req) ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
}

/**
 * After an answer with `Connection: close` to a request whose body is still arriving, close
 * gently. Node destroys the socket as soon as the answer is written; a socket closed with unread
 * bytes sends a reset, and a client still writing its body may see EPIPE or a reset before it has
 * read the answer. Lingering a moment (the answer sent, the write side ended, what still comes
 * dropped by Node's parser), as nginx and Apache do, lets it read the 413 or 401 first.
 */
export function lingerBeforeClose(res: ServerResponse, ms = LINGER_MS): void {
  const socket = res.socket;
  if (!socket) return;
  socket.destroySoon = function lingering(this: Socket): void {
    this.end();
    const timer = setTimeout(() => this.destroy(), ms).unref();
    this.once('close', () => clearTimeout(timer));
  };
}
const LINGER_MS = 300;

/** Media types whose bodies are read as JSON. curl -d sends form-urlencoded unless told otherwise: be kind and try. */
function readable(contentType: string): boolean {
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return (
    type === '' ||
    type === 'application/json' ||
    type.endsWith('+json') ||
    type === 'text/plain' ||
    type === 'application/x-www-form-urlencoded'
  );
}

/**
 * The body's bytes, refusing (HttpRefusal) more than maxBytes with 413 and, with timeoutMs, a body
 * still arriving after that long with 408. A declared length over the limit is refused before a
 * byte is kept. Past a refusal nothing more is kept: the caller answers with Connection: close.
 * Without timeoutMs the server's requestTimeout is the bound (it answers 408 itself).
 */
export function readBody(req: IncomingMessage, limits: { maxBytes: number; timeoutMs?: number }): Promise<Buffer> {
  const { maxBytes, timeoutMs } = limits;
  if ((declaredLength(req) ?? 0) > maxBytes) {
    // What does arrive is read into nothing (not left in the kernel's buffer), so that closing
    // the connection after the answer does not reset it before the client has read the answer.
    req.resume();
    return Promise.reject(tooLarge(maxBytes));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err?: Error) => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      if (err) {
        req.resume(); // into nothing, as above
        reject(err);
      } else resolve(Buffer.concat(chunks));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
      else done(tooLarge(maxBytes));
    };
    const onEnd = () => done();
    const onError = (err: Error) => done(err);
    // A client that hangs up mid-body: no 'end' comes, and maybe no 'error' either.
    const onClose = () => done(new HttpRefusal(400, 'REQUEST_ABORTED', 'the client closed the connection before sending the whole body'));
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(
            () =>
              done(new HttpRefusal(408, 'REQUEST_TIMEOUT', `the request body did not arrive within ${timeoutMs} ms`, 'send it at once')),
            timeoutMs,
          );
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
    req.once('close', onClose);
  });
}

/**
 * The body as a JSON object, {} when there is none. Refuses (HttpRefusal) a body over the limit,
 * one that is not JSON, or JSON that is not an object, saying what to send instead.
 */
export async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  // The server's requestTimeout bounds the time the body may take.
  const text = (await readBody(req, { maxBytes: MAX_BODY_BYTES })).toString('utf8');
  if (text.trim() === '') return {};
  const contentType = req.headers['content-type'] ?? '';
  if (!readable(contentType)) {
    throw new HttpRefusal(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      `the body is ${contentType}; this API reads JSON only`,
      'send Content-Type: application/json with a JSON object',
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new HttpRefusal(
      400,
      'INVALID_JSON',
      `the request body is not JSON: ${(err as Error).message}`,
      'send a JSON object, e.g. {"name": "r1"}',
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HttpRefusal(
      400,
      'INVALID_JSON',
      `the request body must be a JSON object, not ${Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`}`,
      'send a JSON object, e.g. {"name": "r1"}',
    );
  }
  return value as Record<string, unknown>;
}
