/**
 * How many commands each Slack user has running. A channel is shared: one member who sends the
 * heaviest read (a 200-node status, a PNG graph) again and again must not take the server from the
 * others, so each user has a few calls at a time, and the app a bounded number in all.
 */
export const SLACK_LIMITS = { perUser: 3, total: 24 } as const;

export class InFlight {
  readonly #byUser = new Map<string, number>();
  #total = 0;

  constructor(private readonly limits: { perUser: number; total: number } = SLACK_LIMITS) {}

  /** Why another call of this user cannot start now, or undefined when it may. */
  refusal(user: string): string | undefined {
    const mine = this.#byUser.get(user) ?? 0;
    if (mine >= this.limits.perUser) {
      return `you have ${mine} /lab commands running; wait for one to finish (at most ${this.limits.perUser} at a time each)`;
    }
    if (this.#total >= this.limits.total) return `the lab is answering ${this.#total} /lab commands; try again in a moment`;
    return undefined;
  }

  /** Count the call while it runs. */
  async run<T>(user: string, fn: () => Promise<T>): Promise<T> {
    this.#byUser.set(user, (this.#byUser.get(user) ?? 0) + 1);
    this.#total++;
    try {
      return await fn();
    } finally {
      this.#total--;
      const left = (this.#byUser.get(user) ?? 1) - 1;
      if (left <= 0) this.#byUser.delete(user);
      else this.#byUser.set(user, left);
    }
  }
}
