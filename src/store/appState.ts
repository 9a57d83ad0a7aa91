import { randomBytes } from 'node:crypto';
import { AppBusyError, BadInputError } from '../errors.js';
import type { NetqKeys } from '../keys.js';
import { GLOBAL_SCOPE } from '../properties/properties.js';
import type { RedisClient as Redis } from '../redis.js';
import { AppLock } from './appLock.js';

/** How long forgetting or renaming an app waits for a rebuild of it that holds its lock. */
const LOCK_WAIT_MS = 30_000;

/** Runs fn holding the locks of the apps (taken in name order, so two callers cannot deadlock). */
async function withAppLocks<T>(redis: Redis, keys: NetqKeys, apps: string[], fn: () => Promise<T>): Promise<T> {
  const token = `app-state:${randomBytes(6).toString('hex')}`;
  const held: AppLock[] = [];
  try {
    for (const app of [...new Set(apps)].sort()) {
      const lock = new AppLock(redis, keys.appLock(app), token);
      const deadline = Date.now() + LOCK_WAIT_MS;
      while (!(await lock.acquire())) {
        if (Date.now() > deadline) {
          throw new AppBusyError(
            `app ${app} is being rebuilt: its lock was not free within ${LOCK_WAIT_MS / 1000} s; try again`,
          );
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      held.push(lock);
    }
    return await fn();
  } finally {
    for (const lock of held) await lock.release().catch(() => {});
  }
}

/** Adds to tx the deletion of everything netq stores of an app (Dokku's post-delete). */
async function queueForget(redis: Redis, keys: NetqKeys, app: string, tx: ReturnType<Redis['multi']>) {
  const fields = (await redis.hkeys(keys.netconfig)).filter((f) => f.slice(0, f.lastIndexOf('/')) === app);
  if (fields.length > 0) tx.hdel(keys.netconfig, ...fields);
  tx.del(keys.props(app), keys.appHosts(app), keys.attached(app), keys.attachedOn(app));
  tx.srem(keys.propScopes, app);
}

/**
 * Forgets an app that Dokku deleted: its properties, stored network config, where it lived and which
 * networks netq attached for it, in one transaction, under the app's lock (a rebuild of it that runs
 * later finds no containers and stores nothing). Returns whether anything was stored.
 */
export async function forgetApp(redis: Redis, keys: NetqKeys, app: string): Promise<boolean> {
  if (app === GLOBAL_SCOPE) throw new BadInputError('the global scope is not an app');
  return withAppLocks(redis, keys, [app], async () => {
    const tx = redis.multi();
    await queueForget(redis, keys, app, tx);
    const res = await tx.exec();
    return (res ?? []).some(([, n]) => typeof n === 'number' && n > 0);
  });
}

/**
 * Moves an app's properties to its new name, as Dokku's rename does (clone, then destroy the old), and
 * forgets the old name. The new app's network config comes from its next rebuild. Returns the number of
 * properties moved.
 */
export async function renameApp(redis: Redis, keys: NetqKeys, from: string, to: string): Promise<number> {
  return withAppLocks(redis, keys, [from, to], async () => {
    const props = await redis.hgetall(keys.props(from));
    const tx = redis.multi();
    tx.del(keys.props(to));
    if (Object.keys(props).length > 0) {
      tx.hset(keys.props(to), props);
      tx.sadd(keys.propScopes, to);
    }
    await queueForget(redis, keys, from, tx);
    await tx.exec();
    return Object.keys(props).length;
  });
}
