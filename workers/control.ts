import { type Job, UnrecoverableError } from 'bullmq';
import type { ControlJobName, JobResults } from '../src/jobs.js';
import type { ControlHandlers, WorkerContext } from './context.js';
import { networkHandlers } from './control/networks.js';
import { setHandlers } from './control/set.js';

/** A handler for every control job name: one missing fails the type check. */
const HANDLERS: ControlHandlers<ControlJobName> = { ...setHandlers, ...networkHandlers };

const isControlJobName = (name: string): name is ControlJobName => Object.hasOwn(HANDLERS, name);

/**
 * The control queue of a host: set-property and network:* jobs, which need this host's engine.
 * Bad input (BadInputError) is never retried (the pool's failFastOnBadInput); an unreachable engine is.
 */
export function controlProcessor(ctx: WorkerContext) {
  return async (job: Job): Promise<JobResults[ControlJobName]> => {
    const handler = isControlJobName(job.name) ? HANDLERS[job.name] : undefined;
    if (!handler) throw new UnrecoverableError(`unknown control job ${JSON.stringify(job.name).slice(0, 80)}`);
    return handler(ctx, job);
  };
}
