import { describe, expect, it } from 'vitest';
import { FixedFactsCache } from '../../src/docker/fixedFactsCache.js';
import { DockerUnreachableError } from '../../src/errors.js';
import { computeProperties } from '../../src/properties/properties.js';
import { selectLabelledDynos } from '../../src/selectDynos.js';
import { MemoryEngine } from '../support/memoryEngine.js';

// Which containers an app's dynos are without Dokku (src/selectDynos.ts, label mode), on the in-memory
// engine. Dokku mode reads Dokku's files: test/integration/dokkuMode.test.ts.

const APP = 'shop';
const PROPS = computeProperties({}, {});
const select = (engine: MemoryEngine, ids?: string[]) =>
  selectLabelledDynos({ docker: engine, facts: new FixedFactsCache(), inspectAll: false }, APP, PROPS, ids);
const summary = (sel: Awaited<ReturnType<typeof selectLabelledDynos>>) => ({
  dynos: sel.dynos.map((d) => `${d.proc}.${d.index}=${d.facts.name}`),
  failures: sel.failures.map((f) => f.container),
  ignored: sel.ignored.map((f) => `${f.container}: ${f.reason}`),
});

describe('selectLabelledDynos', () => {
  it("keeps one container per dyno: the running one, then the one with the dyno's name, then the last started", async () => {
    const engine = new MemoryEngine();
    engine.add({ app: APP, proc: 'web', index: 1, name: 'shop.web.1', running: false });
    engine.add({ app: APP, proc: 'web', index: 1, name: 'other-web', running: true });
    engine.add({ app: APP, proc: 'worker', index: 1, name: 'first' });
    engine.add({ app: APP, proc: 'worker', index: 1, name: 'second' });
    engine.add({ app: APP, proc: 'clock', index: 1, name: 'stray' });
    engine.add({ app: APP, proc: 'clock', index: 1, name: 'shop.clock.1' });
    // another app's, and one not deployed by Dokku: not the app's
    engine.add({ app: 'other', proc: 'web', index: 1 });
    engine.add({ name: 'shop.web.2', labels: { 'com.dokku.app-name': APP } });
    expect(summary(await select(engine))).toEqual({
      dynos: ['clock.1=shop.clock.1', 'web.1=other-web', 'worker.1=second'],
      failures: [],
      ignored: [
        'stray: shop.clock.1 is dyno clock.1',
        'shop.web.1: other-web is dyno web.1',
        'first: second is dyno worker.1',
      ],
    });
  });

  it("counts a dyno whose only container is stopped, and one whose process can't be told; skips netq's temporary ones", async () => {
    const engine = new MemoryEngine();
    engine.add({ app: APP, proc: 'web', index: 1, running: false });
    engine.add({ app: APP, proc: 'web', index: 2, name: 'mystery', dynoLabel: false });
    engine.add({ app: APP, proc: 'web', index: 3, name: 'shop.web.3.netq-0a1b2c' });
    // no dyno label: the name tells it
    engine.add({ app: APP, proc: 'worker', index: 4, dynoLabel: false });
    const sel = await select(engine);
    expect(summary(sel)).toEqual({
      dynos: ['worker.4=shop.worker.4'],
      failures: ['mystery', 'shop.web.1'],
      ignored: [],
    });
    expect(sel.failures.find((f) => f.container === 'shop.web.1')?.reason).toBe('container is created, not running');
    expect(sel.failures.find((f) => f.container === 'mystery')?.reason).toMatch(/cannot tell process type and index/);
  });

  it("lists the scan's ids by id instead of by label, and lists by label when one of them is gone", async () => {
    const engine = new MemoryEngine();
    const a = engine.add({ app: APP, proc: 'web', index: 1 });
    const b = engine.add({ app: APP, proc: 'web', index: 2 });
    const fresh = await select(engine, [a, b]);
    expect(summary(fresh).dynos).toEqual(['web.1=shop.web.1', 'web.2=shop.web.2']);
    expect(engine.count('listAppContainers')).toBe(0);
    expect(engine.count('listContainers')).toBe(1);

    await engine.removeContainer(b);
    const c = engine.add({ app: APP, proc: 'web', index: 2 });
    const stale = await select(engine, [a, b]);
    expect(engine.count('listAppContainers')).toBe(1);
    expect(stale.dynos.map((d) => d.facts.id)).toEqual([a, c]);
  });

  it('throws when the engine does not answer (nothing is counted from a selection it could not make)', async () => {
    const engine = new MemoryEngine();
    const a = engine.add({ app: APP });
    engine.before = (call) => {
      if (call === 'inspectContainer') engine.unreachable = true;
    };
    await expect(select(engine, [a])).rejects.toBeInstanceOf(DockerUnreachableError);
  });
});
