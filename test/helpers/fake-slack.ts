import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for Slack: the Web API (SLACK_API_URL points here), the response_url of each
 * command, and the file upload URLs of files upload v2. It records every call so that a test can
 * check what a Slack user would have seen, and can answer 429 with Retry-After on demand.
 */
export interface ApiCall {
  method: string;
  args: Record<string, unknown>;
  at: number;
}
export interface Response {
  id: string;
  body: Record<string, unknown>;
  at: number;
}

export class FakeSlack {
  readonly calls: ApiCall[] = [];
  readonly responses: Response[] = [];
  readonly uploads = new Map<string, Buffer>();
  /** answer the next N calls of a method with 429 and this Retry-After (seconds) */
  readonly rateLimits: Array<{ method: string; retryAfterS: number }> = [];
  readonly rateLimited: ApiCall[] = [];
  socketUrl: string | undefined;
  url = '';
  private server: Server | undefined;
  private ts = 1_700_000_000;
  private responseId = 0;
  private fileId = 0;

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.route(req).then(
        ({ status, body, headers }) => res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body)),
        (err: Error) => res.writeHead(500).end(err.message),
      );
    });
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  stop(): Promise<void> {
    this.server?.closeAllConnections();
    return new Promise((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  newResponseUrl(): string {
    return `${this.url}/response/${++this.responseId}`;
  }

  callsOf(method: string): ApiCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  responsesTo(url: string): Response[] {
    const id = url.split('/').pop();
    return this.responses.filter((r) => r.id === id);
  }

  /** Wait until `probe` returns something (checked every 25 ms). */
  async until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = probe();
      if (v) return v;
      if (Date.now() > deadline)
        throw new Error(`fake Slack: timed out waiting for ${what}; calls: ${this.calls.map((c) => c.method).join(', ')}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  private async route(req: IncomingMessage): Promise<{ status: number; body: unknown; headers?: Record<string, string> }> {
    const raw = await read(req);
    const path = new URL(req.url ?? '/', this.url).pathname;
    if (path.startsWith('/response/')) {
      this.responses.push({ id: path.split('/').pop() as string, body: JSON.parse(raw.toString() || '{}'), at: Date.now() });
      return { status: 200, body: 'ok' };
    }
    if (path.startsWith('/upload/')) {
      this.uploads.set(path.split('/').pop() as string, raw);
      return { status: 200, body: 'OK' };
    }
    const method = path.replace(/^\/api\//, '');
    const call = { method, args: parseArgs(req, raw), at: Date.now() };
    const limit = this.rateLimits.findIndex((r) => r.method === method);
    if (limit >= 0) {
      const [r] = this.rateLimits.splice(limit, 1);
      this.rateLimited.push(call);
      return { status: 429, body: { ok: false, error: 'ratelimited' }, headers: { 'retry-after': String(r?.retryAfterS) } };
    }
    this.calls.push(call);
    return { status: 200, body: this.answer(method, call.args) };
  }

  private answer(method: string, args: Record<string, unknown>): Record<string, unknown> {
    switch (method) {
      case 'auth.test':
        return { ok: true, user_id: 'UBOT', bot_id: 'BBOT', team: 'Lab team', team_id: 'T1', user: 'nslab' };
      case 'chat.postMessage':
        return { ok: true, channel: args.channel, ts: `${++this.ts}.000100`, message: { text: args.text } };
      case 'chat.update':
        return { ok: true, channel: args.channel, ts: args.ts };
      case 'files.getUploadURLExternal': {
        const id = `F${++this.fileId}`;
        return { ok: true, file_id: id, upload_url: `${this.url}/upload/${id}` };
      }
      case 'files.completeUploadExternal': {
        const files = (args.files as Array<{ id: string; title?: string }>) ?? [];
        return { ok: true, files: files.map((f) => ({ id: f.id, title: f.title, permalink: `${this.url}/files/${f.id}` })) };
      }
      case 'apps.connections.open':
        return this.socketUrl ? { ok: true, url: this.socketUrl } : { ok: false, error: 'no socket server in this test' };
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }
}

function read(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

/** The Web API client sends forms whose structured fields (blocks, files) are JSON text. */
function parseArgs(req: IncomingMessage, raw: Buffer): Record<string, unknown> {
  const type = req.headers['content-type'] ?? '';
  if (type.includes('application/json')) return JSON.parse(raw.toString() || '{}');
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(raw.toString())) {
    try {
      out[k] = /^[[{]/.test(v) ? JSON.parse(v) : v;
    } catch {
      out[k] = v;
    }
  }
  return out;
}

/** Post to the app as Slack does: a form body signed with the signing secret (v0 HMAC). */
export async function signedPost(
  url: string,
  form: Record<string, string>,
  secret: string,
  opts: { timestamp?: number; signature?: string } = {},
): Promise<{ status: number; body: string; json: () => Record<string, unknown> }> {
  const body = new URLSearchParams(form).toString();
  const ts = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
  const signature = opts.signature ?? `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': ts, 'x-slack-signature': signature },
    body,
  });
  const text = await res.text();
  return { status: res.status, body: text, json: () => JSON.parse(text || '{}') };
}

/** The form of a `/lab` slash command. */
export function slashForm(text: string, user: string, channel: string, responseUrl: string): Record<string, string> {
  return {
    token: 'legacy',
    team_id: 'T1',
    team_domain: 'lab',
    channel_id: channel,
    channel_name: 'lab',
    user_id: user,
    user_name: user.toLowerCase(),
    command: '/lab',
    text,
    api_app_id: 'A1',
    response_url: responseUrl,
    trigger_id: `trigger-${Date.now()}`,
  };
}

/** The form of a button click (block_actions) on a message from the app. */
export function clickForm(actionId: string, value: string, user: string, channel: string, responseUrl: string): Record<string, string> {
  const payload = {
    type: 'block_actions',
    team: { id: 'T1', domain: 'lab' },
    user: { id: user, username: user.toLowerCase(), team_id: 'T1' },
    api_app_id: 'A1',
    token: 'legacy',
    container: { type: 'message', is_ephemeral: true, channel_id: channel },
    trigger_id: `trigger-${Date.now()}`,
    channel: { id: channel, name: 'lab' },
    response_url: responseUrl,
    actions: [
      {
        type: 'button',
        action_id: actionId,
        block_id: 'nslab_confirm',
        value,
        text: { type: 'plain_text', text: 'Run it' },
        action_ts: String(Date.now() / 1000),
      },
    ],
  };
  return { payload: JSON.stringify(payload) };
}
