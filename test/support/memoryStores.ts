import type { ReplaceDeps } from '../../src/replaceDyno.js';
import { FIRST_RETRY_MS, MAX_RETRY_MS, type ReplaceFailure } from '../../src/store/replacementFailures.js';
import type { JournalEntry } from '../../src/store/replacementJournal.js';

// The replacement journal and failure records (src/store/replacementJournal.ts, replacementFailures.ts) in
// memory, for unit tests of src/replaceDyno.ts with the in-memory engine: the same contract (one entry per
// dyno, a failure record per container and change with the same backoff), no Redis.

type Journal = ReplaceDeps['journal'];
type Failures = ReplaceDeps['failures'];

const dynoKey = (e: Pick<JournalEntry, 'app' | 'proc' | 'index'>) => `${e.app}/${e.proc}.${e.index}`;

export class MemoryJournal implements Journal {
  readonly byDyno = new Map<string, JournalEntry>();
  /** every entry recorded, in order (the steps a replacement went through) */
  readonly history: JournalEntry[] = [];

  async record(entry: JournalEntry): Promise<void> {
    this.byDyno.set(dynoKey(entry), entry);
    this.history.push(entry);
  }

  async drop(entry: Pick<JournalEntry, 'app' | 'proc' | 'index'>): Promise<void> {
    this.byDyno.delete(dynoKey(entry));
  }

  async entries(app?: string): Promise<JournalEntry[]> {
    return [...this.byDyno.values()].filter((e) => app === undefined || e.app === app);
  }
}

export class MemoryFailures implements Failures {
  readonly byContainer = new Map<string, ReplaceFailure>();

  async get(containerId: string, change: string): Promise<ReplaceFailure | undefined> {
    const rec = this.byContainer.get(containerId);
    return rec?.change === change ? rec : undefined;
  }

  async failed(containerId: string, change: string, reason: string, now: number): Promise<ReplaceFailure> {
    const attempts = ((await this.get(containerId, change))?.attempts ?? 0) + 1;
    const rec = {
      change,
      attempts,
      nextAt: now + Math.min(FIRST_RETRY_MS * 2 ** (attempts - 1), MAX_RETRY_MS),
      reason,
    };
    this.byContainer.set(containerId, rec);
    return rec;
  }

  async forget(containerId: string): Promise<void> {
    this.byContainer.delete(containerId);
  }
}
