import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { enqueueRebuild } from '../../src/enqueue.js';
import { appName, collect, configOf, producer, ROOT, until, useTestEnvs } from '../helpers.js';

// The built `netq worker` (bin/netq.js runs the minified bundle of dist/bundle) names its errors by their
// class, as the sources do: in the stack trace BullMQ keeps of a failed attempt (the dashboard shows it) and
// in its log line's err.type. A minifier that renames classes would make them `Ax`.

const env = useTestEnvs();
const children: ReturnType<typeof spawn>[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

describe('the built worker', () => {
  it("names a failed attempt's error by its class in the job's stack trace and its log line", async () => {
    // a Docker engine that is not there: every attempt fails with DockerUnreachableError
    const e = env({
      DOCKER_HOST: 'unix:///run/netq-test-no-such-engine.sock',
      NETQ_ATTEMPTS: '2',
      NETQ_BACKOFF_MS: '50',
      LOG_LEVEL: 'info',
    });
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/netq.js'), 'worker'], {
      env: { PATH: process.env.PATH ?? '', ...e },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const output = collect(child);
    const q = producer(configOf(e));
    try {
      const app = appName('names');
      const job = await enqueueRebuild(q, app, 'local');
      const failed = await until('the job failed for good', async () => {
        const j = await q.rebuildQueue('local').getJob(String(job.id));
        return (await j?.getState()) === 'failed' ? j : undefined;
      });
      expect(failed.stacktrace).toHaveLength(2);
      for (const trace of failed.stacktrace ?? [])
        expect(trace).toMatch(/^DockerUnreachableError: Docker engine unreachable/);
    } finally {
      await q.close();
    }
    child.kill('SIGTERM');
    const { code, stdout } = await output;
    expect(code).toBe(0);
    const lines = stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg?: string; err?: { type?: string } });
    const failures = lines.filter((l) => l.msg === 'job failed, will retry' || l.msg === 'job failed for good');
    expect(failures.map((l) => l.err?.type)).toEqual(['DockerUnreachableError', 'DockerUnreachableError']);
  }, 60_000);
});
