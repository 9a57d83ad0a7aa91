import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { PoolRegistry, type TrackedPool } from '../support/poolRegistry.js';

// The leak check of the integration tests (`await closePools(); expect(openPools()).toBe(0)`, test/helpers.ts)
// must be able to fail: a pool whose close leaves something open stays counted.

class FakeWorker extends EventEmitter {
  running = true;
  isRunning() {
    return this.running;
  }
  /** as BullMQ's Worker.close: stops running, then emits `closed` */
  shut() {
    this.running = false;
    this.emit('closed');
  }
}

function fakePool(close: (workers: FakeWorker[], watcher: { state: string }) => Promise<void>) {
  const workers = [new FakeWorker(), new FakeWorker()];
  const watcher = { state: 'connected' };
  const pool: TrackedPool = {
    workers,
    watcher: { health: () => ({ state: watcher.state }) },
    close: () => close(workers, watcher),
  };
  return pool;
}

const closesAll = () =>
  fakePool(async (workers, watcher) => {
    for (const w of workers) w.shut();
    watcher.state = 'stopped';
  });

describe('the pool leak check', () => {
  it('counts a pool until it is closed, and none once all are', async () => {
    const pools = new PoolRegistry();
    pools.track(closesAll());
    pools.track(closesAll());
    expect(pools.open()).toBe(2);
    await pools.closeAll();
    expect(pools.open()).toBe(0);
  });

  it('still counts a pool whose close resolved with a worker left open, or its watcher running', async () => {
    const pools = new PoolRegistry();
    pools.track(
      fakePool(async (workers, watcher) => {
        workers[0]?.shut();
        watcher.state = 'stopped';
      }),
    );
    pools.track(
      fakePool(async (workers) => {
        for (const w of workers) w.shut();
      }),
    );
    pools.track(closesAll());
    await pools.closeAll();
    expect(pools.open()).toBe(2);
  });

  it('still counts a pool whose close failed, and throws that failure after closing the others', async () => {
    const pools = new PoolRegistry();
    pools.track(
      fakePool(async () => {
        throw new Error('close failed');
      }),
    );
    const fine = pools.track(closesAll());
    await expect(pools.closeAll()).rejects.toThrow('close failed');
    expect(fine.workers.every((w) => !w.isRunning())).toBe(true);
    expect(pools.open()).toBe(1);
  });
});
