import { createHash } from 'node:crypto';
import type { RedisClient } from '../redis.js';

/**
 * Redis commands gathered from several stores and run in one round trip by one script (src/store/appLock.ts
 * runs them while taking, holding or releasing an app's lock). Each is one command on one key:
 * `[command, key, ...args]`; all of netq's keys share one hash tag, so a batch is one Cluster slot.
 */
export type KeyCommand = readonly [command: string, key: string, ...args: string[]];

/**
 * `delifeq key value`: deletes the key only when it holds the value (a compare-and-delete, as a merged
 * request's `pending` marker is forgotten). Every other command is Redis's own.
 */
export const DEL_IF_EQUAL = 'delifeq';

/**
 * Lua: `run_batch(from)` runs the commands ARGV holds from index `from` on (each as command, key, the number of
 * its other arguments, and those) and returns their replies in order (a nil reply as false, so the list keeps
 * its length).
 */
export const RUN_BATCH_LUA = `local function run_batch(from)
  local out = {}
  local i = from
  while i <= #ARGV do
    local cmd, key, n = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
    local r
    if cmd == '${DEL_IF_EQUAL}' then
      r = 0
      if redis.call('get', key) == ARGV[i + 3] then r = redis.call('del', key) end
    else
      r = redis.call(cmd, key, unpack(ARGV, i + 3, i + 2 + n))
    end
    if r == nil then r = false end
    out[#out + 1] = r
    i = i + 3 + n
  end
  return out
end`;

/** The keys (each once, for KEYS) and the ARGV tail of a batch, as RUN_BATCH_LUA reads it. */
export function batchArgs(commands: readonly KeyCommand[]): { keys: string[]; argv: string[] } {
  const keys = new Set<string>();
  const argv: string[] = [];
  for (const [command, key, ...args] of commands) {
    keys.add(key);
    argv.push(command, key, String(args.length), ...args);
  }
  return { keys: [...keys], argv };
}

/** A flat `field, value, …` reply (HGETALL inside a script) as an object (without a prototype: any field is data). */
export function fieldsOf(reply: unknown): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  if (!Array.isArray(reply)) return out;
  for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = String(reply[i + 1]);
  return out;
}

/** A string reply, or undefined for nil (false inside a script). */
export const stringOf = (reply: unknown): string | undefined => (typeof reply === 'string' ? reply : undefined);

/** A Lua script, sent by its SHA1 (EVALSHA) and in full only when Redis does not have it yet. */
export class LuaScript {
  private readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** One round trip (two the first time a Redis node sees the script). */
  async run(redis: RedisClient, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
