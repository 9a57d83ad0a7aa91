import { once } from 'node:events';
import type { Job } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rebuild } from '../../producers/client.js';
import { DockerodeEngine } from '../../src/docker/dockerodeEngine.js';
import type { DockerEngine } from '../../src/docker/engine.js';
import { enqueueRebuild } from '../../src/enqueue.js';
import { DockerUnreachableError } from '../../src/errors.js';
import type { PropertyKey } from '../../src/properties/properties.js';
import { writeProperty } from '../../src/store/propertyStore.js';
import type { RebuildResult } from '../../src/types.js';
import { NamespaceEngine } from '../engines.js';
import {
  appName,
  configOf,
  createAppContainer,
  producer,
  RUN_LABEL,
  runId,
  scopeLabel,
  startPool,
  storedListeners,
  useTestEnvs,
} from '../helpers.js';
import { beforeFirst } from '../support/engineSeam.js';
import { runOnce } from '../support/runOnce.js';

// A Docker engine that goes away in the middle of a per-app job, after the job read its containers and before
// it changed them: the job must not complete on those stale facts with the container counted as failed. It
// fails its attempt (DockerUnreachableError), BullMQ retries it, and once the engine is back the retry
// configures the app from what the engine says then. The engine is a private dockerd (test/engines.ts),
// stopped by a seam in the job's engine (test/support/engineSeam.ts) at the exact call.

const engine = new NamespaceEngine(`netq-mid-${runId}`);
const env = useTestEnvs();
beforeAll(() => engine.start(), 90_000);
afterEach(async () => {
  if (
    !(await engine.docker.ping().then(
      () => true,
      () => false,
    ))
  )
    await engine.start();
  const filters = { label: [scopeLabel] };
  for (const c of await engine.docker.listContainers({ all: true, filters })) {
    await engine.docker.getContainer(c.Id).remove({ force: true });
  }
  for (const n of await engine.docker.listNetworks({ filters })) await engine.docker.getNetwork(n.Id).remove();
});
afterAll(() => engine.destroy());

type Outcome = { kind: 'failed'; job: Job; err: Error } | { kind: 'completed'; job: Job; result: RebuildResult };

/**
 * Rebuilds one app on the test engine, whose dockerd is stopped just before the job's first `call`; returns
 * how the first attempt ended, and the final result once the engine was started again.
 */
async function rebuildWithEngineLostBefore(call: keyof DockerEngine, app: string, props: [PropertyKey, string][]) {
  const e = env({ NETQ_ATTEMPTS: '5', NETQ_BACKOFF_MS: '200' });
  const config = configOf(e);
  const q = producer(config);
  try {
    for (const [key, value] of props) await writeProperty(q.redis, q.keys, app, key, value);
    const real = new DockerodeEngine(engine.dockerHost, scopeLabel, 5_000);
    const pool = await startPool(config, {
      roles: ['rebuild'],
      docker: beforeFirst(real, call, () => engine.stop()),
    });
    const [worker] = pool.workers;
    if (!worker) throw new Error('no rebuild worker');
    const first = Promise.race([
      once(worker, 'failed').then(([job, err]): Outcome => ({ kind: 'failed', job, err })),
      once(worker, 'completed').then(([job, result]): Outcome => ({ kind: 'completed', job, result })),
    ]);
    const run = rebuild(q, { app, host: 'local' }, { wait: true, timeoutMs: 120_000 });
    const attempt = await first;
    await engine.start();
    const { jobId, result } = await run;
    const job = await q.rebuildQueue('local').getJob(jobId);
    return { attempt, result, job, config };
  } finally {
    await q.close();
  }
}

describe('an engine lost in the middle of a per-app job', () => {
  it('between the inspect and the attach: the attempt fails and is retried, and the retry attaches', async () => {
    const app = appName('mid-attach');
    const net = `netq-t${runId}-mid`;
    await engine.docker.createNetwork({
      Name: net,
      Driver: 'bridge',
      Attachable: true,
      Labels: { [RUN_LABEL]: runId },
    });
    const c = await createAppContainer({ app, engine: engine.docker, restartAlways: true });
    const { attempt, result, job, config } = await rebuildWithEngineLostBefore('connect', app, [
      ['attach-post-deploy', net],
    ]);

    // not "completed" with the container counted as failed: the attempt failed, as the engine was unreachable
    expect(attempt.kind).toBe('failed');
    if (attempt.kind !== 'failed') return;
    expect(attempt.err).toBeInstanceOf(DockerUnreachableError);
    expect(attempt.err.message).toMatch(/^Docker engine unreachable during network connect \(E[A-Z]+\)$/);
    // and the retry, with the engine back, configured it
    expect(job?.attemptsMade).toBeGreaterThanOrEqual(2);
    expect(result).toMatchObject({ app, containers: 1, configured: 1, failed: 0, failures: [] });
    const info = await engine.docker.getContainer(c.id).inspect();
    expect(info.NetworkSettings.Networks[net]?.Aliases).toEqual(
      expect.arrayContaining([`${app}.web`, `${info.Config.Hostname}.${app}.web`]),
    );
    // from the facts after the restart
    expect(await storedListeners(config, app)).toEqual([`${info.NetworkSettings.Networks.bridge?.IPAddress}:5000`]);
  }, 180_000);

  it('between the inspect and the replacement: the attempt fails, nothing is counted, and the retry replaces', async () => {
    // stepped through job by job (test/support/runOnce.ts): each attempt's end is read, not waited for
    const app = appName('mid-replace');
    const c = await createAppContainer({ app, engine: engine.docker, restartAlways: true });
    const config = configOf(env({ NETQ_ATTEMPTS: '5', NETQ_BACKOFF_MS: '200' }));
    const q = producer(config);
    try {
      await writeProperty(q.redis, q.keys, app, 'bind-all-interfaces', 'true');
      await enqueueRebuild(q, app, 'local');
      const docker = beforeFirst(new DockerodeEngine(engine.dockerHost, scopeLabel, 5_000), 'replaceContainer', () =>
        engine.stop(),
      );

      const first = await runOnce(config, docker);
      expect(first.map((o) => o.state)).toEqual(['retrying']);
      const [attempt] = first;
      if (attempt?.state !== 'retrying') return;
      expect(attempt.err).toBeInstanceOf(DockerUnreachableError);
      const job = await q.rebuildQueue('local').getJob(attempt.jobId);
      expect(await job?.getState()).toBe('delayed');
      // nothing was counted against the container: no failed replacement recorded (no backoff), and the
      // journal entry the attempt left is for the next one to settle
      expect(await q.redis.hlen(q.keys.replaceFailures('local', app))).toBe(0);
      expect(await q.redis.hlen(q.keys.replacing('local'))).toBe(1);

      await engine.start();
      await job?.promote(); // its backoff is BullMQ's: the retry is run now
      const second = await runOnce(config, docker);
      expect(second.map((o) => o.state)).toEqual(['completed']);
      const [done] = second;
      if (done?.state !== 'completed') return;
      expect(done.result).toMatchObject({ app, containers: 1, configured: 1, failed: 0, failures: [] });
      expect(await q.redis.hlen(q.keys.replacing('local'))).toBe(0);
      // one container serves the dyno, under its name, with its port published; the old one is gone
      const left = await engine.docker.listContainers({
        all: true,
        filters: { label: [`com.dokku.app-name=${app}`] },
      });
      expect(left.map((x) => [x.Names[0], x.State])).toEqual([[`/${app}.web.1`, 'running']]);
      expect(left[0]?.Id).not.toBe(c.id);
      expect(left[0]?.Ports.some((p) => p.PrivatePort === 5000 && p.PublicPort !== undefined)).toBe(true);
    } finally {
      await q.close();
    }
  }, 180_000);
});
