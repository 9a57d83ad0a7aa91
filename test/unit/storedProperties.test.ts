import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FixedFactsCache } from '../../src/docker/fixedFactsCache.js';
import { BadInputError } from '../../src/errors.js';
import { netqKeys } from '../../src/keys.js';
import { storedValueProblem } from '../../src/properties/validateProperty.js';
import { type RebuildDeps, rebuildApp } from '../../src/rebuildApp.js';
import type { RedisClient } from '../../src/redis.js';
import { MemoryEngine } from '../support/memoryEngine.js';

// Dokku mode: the properties come from Dokku's files, which Dokku writes without netq's checks, so the worker
// checks them again ('safe': what keeps netq safe) before it touches anything (src/rebuildApp.ts checkStored).

const APP = 'shop';
const ID = 'a'.repeat(64);

describe("storedValueProblem 'safe' (Dokku's files)", () => {
  it('refuses a network Docker would read as a network mode, and any control character', () => {
    expect(storedValueProblem('app', 'initial-network', `container:${ID.slice(0, 12)}`, 'safe')).toBe(
      '"container:aaaaaaaaaaaa" is not a network name',
    );
    expect(storedValueProblem('app', 'attach-post-deploy', `front,container:${ID}`, 'safe')).toMatch(
      /^"container:a+…?" is not a network name$/,
    );
    expect(storedValueProblem('global', 'attach-post-create', 'front back', 'safe')).toBeUndefined();
    expect(storedValueProblem('app', 'static-web-listener', '10.0.0.1:80\n10.6.6.6:80', 'safe')).toBe(
      'it holds control characters',
    );
    expect(storedValueProblem('app', 'tld', 'svc\u007f', 'safe')).toBe('it holds control characters');
  });

  it("takes what Dokku stores unchecked but is harmless, which network:set ('strict') refuses", () => {
    expect(storedValueProblem('app', 'bind-all-interfaces', 'yes', 'safe')).toBeUndefined();
    expect(storedValueProblem('app', 'bind-all-interfaces', 'yes', 'strict')).toMatch(/true or false/);
  });
});

describe('rebuildApp in Dokku mode, with a bad value in a property file', () => {
  let libRoot: string;
  beforeEach(async () => {
    libRoot = await mkdtemp(path.join(tmpdir(), 'netq-props-'));
  });
  afterEach(async () => {
    await rm(libRoot, { recursive: true, force: true });
  });

  /** A rebuild's dependencies whose engine and Redis record every call (none is expected). */
  function deps(): { deps: RebuildDeps; engine: MemoryEngine; redisCalls: string[] } {
    const engine = new MemoryEngine();
    engine.add({ app: APP, proc: 'web', index: 1 });
    const redisCalls: string[] = [];
    const redis = new Proxy(
      {},
      {
        get: (_t, prop) => {
          redisCalls.push(String(prop));
          return () => Promise.reject(new Error(`Redis asked: ${String(prop)}`));
        },
      },
    ) as RedisClient;
    const never = async () => {
      throw new Error('the lock was asked: something was about to change');
    };
    return {
      engine,
      redisCalls,
      deps: {
        docker: engine,
        facts: new FixedFactsCache(),
        inspectAll: true,
        redis,
        keys: netqKeys('test'),
        hostId: 'local',
        dokku: { root: path.join(libRoot, 'home'), libRoot },
        replace: 'auto',
        waitToRetireMs: 0,
        lock: { verify: never, whileHeld: never },
        start: {
          journal: [],
          attachedRaw: undefined,
          attached: [],
          failureIds: [],
          hookRecord: undefined,
          properties: undefined,
          eventSeq: 0,
        },
      },
    };
  }

  const store = async (scope: string, key: string, value: string) => {
    const dir = path.join(libRoot, 'config', 'network', scope);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, key), value);
  };

  it.each([
    {
      scope: APP,
      key: 'initial-network',
      value: `container:${ID}`,
      why: /^stored property initial-network of shop is not valid \("container:a+…" is not a network name\): set it again with netq network:set$/,
    },
    {
      scope: '--global',
      key: 'attach-post-deploy',
      value: 'front,container:web',
      why: /^stored property attach-post-deploy of --global is not valid \("container:web" is not a network name\)/,
    },
    {
      scope: APP,
      key: 'static-web-listener',
      value: '10.0.0.1:80\n10.6.6.6:80\n',
      why: /^stored property static-web-listener of shop is not valid \(it holds control characters\)/,
    },
  ])('refuses $key in $scope, touching neither Docker nor Redis', async ({ scope, key, value, why }) => {
    await store(scope, key, value);
    const t = deps();
    const err = await rebuildApp(t.deps, APP).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadInputError);
    expect((err as Error).message).toMatch(why);
    expect(t.engine.calls).toEqual([]);
    expect(t.redisCalls).toEqual([]);
  });
});
