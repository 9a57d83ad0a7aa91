import { describe, expect, it } from 'vitest';
import { attachPlan, type BindDeps, bindDynos, replacementPlan } from '../../src/bindDynos.js';
import { DockerUnreachableError, LockLostError } from '../../src/errors.js';
import { computeProperties, type RawProperties } from '../../src/properties/properties.js';
import { replaceDyno } from '../../src/replaceDyno.js';
import type { Dyno } from '../../src/selectDynos.js';
import { captureLogger } from '../support/captureLogger.js';
import { type MemoryContainerSpec, MemoryEngine } from '../support/memoryEngine.js';
import { MemoryFailures, MemoryJournal } from '../support/memoryStores.js';

// The per-app job's binding decisions and their application (src/bindDynos.ts), on the in-memory engine:
// which networks a dyno joins and leaves, when a new container is needed, and which errors count as the
// container's failure and which are thrown for the job to be retried.

const APP = 'shop';
const props = (raw: RawProperties = {}) => computeProperties(raw, {});

function setup(specs: MemoryContainerSpec[], opts: { replace?: 'auto' | 'never'; networks?: string[] } = {}) {
  const engine = new MemoryEngine();
  for (const n of opts.networks ?? []) engine.addNetwork(n);
  const ids = specs.map((s) => engine.add({ app: APP, ...s }));
  const dynos: Dyno[] = ids.map((id, i) => {
    const facts = engine.facts(id);
    if (!facts) throw new Error('no such container');
    return { proc: specs[i]?.proc ?? 'web', index: specs[i]?.index ?? 1, facts };
  });
  const journal = new MemoryJournal();
  const failures = new MemoryFailures();
  const { logger, lines } = captureLogger();
  const replaced: string[] = [];
  // the app's lock, as AppLock.verify answers: held until a test takes it away
  const lock = { held: true, checks: 0 };
  const deps: BindDeps = {
    docker: engine,
    replace: opts.replace ?? 'auto',
    replaceDyno: async (dyno, change) => {
      replaced.push(`${dyno.proc}.${dyno.index}`);
      const r = await replaceDyno(
        {
          docker: engine,
          journal,
          failures,
          dokku: undefined,
          now: () => 0,
          log: logger,
          verifyLock: () => deps.verifyLock(),
        },
        APP,
        dyno,
        change,
      );
      // as rebuildApp does once the config is written: the old container retires, the new one takes its name
      if (r.pending) await r.pending.replacement.retire();
      return r;
    },
    log: logger,
    verifyLock: async () => {
      lock.checks++;
      if (!lock.held) throw new LockLostError('lost the lock of the app to another holder');
    },
  };
  return { engine, dynos, deps, journal, failures, lines, replaced, lock };
}

describe('replacementPlan', () => {
  const dyno = (spec: MemoryContainerSpec): Dyno => {
    const engine = new MemoryEngine();
    engine.addNetwork('private');
    const facts = engine.facts(engine.add({ app: APP, ...spec }));
    if (!facts) throw new Error('no such container');
    return { proc: spec.proc ?? 'web', index: 1, facts };
  };

  it('asks for a new container when bind-all-interfaces or the initial network drifted, and only then', () => {
    expect(replacementPlan(dyno({}), props(), 'auto')).toEqual({ kind: 'keep' });
    expect(replacementPlan(dyno({}), props({ 'bind-all-interfaces': 'true' }), 'auto')).toEqual({
      kind: 'replace',
      change: { publishAll: true },
    });
    expect(replacementPlan(dyno({ publishAll: true }), props(), 'auto')).toEqual({
      kind: 'replace',
      change: { publishAll: false },
    });
    expect(replacementPlan(dyno({ publishAll: true }), props({ 'bind-all-interfaces': 'true' }), 'auto')).toEqual({
      kind: 'keep',
    });
    expect(replacementPlan(dyno({}), props({ 'initial-network': 'private' }), 'auto')).toEqual({
      kind: 'replace',
      change: { networkMode: 'private' },
    });
    // `default` is the bridge: no drift
    expect(replacementPlan(dyno({ networkMode: 'default' }), props(), 'auto')).toEqual({ kind: 'keep' });
  });

  it('publishes only web ports, and never touches fixed host ports, host or none network mode', () => {
    const all = props({ 'bind-all-interfaces': 'true' });
    expect(replacementPlan(dyno({ proc: 'worker' }), all, 'auto')).toEqual({ kind: 'keep' });
    expect(replacementPlan(dyno({ exposed: [], fixedPorts: { 22: 2222 } }), all, 'auto')).toEqual({ kind: 'keep' });
    expect(replacementPlan(dyno({ exposed: [], fixedPorts: { 22: 2222 } }), props(), 'auto')).toEqual({
      kind: 'keep',
    });
    expect(replacementPlan(dyno({ networkMode: 'host' }), all, 'auto')).toEqual({ kind: 'keep' });
    expect(replacementPlan(dyno({ networkMode: 'none' }), props({ 'initial-network': 'private' }), 'auto')).toEqual({
      kind: 'keep',
    });
  });

  it('leaves a web dyno with a static listener alone, and refuses a drift with NETQ_REPLACE=never', () => {
    const staticWeb = props({ 'static-web-listener': '10.0.0.1:80', 'bind-all-interfaces': 'true' });
    expect(replacementPlan(dyno({}), staticWeb, 'auto')).toEqual({ kind: 'static' });
    expect(replacementPlan(dyno({ proc: 'worker' }), staticWeb, 'auto')).toEqual({ kind: 'keep' });
    expect(replacementPlan(dyno({}), props({ 'bind-all-interfaces': 'true' }), 'never')).toEqual({
      kind: 'refused',
      reason: 'ports should be published (NETQ_REPLACE=never)',
    });
  });
});

describe('attachPlan', () => {
  it('joins the attach networks with both aliases, rejoins one missing an alias, and leaves what netq attached before', () => {
    const engine = new MemoryEngine();
    for (const n of ['front', 'back', 'old', 'theirs']) engine.addNetwork(n);
    const id = engine.add({ app: APP, networks: { back: ['shop.web'], old: [], theirs: [] } });
    const f = engine.facts(id);
    if (!f) throw new Error('no such container');
    const plan = attachPlan(
      f,
      APP,
      'web',
      props({ 'attach-post-create': 'front', 'attach-post-deploy': 'back front', tld: 'svc' }),
      ['old', 'gone', 'front'],
    );
    const aliases = ['shop.web.svc', `${f.hostname}.shop.web.svc`];
    expect(plan).toEqual({
      connect: [
        { network: 'front', aliases, reconnect: false },
        { network: 'back', aliases, reconnect: true },
      ],
      // `theirs` was not attached by netq, `gone` is no network it is on: both left alone
      disconnect: ['old'],
    });
    // once attached with both aliases, nothing more to do
    const done = { ...f, aliases: { ...f.aliases, front: aliases, back: aliases } };
    expect(attachPlan(done, APP, 'web', props({ 'attach-post-deploy': 'back front', tld: 'svc' }), [])).toEqual({
      connect: [],
      disconnect: [],
    });
  });
});

describe('bindDynos', () => {
  it('attaches every dyno with its aliases and detaches the networks no longer asked for', async () => {
    const t = setup(
      [
        { proc: 'web', index: 1, networks: { old: [] } },
        { proc: 'worker', index: 1 },
      ],
      { networks: ['front', 'old'] },
    );
    const bound = await bindDynos(t.deps, APP, t.dynos, props({ 'attach-post-deploy': 'front' }), ['old']);
    expect(bound.map((b) => b.bindingFailure)).toEqual([undefined, undefined]);
    const web = t.engine.facts('shop.web.1');
    const worker = t.engine.facts('shop.worker.1');
    expect(Object.keys(web?.networks ?? {}).sort()).toEqual(['bridge', 'front']);
    expect(web?.aliases.front).toEqual(expect.arrayContaining(['shop.web', `${web?.hostname}.shop.web`]));
    expect(worker?.aliases.front).toEqual(expect.arrayContaining(['shop.worker', `${worker?.hostname}.shop.worker`]));
    expect(t.replaced).toEqual([]);
    // a second pass changes nothing: no call but the ones that read
    const before = t.engine.calls.length;
    const again = t.dynos.map((d) => ({ ...d, facts: t.engine.facts(d.facts.id) ?? d.facts }));
    await bindDynos(t.deps, APP, again, props({ 'attach-post-deploy': 'front' }), ['front']);
    expect(t.engine.calls.slice(before)).toEqual([]);
  });

  it('replaces a drifted dyno, then attaches its new container', async () => {
    const t = setup([{ proc: 'web', index: 1 }], { networks: ['front'] });
    const oldId = t.dynos[0]?.facts.id;
    const [b] = await bindDynos(
      t.deps,
      APP,
      t.dynos,
      props({ 'bind-all-interfaces': 'true', 'attach-post-deploy': 'front' }),
      [],
    );
    expect(t.replaced).toEqual(['web.1']);
    expect(b?.bindingFailure).toBeUndefined();
    expect(b?.dyno.facts.id).not.toBe(oldId);
    const now = t.engine.facts('shop.web.1');
    expect(now?.id).toBe(b?.dyno.facts.id);
    expect(now?.published.map((p) => [p.port, p.hostIp])).toEqual([[5000, '0.0.0.0']]);
    expect(Object.keys(now?.networks ?? {}).sort()).toEqual(['bridge', 'front']);
    expect(t.engine.facts(oldId ?? '')).toBeUndefined();
  });

  it('counts a drift refused by NETQ_REPLACE=never and a static web dyno is not touched', async () => {
    const t = setup(
      [
        { proc: 'web', index: 1 },
        { proc: 'worker', index: 1, networkMode: 'bridge' },
      ],
      { replace: 'never', networks: ['front', 'private'] },
    );
    const bound = await bindDynos(
      t.deps,
      APP,
      t.dynos,
      props({ 'static-web-listener': '10.0.0.1:80', 'initial-network': 'private', 'attach-post-deploy': 'front' }),
      [],
    );
    expect(bound.map((b) => b.bindingFailure)).toEqual([
      undefined,
      'initial network should be private (NETQ_REPLACE=never)',
    ]);
    expect(t.replaced).toEqual([]);
    // the static web dyno joins nothing; the worker is still attached
    expect(Object.keys(t.engine.facts('shop.web.1')?.networks ?? {})).toEqual(['bridge']);
    expect(Object.keys(t.engine.facts('shop.worker.1')?.networks ?? {}).sort()).toEqual(['bridge', 'front']);
  });

  it("counts the engine's refusal (a network that does not exist) as that dyno's failure, logged with its error", async () => {
    const t = setup([{ proc: 'web', index: 1 }], { networks: ['front'] });
    const [b] = await bindDynos(t.deps, APP, t.dynos, props({ 'attach-post-deploy': 'missing front' }), []);
    expect(b?.bindingFailure).toBe('cannot attach to missing: (HTTP code 404) network missing not found');
    // the other network was still attached
    expect(Object.keys(t.engine.facts('shop.web.1')?.networks ?? {}).sort()).toEqual(['bridge', 'front']);
    const warn = t.lines.find((l) => l.msg === "cannot attach to missing: counted as the container's failure");
    expect(warn).toMatchObject({ container: 'shop.web.1', err: { statusCode: 404 } });
    expect(String((warn?.err as { stack?: string } | undefined)?.stack)).toMatch(/network missing not found\n\s+at /);
  });

  it('throws, without counting, when the engine stops answering between the inspect and the attach', async () => {
    const t = setup(
      [
        { proc: 'web', index: 1 },
        { proc: 'web', index: 2 },
      ],
      { networks: ['front'] },
    );
    t.engine.before = (call) => {
      if (call === 'connect' && t.engine.count('connect') === 2) t.engine.unreachable = true;
    };
    const err = await bindDynos(t.deps, APP, t.dynos, props({ 'attach-post-deploy': 'front' }), []).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DockerUnreachableError);
    expect(t.lines).toEqual([]);
  });

  it('throws when the engine stops answering while a detach or a replacement runs', async () => {
    const detach = setup([{ proc: 'web', index: 1, networks: { old: [] } }], { networks: ['old'] });
    detach.engine.unreachable = true;
    await expect(bindDynos(detach.deps, APP, detach.dynos, props(), ['old'])).rejects.toBeInstanceOf(
      DockerUnreachableError,
    );

    const replace = setup([{ proc: 'web', index: 1 }]);
    replace.engine.before = (call) => {
      if (call === 'replaceContainer') replace.engine.unreachable = true;
    };
    await expect(
      bindDynos(replace.deps, APP, replace.dynos, props({ 'bind-all-interfaces': 'true' }), []),
    ).rejects.toBeInstanceOf(DockerUnreachableError);
    // nothing counted: no failure record (no backoff), and the journal entry stays for the next attempt to settle
    expect(replace.failures.byContainer.size).toBe(0);
    expect([...replace.journal.byDyno.values()].map((e) => e.step)).toEqual(['creating']);
  });

  it('replaces no further dyno once the lock is lost, and throws LockLostError', async () => {
    const t = setup([
      { proc: 'web', index: 1 },
      { proc: 'web', index: 2 },
    ]);
    const [first, second] = t.dynos.map((d) => d.facts.id);
    // the lock passes to another holder while the first dyno is replaced
    t.engine.before = (call) => {
      if (call === 'replaceContainer') t.lock.held = false;
    };
    const err = await bindDynos(t.deps, APP, t.dynos, props({ 'bind-all-interfaces': 'true' }), []).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LockLostError);
    expect(t.replaced).toEqual(['web.1']);
    expect(t.engine.count('replaceContainer')).toBe(1);
    expect(t.engine.facts('shop.web.1')?.id).not.toBe(first);
    expect(t.engine.facts('shop.web.2')?.id).toBe(second); // untouched
  });

  it('attaches and detaches nothing more once the lock is lost', async () => {
    const t = setup(
      [
        { proc: 'web', index: 1, networks: { old: [] } },
        { proc: 'web', index: 2, networks: { old: [] } },
      ],
      { networks: ['front', 'back', 'old'] },
    );
    // the lock is lost as the first network is joined: no further join, and no detach
    t.engine.before = (call) => {
      if (call === 'connect') t.lock.held = false;
    };
    await expect(
      bindDynos(t.deps, APP, t.dynos, props({ 'attach-post-deploy': 'front back' }), ['old']),
    ).rejects.toBeInstanceOf(LockLostError);
    expect(t.engine.calls.filter((c) => c.call === 'connect' || c.call === 'disconnect')).toEqual([
      { call: 'connect', args: ['front', t.dynos[0]?.facts.id, expect.any(Array)] },
    ]);
    expect(Object.keys(t.engine.facts('shop.web.2')?.networks ?? {}).sort()).toEqual(['bridge', 'old']);

    // a lock lost before a detach: the container stays on the network
    const d = setup([{ proc: 'web', index: 1, networks: { old: [] } }], { networks: ['old'] });
    d.lock.held = false;
    await expect(bindDynos(d.deps, APP, d.dynos, props(), ['old'])).rejects.toBeInstanceOf(LockLostError);
    expect(d.engine.count('disconnect')).toBe(0);
  });

  it('asks for the lock only before a change: a dyno with nothing to change costs no check', async () => {
    const t = setup([{ proc: 'web', index: 1 }], { networks: ['front'] });
    await bindDynos(t.deps, APP, t.dynos, props(), []);
    expect(t.lock.checks).toBe(0);
    await bindDynos(t.deps, APP, t.dynos, props({ 'attach-post-deploy': 'front' }), []);
    expect(t.lock.checks).toBe(1);
  });

  it('counts a replacement that does not keep running, and the dyno keeps its old container', async () => {
    const t = setup([{ proc: 'web', index: 1, replacementExits: true }], { networks: ['front'] });
    const oldId = t.dynos[0]?.facts.id;
    const [b] = await bindDynos(
      t.deps,
      APP,
      t.dynos,
      props({ 'bind-all-interfaces': 'true', 'attach-post-deploy': 'front' }),
      [],
    );
    expect(b?.bindingFailure).toMatch(
      /^ports should be published: replacement failed 1 time\(s\), the old container keeps running \(last: replacement did not keep running \(exited, exit code 1\)\); next try in 10 s$/,
    );
    expect(b?.dyno.facts.id).toBe(oldId);
    expect(t.engine.names()).toEqual(['shop.web.1']);
    // the old container still gets its attachments
    expect(Object.keys(t.engine.facts('shop.web.1')?.networks ?? {}).sort()).toEqual(['bridge', 'front']);
    expect(t.lines.map((l) => l.msg)).toEqual(['replacement failed: counted']);
  });
});
