import { LockLostError } from '../errors.js';
import type { RedisClient as Redis } from '../redis.js';

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
      // a renewal that finds another holder (the lock lapsed and was taken) marks the lock lost
      this.redis.eval(EXTEND, 1, this.key, this.token, String(this.ttlMs)).then(
        (n) => {
          if (Number(n) === 0) this.lost = true;
        },
        () => {},
      );
    }, this.ttlMs / 3);
    this.timer.unref();
    return true;
  }

  /** set once a renewal found the lock held by another */
  private lost = false;

  /**
   * Throws LockLostError unless this holder still has the lock (asked of Redis): called before a job writes,
   * so a job whose lock lapsed (a stall, a renewal that failed) never writes over the holder's work.
   */
  async verify(): Promise<void> {
    if (this.lost || (await this.redis.get(this.key)) !== this.token) {
      this.lost = true;
      throw new LockLostError(`lost the lock of ${this.key} to another holder: nothing written; retried`);
    }
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.redis.eval(RELEASE, 1, this.key, this.token);
  }
}
