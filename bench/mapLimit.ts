import { live, stop } from './interrupt.js';

/** Runs fn over items with at most `limit` at once; stops taking new items once the bench is interrupted. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failure: unknown;
  const run = async () => {
    while (next < items.length && failure === undefined && !stop.signal.aborted) {
      const i = next++;
      try {
        out[i] = await fn(items[i] as T, i);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  // every runner ends before this returns, so nothing is still being created when the cleanup lists
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  if (failure !== undefined) throw failure;
  live();
  return out;
}
