/**
 * What readers (reader.ts) and gRPC relays (relay.ts) share: long-lived execs kept per key,
 * opened once on first use (callers share the opening), closed when unused for idleMs, and keys
 * whose opening failed skipped for a while (their callers read the old way meanwhile).
 */
export interface Closable {
  lastUsed: number;
  readonly closed: boolean;
  close(): void;
}

export class Kept<T extends Closable> {
  readonly #items = new Map<string, Promise<T | undefined>>();
  /** the entries whose opening has finished, for forget() to act at once */
  readonly #open = new Map<string, T>();
  readonly #without = new Map<string, number>();
  #sweep: NodeJS.Timeout | undefined;

  constructor(
    private readonly max: number,
    private readonly idleMs: number,
  ) {}

  get size(): number {
    return this.#items.size;
  }

  /** whether `key` failed to open lately */
  skipped(key: string): boolean {
    const until = this.#without.get(key);
    return until !== undefined && until > Date.now();
  }

  /** do not try `key` again for `ms` */
  skip(key: string, ms: number): void {
    if (this.#without.size >= this.max) this.#without.clear();
    this.#without.set(key, Date.now() + ms);
  }

  /** The open one for `key` (opened now if there is none); undefined when it could not open or too many are open. */
  async get(key: string, open: () => Promise<T | undefined>): Promise<T | undefined> {
    let p = this.#items.get(key);
    if (!p) {
      if (this.#items.size >= this.max) return undefined;
      p = open()
        .catch(() => undefined)
        .then((x) => {
          if (x && !x.closed && this.#items.get(key) === p) this.#open.set(key, x);
          return x;
        });
      this.#items.set(key, p);
      this.#arm();
    }
    const item = await p;
    if (!item || item.closed) {
      if (this.#items.get(key) === p) {
        this.#items.delete(key);
        this.#open.delete(key);
      }
      return undefined;
    }
    return item;
  }

  /** forget `key`'s entry if it is still `item` (it closed by itself) */
  forget(key: string, item: T): void {
    if (this.#open.get(key) !== item) return;
    this.#open.delete(key);
    this.#items.delete(key);
  }

  /** close the entries whose key passes `which` */
  close(which: (key: string) => boolean): void {
    for (const [key, p] of this.#items) {
      if (!which(key)) continue;
      this.#items.delete(key);
      this.#open.delete(key);
      void p.then((x) => x?.close());
    }
  }

  closeAll(): void {
    this.close(() => true);
    if (this.#sweep) clearInterval(this.#sweep);
    this.#sweep = undefined;
  }

  #arm(): void {
    if (this.#sweep) return;
    this.#sweep = setInterval(() => {
      const now = Date.now();
      for (const p of this.#items.values()) void p.then((x) => x && now - x.lastUsed > this.idleMs && x.close());
      if (this.#items.size === 0 && this.#sweep) {
        clearInterval(this.#sweep);
        this.#sweep = undefined;
      }
    }, 10_000);
    this.#sweep.unref();
  }
}
