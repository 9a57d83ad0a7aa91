import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ensureRedis } from '../../producers/client.js';
import { withDeadline } from '../../producers/http/liveQueues.js';
import { RedisUnreachableError } from '../../src/errors.js';
import type { NetqQueues } from '../../src/queue.js';

/** Redis failures reach callers as the taxonomy's class, with what caused them. */
describe('Redis errors', () => {
  it('withDeadline rejects a Redis call without an answer as RedisUnreachableError', async () => {
    const never = new Promise<never>(() => {});
    const err = await withDeadline(never, 20, 'redis ping').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedisUnreachableError);
    expect((err as Error).message).toBe('redis ping: no answer within 20 ms');
  });

  it('ensureRedis keeps the refusal as the cause of its RedisUnreachableError', async () => {
    const refusal = new Error('WRONGPASS invalid username-password pair\nmore');
    const redis = Object.assign(new EventEmitter(), { ping: () => Promise.reject(refusal) });
    const queues = { redis, config: { redisUrl: 'redis://:secret@127.0.0.1:1/0' } } as unknown as NetqQueues;
    const err = await ensureRedis(queues, 5_000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedisUnreachableError);
    expect((err as Error).message).toMatch(/refused the connection: WRONGPASS invalid username-password pair$/);
    expect((err as Error).message).not.toContain('secret');
    expect((err as Error).cause).toBe(refusal);
  });
});
