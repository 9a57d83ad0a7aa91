import { LockLostError } from '../errors.js';
import type { RedisClient as Redis } from '../redis.js';
import { batchArgs, type KeyCommand, LuaScript, RUN_BATCH_LUA } from './keyCommands.js';

const EXTEND = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
/** KEYS[1] the lock, then the batch's keys; ARGV: token, ttl, the batch. The batch runs only when the lock is taken. */
const ACQUIRE = new LuaScript(`${RUN_BATCH_LUA}
if not redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return false end
return run_batch(3)`);
/** KEYS[1] the lock, then the batch's keys; ARGV: token, the batch. The batch runs only while the token holds the lock. */
const WHILE_HELD = new LuaScript(`${RUN_BATCH_LUA}
if redis.call('get', KEYS[1]) ~= ARGV[1] then return false end
return run_batch(2)`);
/** KEYS[1] the lock, then the batch's keys; ARGV: token, the batch. The batch runs, then the lock is released if held. */
const RELEASE = new LuaScript(`${RUN_BATCH_LUA}
run_batch(2)
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`);

/**
 * The per-app exclusion: one Redis key per app, taken with SET NX PX and a token, kept alive while the
 * job runs and released only by its holder. Works across every worker on every host sharing the Redis.
 * Taking, writing under and releasing the lock each carry a batch of other commands (src/store/keyCommands.ts)
 * in the same script: what a job reads as it starts, writes while it holds the lock, and records as it ends,
 * one round trip each.
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
    return (await this.acquireWith([])) !== undefined;
  }

  /**
   * Takes the lock and, only when it was free, runs the commands in the same script (reads to start with,
   * and what must happen only once the lock is this holder's). Their replies, or undefined when the lock is
   * held by another (then nothing ran).
   */
  async acquireWith(commands: readonly KeyCommand[]): Promise<unknown[] | undefined> {
    const { keys, argv } = batchArgs(commands);
    const replies = await ACQUIRE.run(this.redis, [this.key, ...keys], [this.token, String(this.ttlMs), ...argv]);
    if (!Array.isArray(replies)) return undefined;
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
    return replies;
  }

  /** set once a renewal found the lock held by another */
  private lost = false;

  /**
   * Throws LockLostError unless this holder still has the lock (asked of Redis): called before a job writes
   * files and before each change it makes to a container (a replacement, an attach, a detach), so a job whose
   * lock lapsed (a stall, a renewal that failed) neither writes over the holder's work nor changes its containers.
   */
  async verify(): Promise<void> {
    if (this.lost || (await this.redis.get(this.key)) !== this.token) this.lose();
  }

  /**
   * Runs the commands (writes) only while this holder has the lock, checked in the same script: their
   * replies; LockLostError (and nothing written) when the lock is another's.
   */
  async whileHeld(commands: readonly KeyCommand[]): Promise<unknown[]> {
    if (this.lost) this.lose();
    const { keys, argv } = batchArgs(commands);
    const replies = await WHILE_HELD.run(this.redis, [this.key, ...keys], [this.token, ...argv]);
    if (!Array.isArray(replies)) this.lose();
    return replies as unknown[];
  }

  /** Runs the commands (whether or not the lock is still held: a record of the job's end), then releases it. */
  async release(commands: readonly KeyCommand[] = []): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const { keys, argv } = batchArgs(commands);
    await RELEASE.run(this.redis, [this.key, ...keys], [this.token, ...argv]);
  }

  private lose(): never {
    this.lost = true;
    throw new LockLostError(`lost the lock of ${this.key} to another holder: nothing written; retried`);
  }
}
