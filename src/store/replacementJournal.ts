import { z } from 'zod';
import type { NetqKeys } from '../keys.js';
import type { RedisClient as Redis } from '../redis.js';
import { fieldsOf } from './keyCommands.js';

/**
 * The journal of replacements under way on one host: written before each step, so that a worker that
 * starts after a crash (SIGKILL at any step) can finish a replacement or roll it back, leaving exactly one
 * container per dyno. One Redis hash per host, field `<app>/<proc>.<index>`.
 */

export const journalEntrySchema = z.object({
  app: z.string(),
  proc: z.string(),
  index: z.number().int(),
  oldId: z.string(),
  /** the dyno's name, which the old container had and the new one takes */
  name: z.string(),
  tempName: z.string(),
  newId: z.string().optional(),
  /** the old container's retired name (Dokku mode: `<app>.<proc>.<n>.<epoch>`) */
  datedName: z.string().optional(),
  /**
   * creating: before the create call; started: the new one runs; switched: the dyno is the new one's
   * (Dokku mode: CONTAINER file written; else: the config points at it)
   */
  step: z.enum(['creating', 'created', 'started', 'switched']),
});
export type JournalEntry = z.infer<typeof journalEntrySchema>;

const field = (e: Pick<JournalEntry, 'app' | 'proc' | 'index'>) => `${e.app}/${e.proc}.${e.index}`;

/** The entries of a journal's fields (of one app, or of every app), and the fields that do not parse. */
function parseEntries(all: Record<string, string>, app?: string): { entries: JournalEntry[]; bad: string[] } {
  const entries: JournalEntry[] = [];
  const bad: string[] = [];
  for (const [f, raw] of Object.entries(all)) {
    if (app !== undefined && !f.startsWith(`${app}/`)) continue;
    let parsed: JournalEntry | undefined;
    try {
      const r = journalEntrySchema.safeParse(JSON.parse(raw));
      if (r.success) parsed = r.data;
    } catch {
      // not JSON
    }
    if (parsed && (app === undefined || parsed.app === app)) entries.push(parsed);
    else if (!parsed) bad.push(f);
  }
  return { entries, bad };
}

export class ReplacementJournal {
  /** one app's fields, read with its lock taken (readCommand), for the first `entries(app)` */
  private primed: { app: string; fields: Record<string, string> } | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly keys: NetqKeys,
    private readonly host: string,
  ) {}

  /**
   * Hands over the journal's HGETALL reply, read with the app's lock taken (src/store/appJobStart.ts): the next
   * `entries(app)` uses it instead of asking Redis.
   */
  prime(app: string, reply: unknown): this {
    this.primed = { app, fields: fieldsOf(reply) };
    return this;
  }

  async record(entry: JournalEntry): Promise<void> {
    await this.redis.hset(this.keys.replacing(this.host), field(entry), JSON.stringify(entry));
  }

  async drop(entry: Pick<JournalEntry, 'app' | 'proc' | 'index'>): Promise<void> {
    await this.redis.hdel(this.keys.replacing(this.host), field(entry));
  }

  /** Entries of one app (or of every app); an entry that does not parse is dropped (it cannot be acted on). */
  async entries(app?: string): Promise<JournalEntry[]> {
    const primed = this.primed !== undefined && this.primed.app === app ? this.primed.fields : undefined;
    this.primed = undefined;
    const all = primed ?? (await this.redis.hgetall(this.keys.replacing(this.host)));
    const { entries, bad } = parseEntries(all, app);
    if (bad.length > 0) await this.redis.hdel(this.keys.replacing(this.host), ...bad);
    return entries;
  }
}
