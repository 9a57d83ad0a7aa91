import { describe, expect, it } from 'vitest';
import {
  JOB,
  JOB_QUEUE,
  jobId,
  newRunId,
  parseJobId,
  parseLaterJobId,
  parseQueueName,
  parseRebuildJobId,
  parseRunChildJobId,
  parseScanJobId,
  parseSummaryJobId,
  QUEUE_NAME_PATTERN,
  queueName,
  queueOf,
  summaryJobSchema,
} from '../../src/jobs.js';

/** The job registry's builders and parsers of job ids and queue names: each parser reads back what its builder made. */

const RUN = 'run-m0abc12-0123abcd';
// app names may hold ".", "_" and "-", and end in a number: the parts must still split back
const APPS = ['web', 'my-app', 'a.b', 'api.v2.1', 'legacy_name', '0'];
const HOSTS = ['local', 'h-2', '0'];

describe('queue names', () => {
  it('reads back every queue name it makes, kind and host', () => {
    for (const host of HOSTS) {
      expect(parseQueueName(queueName.rebuild(host))).toEqual({ kind: 'rebuild', host });
      expect(parseQueueName(queueName.scan(host))).toEqual({ kind: 'scan', host });
      expect(parseQueueName(queueName.control(host))).toEqual({ kind: 'control', host });
    }
    expect(parseQueueName(queueName.summary)).toEqual({ kind: 'summary' });
  });

  it('refuses names that are none of its queues', () => {
    for (const name of [
      '',
      'rebuild',
      'rebuild.',
      'rebuild.Local',
      'rebuild.-x',
      'rebuild.a.b',
      'rebuild.local:events',
      `rebuild.${'a'.repeat(64)}`,
      'summary.local',
      'summaryx',
      'other.local',
      ' rebuild.local',
    ]) {
      expect(parseQueueName(name), name).toBeUndefined();
      expect(QUEUE_NAME_PATTERN.test(name), name).toBe(false);
    }
  });

  it('maps every job to the queue its workers read', () => {
    expect(queueOf(JOB.rebuild, 'h1')).toBe('rebuild.h1');
    expect(queueOf(JOB.scan, 'h1')).toBe('scan.h1');
    expect(queueOf(JOB.summary, 'h1')).toBe('summary');
    for (const name of [JOB.set, JOB.networkCreate, JOB.networkDestroy, JOB.networkExists, JOB.networkInfo]) {
      expect(queueOf(name, 'h1'), name).toBe('control.h1');
    }
    expect(queueOf(JOB.networkList, 'h1')).toBe('control.h1');
    // every job name has its queue
    expect(Object.keys(JOB_QUEUE).sort()).toEqual(Object.values(JOB).sort());
  });
});

describe('job ids', () => {
  it('reads back the parts of every id it builds', () => {
    for (const host of HOSTS) {
      for (const app of APPS) {
        expect(parseRebuildJobId(jobId.rebuild(host, app, 17)), app).toEqual({ host, app, n: 17 });
        expect(jobId.rebuild(host, app, 3)).toBe(`${jobId.rebuildPrefix(host, app)}3`);
        expect(parseLaterJobId(jobId.later(host, app, 1_764_000_000)), app).toEqual({
          host,
          app,
          second: 1_764_000_000,
        });
        expect(parseRunChildJobId(jobId.runChild(RUN, host, app)), app).toEqual({ runId: RUN, host, app });
      }
      expect(parseScanJobId(jobId.scan(RUN, host))).toEqual({ runId: RUN, host });
    }
    expect(parseSummaryJobId(jobId.summary(RUN))).toEqual({ runId: RUN });
  });

  it('makes run ids that its parsers and the payload schemas take', () => {
    const a = newRunId(0);
    const b = newRunId(0);
    expect(a).toMatch(/^run-0-[0-9a-f]{8}$/);
    expect(a).not.toBe(b);
    const id = newRunId();
    expect(parseSummaryJobId(id)).toEqual({ runId: id });
    expect(summaryJobSchema.safeParse({ runId: id, hosts: [] }).success).toBe(true);
  });

  it('tells the kinds apart, given the queue', () => {
    const rebuild = queueName.rebuild('local');
    expect(parseJobId(rebuild, jobId.rebuild('local', 'web', 4))).toEqual({
      kind: 'rebuild',
      host: 'local',
      app: 'web',
      n: 4,
    });
    expect(parseJobId(rebuild, jobId.later('local', 'web', 99))).toEqual({
      kind: 'later',
      host: 'local',
      app: 'web',
      second: 99,
    });
    expect(parseJobId(rebuild, jobId.runChild(RUN, 'local', 'web'))).toEqual({
      kind: 'runChild',
      runId: RUN,
      host: 'local',
      app: 'web',
    });
    expect(parseJobId(queueName.scan('local'), jobId.scan(RUN, 'local'))).toEqual({
      kind: 'scan',
      runId: RUN,
      host: 'local',
    });
    expect(parseJobId(queueName.summary, jobId.summary(RUN))).toEqual({ kind: 'summary', runId: RUN });
    expect(parseJobId(queueName.control('local'), '42')).toEqual({ kind: 'control', host: 'local', n: 42 });
  });

  it('refuses ids of another kind, another host, or malformed', () => {
    // a merged or later rebuild's id is not a run's child of run "rb" or "later"
    expect(parseRunChildJobId(jobId.rebuild('local', 'web', 1))).toBeUndefined();
    expect(parseRunChildJobId(jobId.later('local', 'web', 1))).toBeUndefined();
    expect(parseScanJobId('rb.local')).toBeUndefined();
    // nor the other way round
    expect(parseRebuildJobId(jobId.runChild(RUN, 'local', 'web'))).toBeUndefined();
    expect(parseLaterJobId(jobId.rebuild('local', 'web', 1))).toBeUndefined();
    expect(parseRebuildJobId(jobId.later('local', 'web', 1))).toBeUndefined();
    // a scan's id is no run child's, and a child's is no scan's
    expect(parseRunChildJobId(jobId.scan(RUN, 'local'))).toBeUndefined();
    expect(parseScanJobId(jobId.runChild(RUN, 'local', 'web'))).toBeUndefined();
    for (const id of [
      '',
      'rb',
      'rb.',
      'rb.local',
      'rb.local.web',
      'rb.local.web.',
      'rb.local.web.x',
      'rb.Local.web.1',
      'rb.local.Web.1',
      'rb.local.a..b.1',
      'rb.local..1',
      'rb.local.web.1.',
      'later.local.web',
      'later.local.web.-1',
    ]) {
      expect(parseRebuildJobId(id), id).toBeUndefined();
      expect(parseLaterJobId(id), id).toBeUndefined();
    }
    for (const id of ['', '.local', 'run.', 'r/1.local', 'run.Local', 'run.local.', 'a.b.c']) {
      expect(parseScanJobId(id), id).toBeUndefined();
    }
    for (const id of ['', 'run.local', 'run.local.', 'run.local.UPPER', 'run.local.-x', 'r:1.local.web', 'run..web']) {
      expect(parseRunChildJobId(id), id).toBeUndefined();
    }
    for (const id of ['', 'rb', 'later', 'run.x', 'a'.repeat(65), 'r/1']) {
      expect(parseSummaryJobId(id), id).toBeUndefined();
    }
    // with its queue: an id of another kind, of another host, or in no queue of netq's
    expect(parseJobId(queueName.rebuild('other'), jobId.rebuild('local', 'web', 1))).toBeUndefined();
    expect(parseJobId(queueName.scan('other'), jobId.scan(RUN, 'local'))).toBeUndefined();
    expect(parseJobId(queueName.scan('local'), jobId.runChild(RUN, 'local', 'web'))).toBeUndefined();
    expect(parseJobId(queueName.summary, jobId.scan(RUN, 'local'))).toBeUndefined();
    expect(parseJobId(queueName.control('local'), jobId.rebuild('local', 'web', 1))).toBeUndefined();
    expect(parseJobId(queueName.control('local'), '0')).toBeUndefined();
    expect(parseJobId('nope', '1')).toBeUndefined();
  });
});
