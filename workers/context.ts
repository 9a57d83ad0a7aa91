import type { Job } from 'bullmq';
import type { Config } from '../src/config.js';
import type { DockerEngine } from '../src/docker/engine.js';
import type { FixedFactsCache } from '../src/docker/fixedFactsCache.js';
import type { ControlJobName, JobResults } from '../src/jobs.js';
import type { Logger } from '../src/logger.js';
import type { NetqQueues } from '../src/queue.js';
import type { RedisClient as Redis } from '../src/redis.js';

/** What every processor receives from the pool. */
export interface WorkerContext {
  config: Config;
  docker: DockerEngine;
  /** the fixed facts of the engine's containers, by id, shared by the pool's jobs (dropped on `destroy`) */
  facts: FixedFactsCache;
  queues: NetqQueues;
  redis: Redis;
  logger: Logger;
  workerId: string;
  /** test and metrics hook: called when a per-app job starts and ends its work on an app */
  onAppWork?: (event: { app: string; phase: 'start' | 'end'; workerId: string; jobId: string }) => void;
}

/** A handler of one control job name (workers/control/): parses its own payload and returns the job's result. */
export type ControlHandler<K extends ControlJobName> = (ctx: WorkerContext, job: Job) => Promise<JobResults[K]>;

/** The handlers of some control job names, by name (workers/control.ts wants one for every name). */
export type ControlHandlers<K extends ControlJobName> = { [N in K]: ControlHandler<N> };
