import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DockerEngine } from '../../src/docker/engine.js';
import { silentLogger } from '../../src/logger.js';
import { DockerEventWatcher } from '../../workers/eventWatcher.js';

// The rare edge of an engine that keeps refusing or dropping the event stream, with an in-memory engine
// and fake timers, so the backoff is checked exactly; the real reconnect after a dockerd restart is
// test/integration/events.test.ts.

/** An engine whose event stream fails (`refuse`) or opens and ends at once (`drop`), recording each call. */
function flakyEngine(mode: 'refuse' | 'drop') {
  const calls: number[] = [];
  const engine = {
    events: async () => {
      calls.push(Date.now());
      if (mode === 'refuse') throw new Error('connect ENOENT /var/run/docker.sock');
      const stream = new PassThrough();
      setImmediate(() => stream.end());
      return stream;
    },
    listAppContainers: async () => [],
  } as unknown as DockerEngine;
  return { engine, calls };
}

const gaps = (calls: number[]) => calls.slice(1).map((t, i) => t - (calls[i] ?? 0));

describe('event watcher backoff', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('retries a refused stream after 1 s, doubling to 30 s, and never faster', async () => {
    const { engine, calls } = flakyEngine('refuse');
    const watcher = new DockerEventWatcher({
      docker: engine,
      logger: silentLogger(),
      scopeLabel: undefined,
      onApp: async () => {},
      onConnect: async () => {},
    });
    watcher.start();
    await vi.advanceTimersByTimeAsync(180_000);
    watcher.stop();
    expect(gaps(calls)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000]);
    expect(watcher.health()).toMatchObject({ state: 'stopped', lastError: 'connect ENOENT /var/run/docker.sock' });
  });

  it('backs off a stream that opens and ends at once too, asking for one host rebuild per connect', async () => {
    const { engine, calls } = flakyEngine('drop');
    let hostRebuilds = 0;
    const watcher = new DockerEventWatcher({
      docker: engine,
      logger: silentLogger(),
      scopeLabel: undefined,
      onApp: async () => {},
      onConnect: async () => {
        hostRebuilds += 1;
      },
    });
    watcher.start();
    await vi.advanceTimersByTimeAsync(60_000);
    const health = watcher.health();
    watcher.stop();
    expect(gaps(calls)).toEqual([1000, 2000, 4000, 8000, 16000]);
    expect(hostRebuilds).toBe(calls.length);
    expect(health).toMatchObject({ state: 'disconnected', reconnects: 5, lastError: 'event stream ended' });
  });
});
