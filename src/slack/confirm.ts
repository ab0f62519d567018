import { randomUUID } from 'node:crypto';
import type { AnyTool } from '../../tools/index.js';
import type { Block } from './render.js';
import { section } from './render.js';

/** A destructive command waiting for its author's click; kept in memory, forgotten when it expires. */
export interface Pending {
  id: string;
  user: string;
  channel: string;
  tool: AnyTool;
  args: Record<string, unknown>;
  /** the command as typed, for the messages */
  shown: string;
  expires: number;
}

export type Taken = { ok: true; pending: Pending } | { ok: false; why: string; expired?: boolean };

export class Confirmations {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly ttlMs: number) {}

  add(p: Omit<Pending, 'id' | 'expires'>): Pending {
    const now = Date.now();
    for (const [id, old] of this.pending) if (old.expires <= now) this.pending.delete(id);
    const full = { ...p, id: randomUUID(), expires: now + this.ttlMs };
    this.pending.set(full.id, full);
    return full;
  }

  /** The pending command, if this user may confirm (or cancel) it now; it can be taken once. */
  take(id: string, user: string): Taken {
    const p = this.pending.get(id);
    if (!p)
      return { ok: false, why: 'this command is no longer waiting: it already ran, was cancelled, or the server restarted. Run it again.' };
    if (p.user !== user) return { ok: false, why: `only <@${p.user}>, who asked for it, can confirm or cancel ${p.shown}.` };
    this.pending.delete(id);
    if (p.expires <= Date.now()) {
      return {
        ok: false,
        expired: true,
        why: `${p.shown} expired (${Math.round(this.ttlMs / 1000)} s to confirm): nothing was done. Run it again.`,
      };
    }
    return { ok: true, pending: p };
  }

  get size(): number {
    return this.pending.size;
  }
}

/** The question, with a Run button (and Slack's own confirm dialog) and a Cancel button. */
export function confirmBlocks(p: Pending, ttlS: number, note?: string): Block[] {
  const what = `${p.tool.title}: ${p.shown}`;
  return [
    section(`⚠️ ${p.shown} removes or interrupts part of the lab. Run it?${note ? `\n${note}` : ''}`),
    {
      type: 'actions',
      block_id: 'nslab_confirm',
      elements: [
        {
          type: 'button',
          action_id: 'nslab_confirm',
          style: 'danger',
          text: { type: 'plain_text', text: 'Run it' },
          value: p.id,
          confirm: {
            title: { type: 'plain_text', text: 'Are you sure?' },
            text: { type: 'mrkdwn', text: what.slice(0, 300) },
            confirm: { type: 'plain_text', text: 'Yes, run it' },
            deny: { type: 'plain_text', text: 'Cancel' },
            style: 'danger',
          },
        },
        { type: 'button', action_id: 'nslab_cancel', text: { type: 'plain_text', text: 'Cancel' }, value: p.id },
      ],
    },
    { type: 'context', elements: [{ type: 'mrkdwn', text: `Only you can confirm it, within ${Math.round(ttlS / 60) || 1} min.` }] },
  ];
}
