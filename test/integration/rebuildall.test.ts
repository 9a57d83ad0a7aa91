import { describe, expect, it } from 'vitest';
import { rebuildall } from '../../producers/client.js';
import type { RebuildallResult } from '../../src/types.js';
import {
  appName,
  configOf,
  createAppContainer,
  producer,
  runCli,
  startPool,
  startPoolsWithDeadRebuilds,
  useTestEnvs,
} from '../helpers.js';

const env = useTestEnvs({ docker: true });

const counts = (s: RebuildallResult) => ({
  apps: s.apps,
  containers: s.containers,
  configured: s.configured,
  failed: s.failed,
});

describe('network:rebuildall', () => {
  it('counts the containers that cannot be configured and still configures the other apps', async () => {
    const e = env();
    await startPool(configOf(e));
    const good = appName('good');
    const mixed = appName('mixed');
    const other = appName('other');
    await createAppContainer({ app: good, proc: 'web', index: 1 });
    await createAppContainer({ app: good, proc: 'web', index: 2 });
    await createAppContainer({ app: mixed, proc: 'web', index: 1 });
    await createAppContainer({ app: mixed, proc: 'web', index: 2, networkMode: 'none' });
    await createAppContainer({ app: mixed, proc: 'worker', index: 1, start: false });
    await createAppContainer({ app: other, proc: 'worker', index: 1 });

    const res = await runCli(['network:rebuildall', '--format', 'json'], e);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(2);
    const s = JSON.parse(res.stdout) as RebuildallResult;
    expect(counts(s)).toEqual({ apps: 3, containers: 6, configured: 4, failed: 2 });
    const byApp = Object.fromEntries(s.results.map((r) => [r.app, r]));
    expect(byApp[good]?.listeners.web).toHaveLength(2);
    expect(byApp[other]?.listeners.worker).toHaveLength(1);
    expect(byApp[mixed]?.listeners).toEqual({ web: [expect.stringMatching(/^\d+\.\d+\.\d+\.\d+:5000$/)] });
    expect(byApp[mixed]?.failures).toEqual([
      { container: `${mixed}.web.2`, reason: 'network mode is none: the container has no IP address' },
      { container: `${mixed}.worker.1`, reason: 'container is created, not running' },
    ]);

    const text = await runCli(['network:rebuildall'], e);
    expect(text.code).toBe(2);
    expect(text.stdout).toContain('rebuildall: 3 apps, 6 containers, 4 configured, 2 failed');
  });

  it('counts a container whose app label is not a valid app name as failed, rather than skipping it', async () => {
    const e = env();
    await startPool(configOf(e));
    const good = appName('fine');
    const bad = `Old_${appName('style')}`; // uppercase and "_": not an app name netq (or newer Dokku) accepts
    await createAppContainer({ app: good });
    await createAppContainer({ app: bad });
    const res = await runCli(['network:rebuildall', '--format', 'json'], e);
    expect(res.code).toBe(1);
    const s = JSON.parse(res.stdout) as RebuildallResult;
    expect(counts(s)).toEqual({ apps: 2, containers: 2, configured: 1, failed: 1 });
    expect(s.results.find((r) => r.app === bad)?.failures).toEqual([
      { container: `${bad}.web.1`, reason: expect.stringMatching(/^its app label "Old_.*" is not a valid app name: /) },
    ]);
  });

  it('exits 0 with an empty summary when the host has no apps', async () => {
    const e = env();
    await startPool(configOf(e));
    const res = await runCli(['network:rebuildall', '--format', 'json'], e);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({
      apps: 0,
      containers: 0,
      configured: 0,
      failed: 0,
      results: [],
      hostFailures: [],
    });
  });

  it('completes the summary when every per-app job fails for good, counting every container', async () => {
    const e = env({ NETQ_ATTEMPTS: '2', NETQ_BACKOFF_MS: '20' });
    const config = configOf(e);
    await startPoolsWithDeadRebuilds(config);
    const a = appName('dead-a');
    const b = appName('dead-b');
    await createAppContainer({ app: a, proc: 'web', index: 1 });
    await createAppContainer({ app: a, proc: 'web', index: 2 });
    await createAppContainer({ app: b, proc: 'web', index: 1 });

    const q = producer(config);
    try {
      const { result } = await rebuildall(q, { wait: true, timeoutMs: 30_000 });
      expect(result).toMatchObject({ apps: 2, containers: 3, configured: 0, failed: 3 });
      const reasons = result?.results.flatMap((r) => r.failures.map((f) => f.reason)) ?? [];
      expect(reasons).toHaveLength(3);
      for (const reason of reasons) expect(reason).toMatch(/Docker engine unreachable.*ENOENT/);
      // each per-app job used all its attempts
      const failed = await q.rebuildQueue('local').getFailed();
      expect(failed.map((j) => j.attemptsMade)).toEqual([2, 2]);
    } finally {
      await q.close();
    }
  });

  it('says so at once when no worker is running', async () => {
    const res = await runCli(['network:rebuildall'], env());
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/no netq worker is running/);
  });

  it('--no-wait only enqueues and prints the run id', async () => {
    const e = env();
    await startPool(configOf(e), { roles: ['rebuild'] }); // registers the host; nobody scans
    const res = await runCli(['network:rebuildall', '--no-wait'], e);
    expect(res.code).toBe(0);
    const runId = res.stdout.trim();
    expect(runId).toMatch(/^run-[a-z0-9]+-[0-9a-f]{8}$/);
    const q = producer(configOf(e));
    try {
      expect(await q.summaryQueue().getJobState(runId)).toBe('waiting-children');
      expect(await q.scanQueue('local').getJobState(`${runId}.local`)).toBe('waiting');
    } finally {
      await q.close();
    }
  });
});
