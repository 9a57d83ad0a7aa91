import { describe, expect, it } from 'vitest';
import { DockerUnreachableError, LockLostError, RedisUnreachableError } from '../../src/errors.js';
import { type ReplaceDeps, recoverReplacements, replaceDyno, settleReplacements } from '../../src/replaceDyno.js';
import type { Dyno } from '../../src/selectDynos.js';
import type { JournalEntry } from '../../src/store/replacementJournal.js';
import { type MemoryContainerSpec, MemoryEngine } from '../support/memoryEngine.js';
import { MemoryFailures, MemoryJournal } from '../support/memoryStores.js';

// A journalled replacement (src/replaceDyno.ts) outside Dokku mode, on the in-memory engine and an
// in-memory journal: what is counted as the dyno's failure (with its backoff), what is thrown for the job to
// be retried, and how a journal a killed worker left is settled. Dokku mode's books and the real engine are
// test/integration/dokkuReplace.test.ts and properties.test.ts.

const APP = 'shop';
const PUBLISH = { publishAll: true };

function setup(spec: MemoryContainerSpec = {}) {
  const engine = new MemoryEngine();
  const id = engine.add({ app: APP, ...spec });
  const facts = engine.facts(id);
  if (!facts) throw new Error('no such container');
  const dyno: Dyno = { proc: 'web', index: 1, facts };
  let now = 1_000_000;
  const journal = new MemoryJournal();
  const failures = new MemoryFailures();
  // the app's lock, as AppLock.verify answers: held until a test takes it away
  const lock = { held: true };
  const deps: ReplaceDeps = {
    docker: engine,
    journal,
    failures,
    dokku: undefined,
    now: () => now,
    verifyLock: async () => {
      if (!lock.held) throw new LockLostError('lost the lock of the app to another holder');
    },
  };
  return {
    engine,
    lock,
    dyno,
    journal,
    failures,
    deps,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('replaceDyno', () => {
  it('journals each step and hands back the running replacement, pending until the config points at it', async () => {
    const t = setup();
    const r = await replaceDyno(t.deps, APP, t.dyno, PUBLISH);
    expect(r.failure).toBeUndefined();
    expect(r.facts).toMatchObject({ name: 'shop.web.1', running: true });
    expect(r.facts.id).not.toBe(t.dyno.facts.id);
    expect(r.facts.published.map((p) => p.port)).toEqual([5000]);
    expect(t.journal.history.map((e) => e.step)).toEqual(['creating', 'created', 'started']);
    expect(r.pending?.entry).toMatchObject({ oldId: t.dyno.facts.id, newId: r.facts.id, step: 'started' });
    // both run until the replacement is settled
    expect(t.engine.names()).toEqual(['shop.web.1', r.pending?.entry.tempName].sort());
  });

  it('counts a replacement that does not keep running, with a backoff of 10 s doubling, and no loop', async () => {
    const t = setup({ replacementExits: true });
    const first = await replaceDyno(t.deps, APP, t.dyno, PUBLISH);
    expect(first).toMatchObject({ facts: t.dyno.facts, retryInMs: 10_000 });
    expect(first.failure).toMatch(/replacement failed 1 time\(s\).*next try in 10 s$/);
    expect(t.journal.byDyno.size).toBe(0);
    expect(t.engine.names()).toEqual(['shop.web.1']);

    // within the backoff: not tried again
    t.advance(4_000);
    const calls = t.engine.count('replaceContainer');
    const waiting = await replaceDyno(t.deps, APP, t.dyno, PUBLISH);
    expect(t.engine.count('replaceContainer')).toBe(calls);
    expect(waiting).toMatchObject({ retryInMs: 6_000 });
    expect(waiting.failure).toMatch(/replacement failed 1 time\(s\).*next try in 6 s$/);

    // after it: tried again, and the next wait doubles
    t.advance(6_000);
    const second = await replaceDyno(t.deps, APP, t.dyno, PUBLISH);
    expect(t.engine.count('replaceContainer')).toBe(calls + 1);
    expect(second).toMatchObject({ retryInMs: 20_000 });
    // another change of the same container is another record
    expect(await t.failures.get(t.dyno.facts.id, JSON.stringify({ networkMode: 'private' }))).toBeUndefined();
  });

  it("counts the engine's refusal to make the replacement (an error status)", async () => {
    const t = setup();
    t.engine.add({ name: 'squatter' });
    t.engine.before = async (call, args) => {
      // the temporary name is taken by the time the replacement is made
      if (call === 'replaceContainer') await t.engine.renameContainer('squatter', String(args[2]));
    };
    const r = await replaceDyno(t.deps, APP, t.dyno, PUBLISH);
    expect(r.failure).toMatch(/last: \(HTTP code 409\) the container name .* is already in use\)/);
    expect(t.journal.byDyno.size).toBe(0);
  });

  it('counts a replacement that stopped right after it started', async () => {
    const t = setup();
    t.engine.before = (call, args) => {
      const id = String(args[0]);
      if (call === 'inspectContainer' && id !== t.dyno.facts.id) t.engine.exit(id);
    };
    const r = await replaceDyno(t.deps, APP, t.dyno, PUBLISH);
    expect(r.failure).toMatch(/last: the replacement stopped right after it started\)/);
    expect(t.engine.names()).toEqual(['shop.web.1']);
  });

  it('throws, counting nothing, when the engine stops answering; the journal entry is left for the next attempt', async () => {
    const t = setup();
    t.engine.before = (call) => {
      if (call === 'replaceContainer') t.engine.unreachable = true;
    };
    await expect(replaceDyno(t.deps, APP, t.dyno, PUBLISH)).rejects.toBeInstanceOf(DockerUnreachableError);
    expect(t.failures.byContainer.size).toBe(0);
    expect([...t.journal.byDyno.values()].map((e) => e.step)).toEqual(['creating']);
  });

  it('throws, counting nothing, when the journal cannot be written (Redis), and leaves no new container', async () => {
    const t = setup();
    const record = t.journal.record.bind(t.journal);
    t.journal.record = async (e: JournalEntry) => {
      if (e.step === 'created') throw new RedisUnreachableError('Redis did not answer');
      await record(e);
    };
    await expect(replaceDyno(t.deps, APP, t.dyno, PUBLISH)).rejects.toBeInstanceOf(RedisUnreachableError);
    expect(t.failures.byContainer.size).toBe(0);
    expect(t.engine.names()).toEqual(['shop.web.1']);
  });
});

describe('recoverReplacements', () => {
  it('rolls back a replacement that was not switched and finishes one that was', async () => {
    for (const step of ['started', 'switched'] as const) {
      const t = setup();
      const r = await replaceDyno(t.deps, APP, t.dyno, PUBLISH);
      const entry = r.pending?.entry;
      if (!entry) throw new Error('no replacement');
      await t.journal.record({ ...entry, step });
      // (a worker killed here)
      expect(await recoverReplacements(t.deps, APP)).toBe(1);
      expect(t.journal.byDyno.size).toBe(0);
      expect(t.engine.names()).toEqual(['shop.web.1']);
      const serving = t.engine.facts('shop.web.1');
      expect(serving?.running).toBe(true);
      expect(serving?.id).toBe(step === 'started' ? t.dyno.facts.id : entry.newId);
    }
  });

  it('settles nothing once the app lock is lost: the journal stays for the new holder', async () => {
    const t = setup();
    const r = await replaceDyno(t.deps, APP, t.dyno, PUBLISH);
    const entry = r.pending?.entry;
    if (!entry) throw new Error('no replacement');
    const before = t.engine.names();
    t.lock.held = false;
    await expect(recoverReplacements(t.deps, APP)).rejects.toBeInstanceOf(LockLostError);
    expect(t.journal.byDyno.size).toBe(1);
    expect(t.engine.names()).toEqual(before);
  });
});

describe('settleReplacements', () => {
  it('retires the old container once the config is written, while the lock is held', async () => {
    const t = setup();
    const r = await replaceDyno(t.deps, APP, t.dyno, PUBLISH);
    if (!r.pending) throw new Error('no replacement');
    await settleReplacements(t.deps, [r.pending], true, 0);
    expect(t.journal.byDyno.size).toBe(0);
    expect(t.engine.names()).toEqual(['shop.web.1']);
    expect(t.engine.facts('shop.web.1')?.id).toBe(r.pending.entry.newId);
  });

  it('retires nothing once the app lock is lost: the journal stays for the new holder', async () => {
    const t = setup();
    const r = await replaceDyno(t.deps, APP, t.dyno, PUBLISH);
    if (!r.pending) throw new Error('no replacement');
    const before = t.engine.names();
    t.lock.held = false;
    await expect(settleReplacements(t.deps, [r.pending], true, 0)).rejects.toBeInstanceOf(LockLostError);
    expect(t.journal.byDyno.size).toBe(1);
    expect(t.engine.names()).toEqual(before);
  });

  it('abandons its own replacement that never switched, lock or not: the old container serves again', async () => {
    const t = setup();
    const r = await replaceDyno(t.deps, APP, t.dyno, PUBLISH);
    if (!r.pending) throw new Error('no replacement');
    t.lock.held = false;
    await settleReplacements(t.deps, [r.pending], false, 0);
    expect(t.journal.byDyno.size).toBe(0);
    expect(t.engine.names()).toEqual(['shop.web.1']);
    expect(t.engine.facts('shop.web.1')?.id).toBe(t.dyno.facts.id);
  });
});
