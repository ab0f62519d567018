import type { IncomingMessage } from 'node:http';

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

const tooLarge = () =>
  new HttpRefusal(413, 'PAYLOAD_TOO_LARGE', `the request body is larger than ${MAX_BODY_BYTES} bytes`, 'send a smaller JSON object');

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
 * The body's bytes, refusing more than the limit. Past it, nothing more is kept: the rest is read
 * into nothing and the 413 answer closes the connection.
 */
function collect(req: IncomingMessage): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) {
        chunks.push(chunk);
        return;
      }
      // Keep reading into nothing; the answer closes the connection.
      req.off('data', onData);
      req.resume();
      reject(tooLarge());
    };
    req.on('data', onData);
    req.once('end', () => resolve(chunks));
    req.once('error', reject);
  });
}

/**
 * The body as a JSON object, {} when there is none. Refuses (HttpRefusal) a body over the limit,
 * one that is not JSON, or JSON that is not an object, saying what to send instead.
 */
export async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) {
    req.resume(); // drain, so the connection can carry the answer
    throw tooLarge();
  }
  const chunks = await collect(req);
  const text = Buffer.concat(chunks).toString('utf8');
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
