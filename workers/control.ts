import { type Job, UnrecoverableError } from 'bullmq';
import type { WorkerContext } from './context.js';
import { networkHandlers } from './control/networks.js';
import { setHandlers } from './control/set.js';

/** A handler of one control job name: parses its own payload and returns the job's result. */
export type ControlHandler = (ctx: WorkerContext, job: Job) => Promise<unknown>;

const HANDLERS: Record<string, ControlHandler> = { ...setHandlers, ...networkHandlers };

/**
 * The control queue of a host: set-property and network:* jobs, which need this host's engine.
 * Bad input (BadInputError) is never retried (the pool's failFastOnBadInput); an unreachable engine is.
 */
export function controlProcessor(ctx: WorkerContext) {
  return async (job: Job): Promise<unknown> => {
    const handler = Object.hasOwn(HANDLERS, job.name) ? HANDLERS[job.name] : undefined;
    if (!handler) throw new UnrecoverableError(`unknown control job ${JSON.stringify(job.name).slice(0, 80)}`);
    return handler(ctx, job);
  };
}
