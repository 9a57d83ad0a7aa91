import type { NetqKeys } from '../keys.js';
import { storedNetworkOk } from '../properties/validateProperty.js';
import type { KeyCommand } from './keyCommands.js';

/**
 * The networks netq attached an app's containers to on one host (hash `attached-on:<app>`, field = host), so
 * that a network no longer asked for is detached there, and only there, at the app's next rebuild on that host.
 * Read as the per-app job takes the app's lock and written with its network config (src/store/appJobStore.ts).
 */
export class AttachRecord {
  constructor(
    private readonly keys: NetqKeys,
    private readonly host: string,
    private readonly app: string,
  ) {}

  readCommand(): KeyCommand {
    return ['hget', this.keys.attachedOn(this.app), this.host];
  }

  /** The networks attached before; a record that is not a list of valid network names counts as none. */
  static parse(raw: string | undefined): string[] {
    if (!raw) return [];
    try {
      const v: unknown = JSON.parse(raw);
      return Array.isArray(v) ? v.filter((n): n is string => typeof n === 'string' && storedNetworkOk(n)) : [];
    } catch {
      return [];
    }
  }

  /** The write of the networks attached now; none when the record holds them already (none stored is none). */
  writeCommands(networks: string[], stored: string | undefined): KeyCommand[] {
    const value = JSON.stringify(networks);
    if (value === (stored ?? '[]')) return [];
    return [['hset', this.keys.attachedOn(this.app), this.host, value]];
  }
}
