import type { FixedFacts } from './fixedFacts.js';

/** About 200 bytes an entry: a host's containers, many times over, in a few MB. */
export const FIXED_FACTS_KEPT = 10_000;

/**
 * The fixed facts of containers (src/docker/fixedFacts.ts) by id, in the worker's memory: the most recently
 * used `capacity` are kept, and a container's entry is dropped when the engine destroys it. A fact kept here
 * can never be stale (a container id never names another container), so a rebuild that finds its containers
 * here needs the list call alone; one it does not find is inspected once and kept.
 */
export class FixedFactsCache {
  private readonly byId = new Map<string, FixedFacts>();

  constructor(readonly capacity: number = FIXED_FACTS_KEPT) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be at least 1: ${capacity}`);
  }

  /** The fixed facts of the container, if kept (it becomes the most recently used). */
  get(id: string): FixedFacts | undefined {
    const f = this.byId.get(id);
    if (f !== undefined) {
      this.byId.delete(id);
      this.byId.set(id, f);
    }
    return f;
  }

  /** Keeps them, dropping the least recently used entry when full. */
  set(id: string, facts: FixedFacts): void {
    this.byId.delete(id);
    this.byId.set(id, facts);
    if (this.byId.size > this.capacity) {
      const oldest = this.byId.keys().next().value;
      if (oldest !== undefined) this.byId.delete(oldest);
    }
  }

  /** The container is gone (its `destroy` event). */
  drop(id: string): void {
    this.byId.delete(id);
  }

  get size(): number {
    return this.byId.size;
  }
}
