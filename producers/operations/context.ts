import type { Config } from '../../src/config.js';
import type { NetqQueues } from '../../src/queue.js';

/**
 * What an operation (one per command, in this folder) gets from the producer that calls it: the CLI
 * (producers/commands/) or `netq serve` (producers/http/routes/). An operation checks its input first and
 * only then asks for Redis, so bad input never waits on Redis, and nothing is queued for it.
 */
export interface OperationContext {
  /** the configuration, read once by the producer */
  readonly config: Config;
  /**
   * Redis and the queues, ready to use. The CLI connects on the first call (failing fast, naming
   * REDIS_URL) and closes after the command; `netq serve` shares one connection and checks that it answers.
   */
  queues(): Promise<NetqQueues>;
  /** how the caller names a host, in messages that ask for one: `--host` (CLI), `"host" (query or body)` (HTTP) */
  readonly hostInput: string;
}

/** A job an operation queued, to look it up later (GET /v1/jobs/:id?queue=…). */
export interface QueuedJob {
  jobId: string;
  queue: string;
}
