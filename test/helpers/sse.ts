import { type IncomingMessage, request } from 'node:http';

export interface SseFrame {
  id?: string;
  event?: string;
  data: string;
  /** when this process parsed it (ms since the epoch) */
  at: number;
}

export interface SseReader {
  status: number;
  frames: SseFrame[];
  /** frames that are lab events, parsed */
  events(): Array<{ seq: number; type: string; node?: string; topology?: string; detail: Record<string, unknown>; at: number }>;
  comments: string[];
  ended: boolean;
  waitFor<T>(what: string, pick: (r: SseReader) => T | undefined, timeoutMs: number): Promise<T>;
  close(): void;
}

/** A plain SSE client over node:http (no EventSource in Node), recording frames as they come. */
export function sse(base: string, path: string, headers: Record<string, string> = {}): Promise<SseReader> {
  const u = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = request({
      host: u.hostname,
      port: u.port,
      path: `${u.pathname}${u.search}`,
      headers: { Accept: 'text/event-stream', ...headers },
    });
    req.once('error', reject);
    req.once('response', (res: IncomingMessage) => {
      let buf = '';
      const r: SseReader = {
        status: res.statusCode ?? 0,
        frames: [],
        comments: [],
        ended: false,
        events: () =>
          r.frames
            .filter((f) => f.id !== undefined && f.event !== 'dropped')
            .map((f) => ({ ...(JSON.parse(f.data) as { seq: number; type: string; detail: Record<string, unknown> }), at: f.at })),
        waitFor: async (what, pick, timeoutMs) => {
          const deadline = Date.now() + timeoutMs;
          for (;;) {
            const v = pick(r);
            if (v !== undefined) return v;
            if (Date.now() > deadline)
              throw new Error(`SSE: timed out after ${timeoutMs} ms waiting for ${what}; got ${r.frames.map((f) => f.event).join(',')}`);
            await new Promise((x) => setTimeout(x, 25));
          }
        },
        close: () => {
          req.destroy();
          res.destroy();
        },
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const f: SseFrame = { data: '', at: Date.now() };
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) r.comments.push(line.slice(1).trim());
            else if (line.startsWith('id: ')) f.id = line.slice(4);
            else if (line.startsWith('event: ')) f.event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          f.data = data.join('\n');
          if (f.id !== undefined || f.event !== undefined) r.frames.push(f);
        }
      });
      res.on('end', () => {
        r.ended = true;
      });
      res.on('close', () => {
        r.ended = true;
      });
      resolve(r);
    });
    req.end();
  });
}
