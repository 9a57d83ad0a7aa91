import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupPrefix, configOf, producer, ROOT, testEnv } from '../helpers.js';

const envs: Record<string, string>[] = [];
afterEach(async () => {
  for (const e of envs.splice(0)) await cleanupPrefix(configOf(e));
});

function runHook(
  name: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stderr: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(ROOT, 'hooks', name), args, {
      env: { PATH: process.env.PATH ?? '', NETQ_BIN: `${process.execPath} ${path.join(ROOT, 'bin/netq.js')}`, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stderr, ms: performance.now() - started }));
  });
}

describe('Dokku deploy hooks', () => {
  it('queue a rebuild of the right app and return at once, with no worker running', async () => {
    const e = testEnv();
    envs.push(e);
    const cases: [string, string[], string[]][] = [
      ['post-deploy', ['app-a', '5000', '172.17.0.2', 'latest'], ['app-a']],
      ['core-post-deploy', ['app-b', '5000', '172.17.0.3', 'latest'], ['app-b']],
      ['post-container-create', ['app', 'abc123', 'app-c', 'deploy', 'web'], ['app-c']],
      ['post-container-create', ['run', 'abc124', 'app-x', 'run', 'web'], []], // one-off containers are not the app's
      ['post-app-rename-setup', ['app-old', 'app-new'], ['app-new', 'app-old']],
      ['post-delete', ['app-d', 'latest'], ['app-d']],
    ];
    const q = producer(configOf(e));
    try {
      for (const [hook, args, apps] of cases) {
        // hook requests are debounced (NETQ_DEBOUNCE_MS), so a queued rebuild waits as a delayed job first
        const queued = async () =>
          (await q.rebuildQueue('local').getJobs(['waiting', 'delayed'])).map((j) => j.data.app);
        const before = new Set(await queued());
        const res = await runHook(hook, args, e);
        expect(res.code, hook).toBe(0);
        expect(res.stderr, hook).toBe('');
        const after = (await queued()).filter((a) => !before.has(a));
        expect(after.sort(), hook).toEqual(apps);
      }
    } finally {
      await q.close();
    }
  });

  it('never fail a deploy: an unreachable Redis gives a warning and exit 0', async () => {
    const res = await runHook('post-deploy', ['app-a'], testEnv({ REDIS_URL: 'redis://127.0.0.1:1' }));
    expect(res.code).toBe(0);
    expect(res.stderr).toMatch(/could not queue a network rebuild of app-a/);
  });
});
