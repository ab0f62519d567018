import type { IncomingMessage, ServerResponse } from 'node:http';
import { phraseError, runTool } from '../../tools/index.js';
import { LabError } from '../core/errors.js';
import type { Lab } from '../core/lab.js';
import { buildArgs } from './args.js';
import { HttpRefusal, readJsonObject } from './body.js';
import { openApiDocument } from './openapi.js';
import { sendError, sendJson } from './reply.js';
import { isCreate, locationOf, matchRoute } from './routes.js';
import { statusOf } from './status.js';

/**
 * Answers a request at one of the REST paths, or returns false when the path is not one of them
 * (the server then answers 404). `shutdown` aborts the call when the server stops waiting for it.
 */
export type RestHandler = (req: IncomingMessage, res: ServerResponse, url: URL, shutdown?: AbortSignal) => Promise<boolean>;

/** Who called, for the audit log: the peer address, and the client's name when it gives one. */
function callerId(req: IncomingMessage): string {
  const agent = req.headers['user-agent']?.slice(0, 80);
  const address = req.socket.remoteAddress ?? 'unknown';
  return agent ? `${address} (${agent})` : address;
}

function sendLabError(res: ServerResponse, error: LabError): void {
  const body = error.toJSON();
  // Bad input always lists its fields, even when there is only the message to go by.
  if (error.code === 'INVALID_INPUT') body.issues ??= [];
  sendJson(res, statusOf(error.code), { error: body });
}

/** The REST API of the old service (and the read routes added since), generated from the catalogue. */
export function createRestHandler(lab: Lab): RestHandler {
  return async (req, res, url, shutdown) => {
    const method = req.method ?? 'GET';
    if (url.pathname === '/openapi.json') {
      if (method !== 'GET' && method !== 'HEAD') {
        res.setHeader('Allow', 'GET');
        sendError(res, 405, 'METHOD_NOT_ALLOWED', `${method} is not allowed on /openapi.json`, 'use GET');
      } else sendJson(res, 200, openApiDocument());
      return true;
    }
    const match = matchRoute(method, url.pathname);
    if (!match) return false;
    if (match.kind === 'method') {
      res.setHeader('Allow', match.allow.join(', '));
      sendError(res, 405, 'METHOD_NOT_ALLOWED', `${method} is not allowed on ${url.pathname}`, `use ${match.allow.join(' or ')}`);
      return true;
    }
    if (match.kind === 'bad_path') {
      sendError(res, 400, 'INVALID_INPUT', match.message);
      return true;
    }
    const { route, values } = match;

    let args: Record<string, unknown>;
    try {
      // A GET carries no body; a DELETE may carry one (old clients) or use the query string.
      if (route.method === 'GET') req.resume();
      const body = route.method === 'GET' ? {} : await readJsonObject(req);
      args = buildArgs(route, values, url.searchParams, body);
    } catch (err) {
      if (err instanceof HttpRefusal) {
        // The rest of an oversized body is not read: close the connection after answering.
        if (err.status === 413) res.setHeader('Connection', 'close');
        sendError(res, err.status, err.code, err.message, err.hint);
        return true;
      }
      if (err instanceof LabError) {
        sendLabError(res, phraseError(err, 'rest'));
        return true;
      }
      throw err;
    }

    // A client that hangs up cancels its call (a cancelled create removes what it made).
    const gone = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) gone.abort(new Error('the client closed the connection'));
    };
    res.once('close', onClose);
    const signal = shutdown ? AbortSignal.any([gone.signal, shutdown]) : gone.signal;
    try {
      const outcome = await runTool(lab, route.tool.name, args, { caller: { front_end: 'rest', id: callerId(req) }, signal });
      if (!outcome.ok) {
        sendLabError(res, outcome.error);
        return true;
      }
      const created = isCreate(route);
      const location = created ? locationOf(route, outcome.result) : undefined;
      if (location) res.setHeader('Location', location);
      sendJson(res, created ? 201 : 200, outcome.result);
      return true;
    } finally {
      res.off('close', onClose);
    }
  };
}
