import type { FastifyInstance } from 'fastify';
import { BadInputError } from '../../src/errors.js';
import { JOB, type SetResult, setJobSchema } from '../../src/jobs.js';
import { validateProperty } from '../../src/properties/validateProperty.js';
import { type NetqQueues, queueName } from '../../src/queue.js';
import { netqJsonObject } from '../../src/report/buildReport.js';
import type { RebuildallResult, RebuildResult } from '../../src/types.js';
import { ensureRedis, rebuild, rebuildall, resolveHost, runControl, waitForJob } from '../client.js';
import { appReportData, globalReportData, reportApps } from '../reportData.js';
import {
  appParam,
  hostWaitSchema,
  jobIdSchema,
  jobQuerySchema,
  noQuerySchema,
  parseInput,
  setBodySchema,
  waitOptions,
  waitSchema,
} from './input.js';
import { knownQueueNames } from './liveQueues.js';

/**
 * The commands of the CLI under /v1, with the CLI's checks (src/appName.ts, validateProperty) and its
 * producer code (producers/client.ts). Input is checked before anything touches Redis, so bad input
 * queues nothing. `wait=false` answers 202 with the job id and its queue, for GET /v1/jobs/:id; a waited
 * answer carries them in the netq-job-id and netq-queue headers.
 */

const REDIS_DEADLINE_MS = 5_000;
/** every command's answer names its job, for GET /v1/jobs/:id?queue=… */
export const JOB_ID_HEADER = 'netq-job-id';
export const QUEUE_HEADER = 'netq-queue';

export function registerApiRoutes(app: FastifyInstance, queues: NetqQueues) {
  const redisReady = () => ensureRedis(queues, REDIS_DEADLINE_MS);

  app.post('/v1/apps/:app/rebuild', async (request, reply) => {
    const name = appParam(request.params);
    const query = parseInput(hostWaitSchema, request.query, 'query');
    const body = parseInput(hostWaitSchema, request.body, 'body');
    const opts = waitOptions(query, body);
    await redisReady();
    const host = await resolveHost(queues, name, body.host ?? query.host);
    const { jobId, result } = await rebuild(queues, { app: name, host }, opts);
    const queue = queueName.rebuild(host);
    reply.header(JOB_ID_HEADER, jobId).header(QUEUE_HEADER, queue);
    if (!result) return reply.code(202).send({ jobId, queue });
    return result satisfies RebuildResult;
  });

  app.post('/v1/rebuildall', async (request, reply) => {
    const opts = waitOptions(
      parseInput(waitSchema, request.query, 'query'),
      parseInput(waitSchema, request.body, 'body'),
    );
    await redisReady();
    const { jobId, result } = await rebuildall(queues, opts);
    reply.header(JOB_ID_HEADER, jobId).header(QUEUE_HEADER, queueName.summary);
    if (!result) return reply.code(202).send({ jobId, queue: queueName.summary });
    return result satisfies RebuildallResult;
  });

  app.put('/v1/apps/:app/properties/:key', async (request, reply) => {
    const name = appParam(request.params);
    const key = String((request.params as { key?: unknown }).key ?? '');
    const query = parseInput(hostWaitSchema, request.query, 'query');
    if (request.body === undefined) throw new BadInputError('body must be a JSON object such as {"values": ["…"]}');
    const body = parseInput(setBodySchema, request.body, 'body');
    validateProperty('app', key, body.values);
    const opts = waitOptions(query, body);
    await redisReady();
    const host = await resolveHost(queues, name, body.host ?? query.host);
    const data = setJobSchema.parse({ host, scope: name, key, values: body.values, apply: body.apply });
    const { jobId, result } = await runControl<SetResult>(queues, host, JOB.set, data, opts);
    reply.header(JOB_ID_HEADER, jobId).header(QUEUE_HEADER, queueName.control(host));
    if (!result) return reply.code(202).send({ jobId, queue: queueName.control(host) });
    if (!result.jobId || !result.queue) return result;
    const applied = await waitForJob<RebuildResult | RebuildallResult>(
      queues,
      result.queue,
      result.jobId,
      opts.timeoutMs,
    );
    return { ...result, result: applied };
  });

  app.get('/v1/apps/:app/report', async (request) => {
    const name = appParam(request.params);
    parseInput(noQuerySchema, request.query, 'query');
    await redisReady();
    const r = await appReportData({ queues }, name, { drift: true });
    return netqJsonObject(r.values, r.drift);
  });

  app.get('/v1/report', async (request) => {
    parseInput(noQuerySchema, request.query, 'query');
    await redisReady();
    const apps = await reportApps({ queues });
    const sections = await Promise.all(apps.map((a) => appReportData({ queues }, a, { drift: true })));
    return Object.fromEntries(sections.map((s) => [s.title, netqJsonObject(s.values, s.drift)]));
  });

  app.get('/v1/global/report', async (request) => {
    parseInput(noQuerySchema, request.query, 'query');
    await redisReady();
    return netqJsonObject((await globalReportData({ queues })).values);
  });

  app.get('/v1/jobs/:id', async (request, reply) => {
    const idResult = jobIdSchema.safeParse((request.params as { id?: unknown }).id);
    if (!idResult.success) throw new BadInputError(`job id: ${idResult.error.issues[0]?.message ?? 'invalid'}`);
    const id = idResult.data;
    const asked = parseInput(jobQuerySchema, request.query, 'query').queue;
    await redisReady();
    // only the queues of hosts that ever reported, so that a lookup does not make a Queue for any name
    const known = await knownQueueNames(queues);
    const where = asked === undefined ? known : known.filter((q) => q === asked);
    const found = (await Promise.all(where.map(async (q) => ({ q, job: await queues.queue(q).getJob(id) })))).filter(
      (f) => f.job !== undefined,
    );
    if (found.length > 1) {
      const names = found.map((f) => f.q).join(', ');
      throw new BadInputError(`job id ${id} is in several queues (${names}): name one with ?queue=`);
    }
    const [hit] = found;
    if (!hit?.job) {
      return reply.code(404).send({ error: `no job ${id} in ${asked === undefined ? 'any queue' : `queue ${asked}`}` });
    }
    const { q: queue, job } = hit;
    return {
      id: job.id,
      queue,
      name: job.name,
      state: await job.getState(),
      returnvalue: job.returnvalue ?? null,
      failedReason: job.failedReason || null,
      attemptsMade: job.attemptsMade,
      timestamp: job.timestamp,
      processedOn: job.processedOn ?? null,
      finishedOn: job.finishedOn ?? null,
    };
  });
}
