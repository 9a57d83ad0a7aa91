import type { NetqKeys } from '../keys.js';
import { storedNetworkOk } from '../properties/validateProperty.js';
import type { RedisClient } from '../redis.js';

/**
 * The networks netq attached an app's containers to on one host (hash `attached-on:<app>`, field = host), so
 * that a network no longer asked for is detached there, and only there, at the app's next rebuild on that host.
 */
export class AttachRecord {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: NetqKeys,
    private readonly host: string,
    private readonly app: string,
  ) {}

  /** The networks attached before; a record that is not a list of valid network names counts as none. */
  async read(): Promise<string[]> {
    const raw = await this.redis.hget(this.keys.attachedOn(this.app), this.host);
    if (!raw) return [];
    try {
      const v: unknown = JSON.parse(raw);
      return Array.isArray(v) ? v.filter((n): n is string => typeof n === 'string' && storedNetworkOk(n)) : [];
    } catch {
      return [];
    }
  }

  async write(networks: string[]): Promise<void> {
    await this.redis.hset(this.keys.attachedOn(this.app), this.host, JSON.stringify(networks));
  }
}
