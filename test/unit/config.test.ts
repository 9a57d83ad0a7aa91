import { describe, expect, it } from 'vitest';
import { exitCodeOf } from '../../producers/format.js';
import { appNameProblem } from '../../src/appName.js';
import { loadConfig, redactUrl } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { rebuildJobSchema } from '../../src/jobs.js';

describe('loadConfig', () => {
  it('gives every default and wraps the prefix in a hash tag', () => {
    expect(loadConfig({})).toEqual({
      redisUrl: 'redis://127.0.0.1:6379',
      redisSentinels: undefined,
      redisSentinelName: 'mymaster',
      redisClusterNodes: undefined,
      dockerHost: undefined,
      dockerTimeoutMs: 15_000,
      hostId: 'local',
      prefix: '{netq}',
      dokku: undefined,
      scopeLabel: undefined,
      concurrency: 8,
      attempts: 5,
      backoffMs: 1000,
      replace: 'auto',
      waitToRetireMs: 2000,
      debounceMs: 250,
      onChange: undefined,
      onChangeTimeoutMs: 30_000,
      shutdownGraceMs: 30_000,
      apiToken: undefined,
      apiListen: { host: '127.0.0.1', port: 8080 },
      apiAllowedHosts: [],
      logLevel: 'info',
    });
  });

  it('names each bad variable on its own line', () => {
    const bad = {
      REDIS_URL: 'http://x',
      NETQ_CONCURRENCY: '0',
      NETQ_HOST_ID: 'Has Space',
      NETQ_DOKKU_ROOT: 'relative/dir',
      DOCKER_HOST: 'ssh://x',
      NETQ_ATTEMPTS: '2.5',
      LOG_LEVEL: 'loud',
    };
    try {
      loadConfig(bad);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const names = (err as ConfigError).lines.map((l) => l.split(':')[0]).sort();
      expect(names).toEqual(Object.keys(bad).sort());
    }
  });

  it('redacts a Redis password', () => {
    expect(redactUrl('redis://:s3cret@h:6379/0')).toBe('redis://***@h:6379/0');
    expect(redactUrl('rediss://user:pw@h')).toBe('rediss://***@h');
    expect(redactUrl('redis://h:1')).toBe('redis://h:1');
    // a password holding @ (and /) is redacted whole
    expect(redactUrl('redis://:p@ss/w@rd@h:6379/0')).toBe('redis://***@h:6379/0');
    expect(redactUrl('redis://u:a@b@h')).toBe('redis://***@h');
  });
});

describe('app names and job payloads', () => {
  it("accepts Dokku's names and refuses the rest", () => {
    // legacy names with `_` too: Dokku still accepts apps named so (IsValidAppNameOld)
    for (const ok of ['app', 'my-app', 'a.b-c', '0x', 'my_app', 'a'.repeat(63)])
      expect(appNameProblem(ok), ok).toBeUndefined();
    for (const bad of ['', 'UP', '../etc', 'a/b', '-x', '_x', '.x', 'a..b', 'a'.repeat(64), 'é', ' a', 'a\n']) {
      expect(appNameProblem(bad), bad).toBeDefined();
    }
    expect(appNameProblem(42)).toBe('app name must be a string');
  });

  it('refuses unknown fields and prototype keys in a rebuild job', () => {
    expect(rebuildJobSchema.safeParse({ app: 'a', host: 'local' }).success).toBe(true);
    expect(rebuildJobSchema.safeParse({ app: 'a', host: 'local', extra: 1 }).success).toBe(false);
    expect(rebuildJobSchema.safeParse(JSON.parse('{"app":"a","host":"local","__proto__":{"x":1}}')).success).toBe(
      false,
    );
    expect(rebuildJobSchema.safeParse({ app: 'a', host: 'local', containerIds: ['not-hex'] }).success).toBe(false);
  });
});

describe('exit status', () => {
  it('is the number of failed containers, 255 at most, and 1 when a host could not be scanned', () => {
    expect(exitCodeOf(0)).toBe(0);
    expect(exitCodeOf(3)).toBe(3);
    expect(exitCodeOf(300)).toBe(255);
    expect(exitCodeOf(0, 1)).toBe(1);
    expect(exitCodeOf(4, 1)).toBe(4);
  });
});
