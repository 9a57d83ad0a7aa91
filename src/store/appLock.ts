import type { RedisClient as Redis } from '../queue.js';

const EXTEND = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * The per-app exclusion: one Redis key per app, taken with SET NX PX and a token, kept alive while the
 * job runs and released only by its holder. Works across every worker on every host sharing the Redis.
 */
export class AppLock {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    readonly key: string,
    readonly token: string,
    private readonly ttlMs = 15_000,
  ) {}

  async acquire(): Promise<boolean> {
    const ok = await this.redis.set(this.key, this.token, 'PX', this.ttlMs, 'NX');
    if (ok !== 'OK') return false;
    this.timer = setInterval(() => {
      this.redis.eval(EXTEND, 1, this.key, this.token, String(this.ttlMs)).catch(() => {});
    }, this.ttlMs / 3);
    this.timer.unref();
    return true;
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.redis.eval(RELEASE, 1, this.key, this.token);
  }
}
