import { describe, expect, it } from 'vitest';
import { currentFacts } from '../../src/docker/currentFacts.js';
import { fixedFactsOf } from '../../src/docker/fixedFacts.js';
import { FixedFactsCache } from '../../src/docker/fixedFactsCache.js';
import { silentLogger } from '../../src/logger.js';
import type { ContainerFacts } from '../../src/types.js';
import { DockerEventWatcher } from '../../workers/eventWatcher.js';
import { MemoryEngine } from '../support/memoryEngine.js';

// The fixed facts of containers kept by id in the worker (src/docker/fixedFactsCache.ts) and the read that uses
// them (src/docker/currentFacts.ts), on the in-memory engine: a warm read is one list call and no inspect, what
// can change always comes from the list, a destroyed container is forgotten, and the cache stays bounded. That
// the real engine's list call carries what is taken from it: test/integration/listedFacts.test.ts.

/** The facts an inspect gives, but the two the list call does not carry. */
const listable = ({ aliases: _a, startedAt: _s, ...rest }: ContainerFacts) => rest;

describe('currentFacts with the fixed facts cache', () => {
  it('inspects a container once: later reads are one list call, and give what an inspect gives', async () => {
    const engine = new MemoryEngine();
    const web = engine.add({ app: 'shop', proc: 'web', portEnv: '5000', publishAll: true, exposed: [5000, 6000] });
    const worker = engine.add({ app: 'shop', proc: 'worker', fixedPorts: { 22: 2222 } });
    const cache = new FixedFactsCache();

    const cold = await currentFacts(engine, cache, [web, worker]);
    expect(engine.count('inspectContainer')).toBe(2);
    expect(cache.size).toBe(2);
    expect(cold).toEqual([engine.facts(web), engine.facts(worker)]);

    const warm = await currentFacts(engine, cache, [web, worker]);
    expect(engine.count('inspectContainer')).toBe(2);
    expect(engine.count('listContainers')).toBe(2);
    expect(warm.map((f) => f && listable(f))).toEqual(
      [web, worker].map((id) => listable(engine.facts(id) as ContainerFacts)),
    );
    expect(warm[0]).toMatchObject({ portEnv: '5000', exposedTcpPorts: [5000, 6000], aliases: {}, startedAt: '' });
    expect(warm[1]).toMatchObject({ fixedPorts: [22], published: [{ port: 22, hostIp: '127.0.0.1', hostPort: 2222 }] });
  });

  it('takes what can change from the list: a new address, host ports, state and name, without an inspect', async () => {
    const engine = new MemoryEngine();
    const id = engine.add({ app: 'shop', proc: 'web', publishAll: true });
    const cache = new FixedFactsCache();
    const [before] = await currentFacts(engine, cache, [id]);
    const inspects = engine.count('inspectContainer');

    engine.exit(id);
    const [stopped] = await currentFacts(engine, cache, [id]);
    expect(stopped).toMatchObject({ running: false, state: 'exited', networks: { bridge: '' }, published: [] });

    await engine.startContainer(id);
    await engine.renameContainer(id, 'shop.web.1.renamed');
    const [after] = await currentFacts(engine, cache, [id]);
    expect(engine.count('inspectContainer')).toBe(inspects);
    expect(after).toMatchObject({ running: true, state: 'running', name: 'shop.web.1.renamed' });
    expect(after?.networks.bridge).not.toBe(before?.networks.bridge);
    expect(after?.networks).toEqual(engine.facts(id)?.networks);
    expect(after?.published).toEqual(engine.facts(id)?.published);
    expect(after?.published[0]?.hostPort).not.toBe(before?.published[0]?.hostPort);
  });

  it('inspects a container the caller needs the aliases of, one the list does not show, and one not named by its id', async () => {
    const engine = new MemoryEngine();
    engine.addNetwork('backend');
    const attached = engine.add({ app: 'shop', proc: 'web', networks: { backend: ['shop.web'] } });
    const plain = engine.add({ app: 'shop', proc: 'worker' });
    const cache = new FixedFactsCache();
    await currentFacts(engine, cache, [attached, plain]);
    const inspects = engine.count('inspectContainer');

    const onBackend = (l: { networks: Record<string, string> }) => l.networks.backend !== undefined;
    const [withAliases, without] = await currentFacts(engine, cache, [attached, plain], { inspect: onBackend });
    expect(engine.count('inspectContainer')).toBe(inspects + 1);
    expect(withAliases?.aliases.backend).toContain('shop.web');
    expect(without?.aliases).toEqual({});

    await engine.removeContainer(plain);
    const [gone] = await currentFacts(engine, cache, [plain]);
    expect(gone).toBeUndefined();
    expect(engine.count('inspectContainer')).toBe(inspects + 2);

    const [byName] = await currentFacts(engine, cache, ['shop.web.1']);
    expect(byName?.id).toBe(attached);
    expect(engine.count('inspectContainer')).toBe(inspects + 3);
  });

  it('inspects every container, and lists none, when asked to inspect all (a job that answers an event)', async () => {
    const engine = new MemoryEngine();
    const ids = [engine.add({ app: 'shop', proc: 'web' }), engine.add({ app: 'shop', proc: 'worker' })];
    const cache = new FixedFactsCache();
    await currentFacts(engine, cache, ids);
    const [lists, inspects] = [engine.count('listContainers'), engine.count('inspectContainer')];
    const fresh = await currentFacts(engine, cache, ids, { inspect: 'all' });
    expect(engine.count('listContainers')).toBe(lists);
    expect(engine.count('inspectContainer')).toBe(inspects + 2);
    expect(fresh).toEqual(ids.map((id) => engine.facts(id)));
  });

  it('throws when the engine does not answer the list call: nothing is taken from the cache alone', async () => {
    const engine = new MemoryEngine();
    const id = engine.add({ app: 'shop' });
    const cache = new FixedFactsCache();
    await currentFacts(engine, cache, [id]);
    engine.unreachable = true;
    await expect(currentFacts(engine, cache, [id])).rejects.toThrow(/unreachable during listContainers/);
  });
});

describe('FixedFactsCache', () => {
  const fixed = (hostname: string) => ({ exposedTcpPorts: [5000], fixedPorts: [], hostname });

  it('keeps at most its capacity, dropping the least recently used', () => {
    const cache = new FixedFactsCache(3);
    for (const id of ['a', 'b', 'c']) cache.set(id, fixed(id));
    expect(cache.get('a')?.hostname).toBe('a'); // a is now the most recently used
    cache.set('d', fixed('d'));
    expect(cache.size).toBe(3);
    expect(cache.get('b')).toBeUndefined();
    expect(['a', 'c', 'd'].map((id) => cache.get(id)?.hostname)).toEqual(['a', 'c', 'd']);
    for (let i = 0; i < 100; i++) cache.set(`x${i}`, fixed(`x${i}`));
    expect(cache.size).toBe(3);
    expect(() => new FixedFactsCache(0)).toThrow(RangeError);
  });

  it('forgets a container the engine destroyed, as the event watcher reports it', async () => {
    const engine = new MemoryEngine();
    const gone = engine.add({ app: 'shop', proc: 'web' });
    const kept = engine.add({ app: 'shop', proc: 'worker' });
    const stranger = engine.add({ name: 'not-an-app' });
    const cache = new FixedFactsCache();
    for (const id of [gone, kept, stranger]) cache.set(id, fixedFactsOf(engine.facts(id) as ContainerFacts));
    const watcher = new DockerEventWatcher({
      docker: engine,
      logger: silentLogger(),
      scopeLabel: undefined,
      onApp: async () => {},
      onConnect: async () => {},
      onDestroy: (id) => cache.drop(id),
    });
    watcher.start();
    try {
      const deadline = Date.now() + 5_000;
      while (watcher.health().state !== 'connected') {
        if (Date.now() > deadline) throw new Error('the watcher did not connect');
        await new Promise((r) => setTimeout(r, 5));
      }
      await engine.removeContainer(gone);
      await engine.removeContainer(stranger);
      while (cache.get(gone) !== undefined || cache.get(stranger) !== undefined) {
        if (Date.now() > deadline) throw new Error('the destroyed containers were not forgotten');
        await new Promise((r) => setTimeout(r, 5));
      }
      expect(cache.get(kept)).toBeDefined();
      expect(cache.size).toBe(1);
    } finally {
      watcher.stop();
    }
  });
});
