import type { StreamEvent } from './types.js';

/**
 * The last `capacity` events, oldest dropped first. Seqs rise but may have gaps (history read back
 * from disk skips damaged lines), so lookups are by binary search, not arithmetic.
 */
export class Ring {
  readonly #items: Array<StreamEvent | undefined>;
  #start = 0;
  #size = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`ring capacity ${capacity} is not a positive integer`);
    this.#items = new Array(capacity);
  }

  get size(): number {
    return this.#size;
  }

  #at(i: number): StreamEvent {
    return this.#items[(this.#start + i) % this.capacity] as StreamEvent;
  }

  push(e: StreamEvent): void {
    const last = this.newest();
    if (last && e.seq <= last.seq) throw new Error(`bug: event seq ${e.seq} after ${last.seq}`);
    if (this.#size < this.capacity) {
      this.#items[(this.#start + this.#size) % this.capacity] = e;
      this.#size++;
    } else {
      this.#items[this.#start] = e;
      this.#start = (this.#start + 1) % this.capacity;
    }
  }

  oldest(): StreamEvent | undefined {
    return this.#size ? this.#at(0) : undefined;
  }

  newest(): StreamEvent | undefined {
    return this.#size ? this.#at(this.#size - 1) : undefined;
  }

  /** Index of the first event with seq > `seq` (size when none). */
  #firstAfter(seq: number): number {
    let lo = 0;
    let hi = this.#size;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#at(mid).seq > seq) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** The first event after `seq`, or undefined when there is none (yet). */
  next(seq: number): StreamEvent | undefined {
    const i = this.#firstAfter(seq);
    return i < this.#size ? this.#at(i) : undefined;
  }

  /** How many kept events come after `seq`. */
  countAfter(seq: number): number {
    return this.#size - this.#firstAfter(seq);
  }

  /** Events after `seq`, oldest first, at most `limit` of those that pass `keep`. */
  after(seq: number, limit = Number.POSITIVE_INFINITY, keep: (e: StreamEvent) => boolean = () => true): StreamEvent[] {
    const out: StreamEvent[] = [];
    for (let i = this.#firstAfter(seq); i < this.#size && out.length < limit; i++) {
      const e = this.#at(i);
      if (keep(e)) out.push(e);
    }
    return out;
  }

  /** The newest `limit` events that pass `keep`, oldest first. */
  latest(limit: number, keep: (e: StreamEvent) => boolean = () => true): StreamEvent[] {
    const out: StreamEvent[] = [];
    for (let i = this.#size - 1; i >= 0 && out.length < limit; i--) {
      const e = this.#at(i);
      if (keep(e)) out.push(e);
    }
    return out.reverse();
  }
}
