/** What the leak check needs of a worker pool (workers/pool.ts WorkerPool). */
export interface TrackedPool {
  workers: { once(event: 'closed', listener: () => void): unknown; isRunning(): boolean }[];
  watcher: { health(): { state: string } } | undefined;
  close(): Promise<void>;
}

/**
 * The worker pools a test started, and the leak check on them. A pool leaves the registry only once it is
 * closed for real: every one of its BullMQ workers emitted `closed` (its connections ended) and stopped
 * running, and its Docker event watcher is stopped. So `openPools()` after `closePools()` is not 0 when a
 * pool's close resolved with a worker still open, when its close failed or never ran to the end, or when a
 * pool was started after the close.
 */
export class PoolRegistry<P extends TrackedPool = TrackedPool> {
  private readonly pools = new Set<P>();
  private readonly closedWorkers = new WeakSet<object>();

  track(pool: P): P {
    for (const w of pool.workers) w.once('closed', () => this.closedWorkers.add(w));
    this.pools.add(pool);
    return pool;
  }

  /**
   * Closes every tracked pool (all of them, even when one fails), forgets those now closed, and throws the
   * first close that failed.
   */
  async closeAll(): Promise<void> {
    const pools = [...this.pools];
    const results = await Promise.allSettled(pools.map((p) => p.close()));
    for (const p of pools) if (this.isClosed(p)) this.pools.delete(p);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** How many tracked pools are still open. */
  open(): number {
    return [...this.pools].filter((p) => !this.isClosed(p)).length;
  }

  private isClosed(p: P): boolean {
    const workersClosed = p.workers.every((w) => this.closedWorkers.has(w) && !w.isRunning());
    return workersClosed && (p.watcher === undefined || p.watcher.health().state === 'stopped');
  }
}
