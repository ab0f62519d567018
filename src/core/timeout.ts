/** `p`, or an Error saying `what` gave no answer within `ms` (the timer never keeps a process alive). */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  const late = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms).unref(),
  );
  return Promise.race([p, late]);
}
