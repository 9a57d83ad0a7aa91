import type { Job, Queue } from 'bullmq';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { JOB, queueName } from '../../src/jobs.js';
import type { NetqQueues } from '../../src/queue.js';
import type { RebuildallResult, RebuildResult } from '../../src/types.js';
import {
  appName,
  cleanupDocker,
  cleanupPrefix,
  closePools,
  configOf,
  createAppContainer,
  openPools,
  producer,
  startPool,
  testEnv,
  until,
} from '../helpers.js';

/**
 * Poison jobs: payloads that no producer of ours makes, written straight into each queue as anything
 * else with access to Redis could. Each must fail at once (no retry) with a reason that names the
 * problem; nothing may reach Object.prototype; and the worker must keep serving afterwards.
 */

const envs: Record<string, string>[] = [];
const producers: NetqQueues[] = [];
afterEach(async () => {
  for (const q of producers.splice(0)) await q.close();
  await closePools();
  expect(openPools()).toBe(0);
  await cleanupDocker();
  for (const e of envs.splice(0)) await cleanupPrefix(configOf(e));
});
afterAll(cleanupDocker);

/** One poison job: the name it is added under, its payload, and what its failedReason must say. */
interface Poison {
  label: string;
  name: string;
  data: unknown;
  reason: RegExp;
}

const MB = 'x'.repeat(1 << 20);
/** payloads as JSON.parse makes them: own keys named __proto__ / constructor */
const proto = (rest: string) => JSON.parse(`{"__proto__":{"polluted":1},${rest}}`) as unknown;
const ctor = (rest: string) => JSON.parse(`{"constructor":{"prototype":{"polluted":1}},${rest}}`) as unknown;
const hugeKey = (rest: Record<string, unknown>) => ({ ...rest, [`k${MB}`]: 1 });

/** Payloads that are wrong for any queue: not an object at all. */
function notObjects(name: string, what: string): Poison[] {
  return [
    { label: 'null', name, data: null, reason: new RegExp(`bad ${what} job: .*expected object, received null`) },
    { label: 'a number', name, data: 42, reason: /expected object, received number/ },
    { label: 'a string', name, data: 'rebuild everything', reason: /expected object, received string/ },
    { label: 'an empty array', name, data: [], reason: /expected object, received array/ },
    { label: 'a boolean', name, data: false, reason: /expected object, received boolean/ },
  ];
}

const rebuildPoison: Poison[] = [
  ...notObjects(JOB.rebuild, 'rebuild'),
  {
    label: 'an array of payloads',
    name: JOB.rebuild,
    data: [{ app: 'ok', host: 'local' }],
    reason: /received array/,
  },
  { label: 'no fields', name: JOB.rebuild, data: {}, reason: /app: app name must be a string/ },
  { label: 'no host', name: JOB.rebuild, data: { app: 'poison' }, reason: /host: .*expected string/ },
  {
    label: 'app a number',
    name: JOB.rebuild,
    data: { app: 7, host: 'local' },
    reason: /app: app name must be a string/,
  },
  { label: 'host a number', name: JOB.rebuild, data: { app: 'poison', host: 7 }, reason: /host: .*expected string/ },
  { label: '1 MB app', name: JOB.rebuild, data: { app: MB, host: 'local' }, reason: /app: app name is longer than 63/ },
  {
    label: 'app ../etc',
    name: JOB.rebuild,
    data: { app: '../etc', host: 'local' },
    reason: /app: app name must match/,
  },
  { label: 'app ..', name: JOB.rebuild, data: { app: '..', host: 'local' }, reason: /app: app name must match/ },
  { label: 'app a/b', name: JOB.rebuild, data: { app: 'a/b', host: 'local' }, reason: /app: app name must match/ },
  { label: 'app with NUL', name: JOB.rebuild, data: { app: 'a\u0000b', host: 'local' }, reason: /app: app name/ },
  {
    label: 'unicode app',
    name: JOB.rebuild,
    data: { app: 'äpp-ü', host: 'local' },
    reason: /app: app name must match/,
  },
  { label: 'host ../x', name: JOB.rebuild, data: { app: 'poison', host: '../x' }, reason: /host: host id must be/ },
  {
    label: '__proto__ key',
    name: JOB.rebuild,
    data: proto('"app":"poison","host":"local"'),
    reason: /Unrecognized key: "__proto__"/,
  },
  {
    label: 'constructor key',
    name: JOB.rebuild,
    data: ctor('"app":"poison","host":"local"'),
    reason: /Unrecognized key: "constructor"/,
  },
  {
    label: 'unknown key',
    name: JOB.rebuild,
    data: { app: 'poison', host: 'local', force: true },
    reason: /Unrecognized key: "force"/,
  },
  {
    label: '1 MB key',
    name: JOB.rebuild,
    data: hugeKey({ app: 'poison', host: 'local' }),
    reason: /Unrecognized key: "kxxx/,
  },
  {
    label: 'runId ../r',
    name: JOB.rebuild,
    data: { app: 'poison', host: 'local', runId: '../r' },
    reason: /runId: run id must be/,
  },
  {
    label: 'containerIds a string',
    name: JOB.rebuild,
    data: { app: 'poison', host: 'local', containerIds: 'abc' },
    reason: /containerIds: .*expected array/,
  },
  {
    label: 'containerIds not hex',
    name: JOB.rebuild,
    data: { app: 'poison', host: 'local', containerIds: ['../../etc/passwd'] },
    reason: /containerIds\.0: container id must be/,
  },
  {
    label: '10001 containerIds',
    name: JOB.rebuild,
    data: { app: 'poison', host: 'local', containerIds: Array(10_001).fill('a'.repeat(12)) },
    reason: /containerIds: .*10000/,
  },
  {
    label: 'another host',
    name: JOB.rebuild,
    data: { app: 'poison', host: 'elsewhere' },
    reason: /rebuild job for host elsewhere reached a worker of host local/,
  },
  // the name is checked before the payload: a rebuild queue runs rebuild jobs only
  { label: 'unknown name, null', name: 'bogus', data: null, reason: /unknown job name on a rebuild queue: "bogus"$/ },
  {
    label: 'name __proto__',
    name: '__proto__',
    data: { app: '..' },
    reason: /unknown job name on a rebuild queue: "__proto__"$/,
  },
  // a good payload under a huge unknown name: refused by its name, which the reason clips to 64 characters
  {
    label: '1 MB name',
    name: MB,
    data: { app: 'poison', host: 'local' },
    reason: /unknown job name on a rebuild queue: "x{64}…"$/,
  },
];

const scanPoison: Poison[] = [
  ...notObjects(JOB.scan, 'scan'),
  { label: 'no fields', name: JOB.scan, data: {}, reason: /host: .*expected string/ },
  { label: 'no runId', name: JOB.scan, data: { host: 'local' }, reason: /runId: .*expected string/ },
  { label: 'runId a number', name: JOB.scan, data: { host: 'local', runId: 7 }, reason: /runId: .*expected string/ },
  { label: '1 MB runId', name: JOB.scan, data: { host: 'local', runId: MB }, reason: /runId: run id must be/ },
  { label: 'runId ../r', name: JOB.scan, data: { host: 'local', runId: '../r' }, reason: /runId: run id must be/ },
  { label: 'runId with NUL', name: JOB.scan, data: { host: 'local', runId: 'r\u0000' }, reason: /runId: run id/ },
  { label: 'host ../etc', name: JOB.scan, data: { host: '../etc', runId: 'r1' }, reason: /host: host id must be/ },
  { label: 'unicode host', name: JOB.scan, data: { host: 'lócal', runId: 'r1' }, reason: /host: host id must be/ },
  {
    label: 'unknown step',
    name: JOB.scan,
    data: { host: 'local', runId: 'r1', step: 'done' },
    reason: /step: /,
  },
  {
    label: 'seen an array',
    name: JOB.scan,
    data: { host: 'local', runId: 'r1', seen: [] },
    reason: /seen: .*expected record/,
  },
  {
    label: 'seen ../etc',
    name: JOB.scan,
    data: { host: 'local', runId: 'r1', seen: { '../etc': ['a'] } },
    reason: /seen.*Invalid key in record/,
  },
  {
    label: 'seen __proto__',
    name: JOB.scan,
    data: { host: 'local', runId: 'r1', seen: JSON.parse('{"__proto__":["a"]}') },
    reason: /seen.*__proto__/,
  },
  {
    label: 'seen a 1 MB string',
    name: JOB.scan,
    data: { host: 'local', runId: 'r1', seen: { a: MB } },
    reason: /seen\.a: .*expected array/,
  },
  {
    label: '__proto__ key',
    name: JOB.scan,
    data: proto('"host":"local","runId":"r1"'),
    reason: /Unrecognized key: "__proto__"/,
  },
  {
    label: 'constructor key',
    name: JOB.scan,
    data: ctor('"host":"local","runId":"r1"'),
    reason: /Unrecognized key: "constructor"/,
  },
  {
    label: '1 MB key',
    name: JOB.scan,
    data: hugeKey({ host: 'local', runId: 'r1' }),
    reason: /Unrecognized key: "kxxx/,
  },
  {
    label: 'another host',
    name: JOB.scan,
    data: { host: 'elsewhere', runId: 'r1' },
    reason: /scan job for host elsewhere reached a worker of host local/,
  },
  {
    label: 'unknown name, good payload',
    name: 'bogus',
    data: { host: 'local', runId: 'r1', step: 'waiting' },
    reason: /unknown job name on a scan queue: "bogus"/,
  },
  {
    label: 'name constructor, good payload',
    name: 'constructor',
    data: { host: 'local', runId: 'r1', step: 'waiting' },
    reason: /unknown job name on a scan queue: "constructor"/,
  },
];

const summaryPoison: Poison[] = [
  ...notObjects(JOB.summary, 'summary'),
  { label: 'no fields', name: JOB.summary, data: {}, reason: /runId: .*expected string/ },
  { label: 'no hosts', name: JOB.summary, data: { runId: 'r1' }, reason: /hosts: .*expected array/ },
  {
    label: 'hosts a string',
    name: JOB.summary,
    data: { runId: 'r1', hosts: 'local' },
    reason: /hosts: .*expected array/,
  },
  {
    label: 'hosts ../x',
    name: JOB.summary,
    data: { runId: 'r1', hosts: ['../x'] },
    reason: /hosts\.0: host id must be/,
  },
  {
    label: '1001 hosts',
    name: JOB.summary,
    data: { runId: 'r1', hosts: Array(1001).fill('local') },
    reason: /hosts: .*1000/,
  },
  { label: '1 MB runId', name: JOB.summary, data: { runId: MB, hosts: [] }, reason: /runId: run id must be/ },
  { label: 'runId ../../etc', name: JOB.summary, data: { runId: '../../etc', hosts: [] }, reason: /runId: run id/ },
  { label: 'unicode runId', name: JOB.summary, data: { runId: 'rün', hosts: [] }, reason: /runId: run id must be/ },
  { label: 'runId with NUL', name: JOB.summary, data: { runId: 'r\u0000', hosts: [] }, reason: /runId: run id/ },
  { label: 'runId a number', name: JOB.summary, data: { runId: 1, hosts: [] }, reason: /runId: .*expected string/ },
  {
    label: '__proto__ key',
    name: JOB.summary,
    data: proto('"runId":"r1","hosts":[]'),
    reason: /Unrecognized key: "__proto__"/,
  },
  {
    label: 'constructor key',
    name: JOB.summary,
    data: ctor('"runId":"r1","hosts":[]'),
    reason: /Unrecognized key: "constructor"/,
  },
  {
    label: 'unknown key',
    name: JOB.summary,
    data: { runId: 'r1', hosts: [], results: [] },
    reason: /Unrecognized key: "results"/,
  },
  { label: '1 MB key', name: JOB.summary, data: hugeKey({ runId: 'r1', hosts: [] }), reason: /Unrecognized key: "kx/ },
  {
    label: 'unknown name, good payload',
    name: 'bogus',
    data: { runId: 'r1', hosts: [] },
    reason: /unknown job name on a summary queue: "bogus"/,
  },
  {
    label: 'no scan children for its hosts',
    name: JOB.summary,
    data: { runId: 'r1', hosts: ['local', 'h2'] },
    reason: /summary of run r1 has results from 0 of 2 hosts/,
  },
];

const okSet = { host: 'local', scope: 'poison', key: 'tld', values: [], apply: false };
const controlPoison: Poison[] = [
  { label: 'set: null', name: JOB.set, data: null, reason: /bad set job: .*received null/ },
  { label: 'set: an array', name: JOB.set, data: [okSet], reason: /bad set job: .*received array/ },
  { label: 'set: no fields', name: JOB.set, data: {}, reason: /bad set job: host:/ },
  { label: 'set: scope ../etc', name: JOB.set, data: { ...okSet, scope: '../etc' }, reason: /bad set job: scope:/ },
  { label: 'set: values a string', name: JOB.set, data: { ...okSet, values: 'x' }, reason: /values: .*array/ },
  { label: 'set: 1 MB key', name: JOB.set, data: { ...okSet, key: MB }, reason: /key: .*64/ },
  {
    label: 'set: unknown key',
    name: JOB.set,
    data: { ...okSet, key: 'bogus' },
    reason: /Invalid property specified, valid properties include/,
  },
  {
    label: 'set: bad tld',
    name: JOB.set,
    data: { ...okSet, values: ['a b'] },
    reason: /tld must be a DNS suffix/,
  },
  {
    label: 'set: value with NUL',
    name: JOB.set,
    data: { ...okSet, values: ['a\u0000b'] },
    reason: /value contains control characters/,
  },
  { label: 'set: apply "yes"', name: JOB.set, data: { ...okSet, apply: 'yes' }, reason: /apply: / },
  {
    label: 'set: another host',
    name: JOB.set,
    data: { ...okSet, host: 'elsewhere' },
    reason: /set job for host elsewhere reached a worker of host local/,
  },
  {
    label: 'set: __proto__ key',
    name: JOB.set,
    data: proto('"host":"local","scope":"poison","key":"tld","values":[],"apply":false'),
    reason: /Unrecognized key: "__proto__"/,
  },
  {
    label: 'create: ../etc',
    name: JOB.networkCreate,
    data: { host: 'local', network: '../etc' },
    reason: /network: network name must match/,
  },
  {
    label: 'create: ..',
    name: JOB.networkCreate,
    data: { host: 'local', network: '..' },
    reason: /network: network name must match/,
  },
  {
    label: 'create: 1 MB name',
    name: JOB.networkCreate,
    data: { host: 'local', network: MB },
    reason: /network name is longer than 64/,
  },
  {
    label: 'create: unicode',
    name: JOB.networkCreate,
    data: { host: 'local', network: 'nét' },
    reason: /network: network name must match/,
  },
  {
    label: 'create: bridge',
    name: JOB.networkCreate,
    data: { host: 'local', network: 'bridge' },
    reason: /cannot create network bridge: it is one of Docker's own networks/,
  },
  {
    label: 'create: constructor key',
    name: JOB.networkCreate,
    data: ctor('"host":"local","network":"n1"'),
    reason: /Unrecognized key: "constructor"/,
  },
  {
    label: 'destroy: NUL',
    name: JOB.networkDestroy,
    data: { host: 'local', network: 'a\u0000b' },
    reason: /network: network name must match/,
  },
  {
    label: 'destroy: another host',
    name: JOB.networkDestroy,
    data: { host: 'elsewhere', network: 'n1' },
    reason: /network-destroy job for host elsewhere reached a worker of host local/,
  },
  { label: 'info: no fields', name: JOB.networkInfo, data: {}, reason: /bad network-info job: host:/ },
  { label: 'exists: null', name: JOB.networkExists, data: null, reason: /bad network-exists job: .*null/ },
  { label: 'exists: a number', name: JOB.networkExists, data: 5, reason: /received number/ },
  {
    label: 'list: managed "yes"',
    name: JOB.networkList,
    data: { host: 'local', managed: 'yes' },
    reason: /managed: .*expected boolean/,
  },
  { label: 'unknown name', name: 'bogus', data: okSet, reason: /unknown control job "bogus"/ },
  { label: 'name __proto__', name: '__proto__', data: okSet, reason: /unknown control job "__proto__"/ },
  { label: 'name constructor', name: 'constructor', data: okSet, reason: /unknown control job "constructor"/ },
  { label: 'name toString', name: 'toString', data: okSet, reason: /unknown control job "toString"/ },
  { label: '1 MB name', name: MB, data: okSet, reason: /unknown control job "xxx/ },
];

/** Adds every poison job as anything with access to Redis could: retries allowed, so a retry would show. */
async function addAll(queue: Queue, poison: Poison[]): Promise<Job[]> {
  const jobs: Job[] = [];
  for (const p of poison) {
    jobs.push(await queue.add(p.name, p.data, { attempts: 3, backoff: { type: 'fixed', delay: 10 } }));
  }
  return jobs;
}

/** Waits until every job is failed or completed (polling states, not the 1 MB payloads), then reads them. */
async function settle(queue: Queue, jobs: Job[]): Promise<{ job: Job; state: string }[]> {
  const states = await until(
    `${jobs.length} jobs of ${queue.name} to settle`,
    async () => {
      const s = await Promise.all(jobs.map((j) => queue.getJobState(String(j.id))));
      return s.every((x) => x === 'failed' || x === 'completed') ? s : undefined;
    },
    60_000,
  );
  return Promise.all(
    jobs.map(async (j, i) => {
      const job = await queue.getJob(String(j.id));
      if (!job) throw new Error(`job ${j.id} of ${queue.name} vanished`);
      return { job, state: String(states[i]) };
    }),
  );
}

/**
 * What is wrong with the settled poison jobs: each must have failed on its first attempt, with a reason
 * that names the problem and stays short (a 1 MB payload must not come back as a 1 MB reason).
 */
function problems(queue: string, poison: Poison[], settled: { job: Job; state: string }[]): string[] {
  const out: string[] = [];
  for (const [i, { job, state }] of settled.entries()) {
    const p = poison[i];
    if (!p) continue;
    const reason = job.failedReason ?? '';
    const wrong: string[] = [];
    if (state !== 'failed') wrong.push(`ended ${state}`);
    if (job.attemptsMade !== 1) wrong.push(`attemptsMade ${job.attemptsMade}`);
    if (!p.reason.test(reason)) wrong.push(`reason ${JSON.stringify(reason.slice(0, 160))} does not match ${p.reason}`);
    if (reason.length > 400) wrong.push(`reason is ${reason.length} characters long`);
    if (wrong.length) out.push(`${queue} / ${p.label}: ${wrong.join('; ')}`);
  }
  return out;
}

describe('poison jobs', () => {
  it('fail at once with a reason in every queue, pollute nothing, and the worker keeps serving', async () => {
    const e = testEnv();
    envs.push(e);
    const config = configOf(e);
    await startPool(config);
    const q = producer(config);
    producers.push(q);
    for (const list of [rebuildPoison, scanPoison, summaryPoison, controlPoison]) {
      expect(list.length).toBeGreaterThanOrEqual(20);
    }

    const queues: [Queue, Poison[]][] = [
      [q.queue(queueName.rebuild('local')), rebuildPoison],
      [q.queue(queueName.scan('local')), scanPoison],
      [q.queue(queueName.summary), summaryPoison],
      [q.queue(queueName.control('local')), controlPoison],
    ];
    const added = await Promise.all(queues.map(([queue, poison]) => addAll(queue, poison)));
    const wrong: string[] = [];
    for (const [i, [queue, poison]] of queues.entries()) {
      const settled = await settle(queue, added[i] ?? []);
      expect(settled).toHaveLength(poison.length);
      wrong.push(...problems(queue.name, poison, settled));
    }
    expect(wrong).toEqual([]);

    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.hasOwn(Object.prototype, 'polluted')).toBe(false);
    // the set jobs above were all refused: no property was stored for their scope
    expect(await q.redis.keys(`${config.prefix}:prop*`)).toEqual([]);

    // a summary that names no hosts has nothing to wait for: it completes with zeros
    const empty = await q.queue(queueName.summary).add(JOB.summary, { runId: 'r-empty', hosts: [] });
    const [emptyDone] = await settle(q.queue(queueName.summary), [empty]);
    expect(emptyDone?.state).toBe('completed');
    expect(emptyDone?.job.returnvalue as RebuildallResult).toEqual({
      apps: 0,
      containers: 0,
      configured: 0,
      failed: 0,
      results: [],
      hostFailures: [],
    });

    // the same worker still serves: a good rebuild completes
    const app = appName('after-poison');
    await createAppContainer({ app });
    const rebuilds = q.queue(queueName.rebuild('local'));
    const good = await rebuilds.add(JOB.rebuild, { app, host: 'local' }, { attempts: 3 });
    const [done] = await settle(rebuilds, [good]);
    expect(done?.state).toBe('completed');
    expect(done?.job.returnvalue as RebuildResult).toMatchObject({ app, containers: 1, configured: 1, failed: 0 });
  }, 120_000); // about 100 jobs, ten of them 1 MB
});
