import type { RedisClient } from '../redis.js';

/** ioredis's command names (the same for every client) */
let builtin: Set<string> | undefined;

/** A Redis client that counts the round trips made through it, and the count. */
export interface CountedClient {
  client: RedisClient;
  roundTrips(): number;
}

/**
 * The same client, counting its round trips: each command sent on its own (a script's EVAL included) is one,
 * and so is each pipeline or MULTI/EXEC, whatever it holds. Only what goes through the returned client counts:
 * the per-app job counts its own requests so, on a connection it shares with other jobs and with BullMQ.
 */
export function countRoundTrips(redis: RedisClient): CountedClient {
  let n = 0;
  builtin ??= new Set(redis.getBuiltinCommands());
  const commands = builtin;
  const client = new Proxy(redis, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      if (prop === 'multi' || prop === 'pipeline') {
        return (...args: unknown[]) => {
          const batch = method.apply(target, args) as { exec: (...a: unknown[]) => unknown };
          const exec = batch.exec;
          batch.exec = (...a: unknown[]) => {
            n += 1;
            return exec.apply(batch, a);
          };
          return batch;
        };
      }
      if (typeof prop === 'string' && (commands.has(prop) || commands.has(prop.replace(/Buffer$/, '')))) {
        return (...args: unknown[]) => {
          n += 1;
          return method.apply(target, args);
        };
      }
      return method.bind(target);
    },
  });
  return { client, roundTrips: () => n };
}
