import { type Job, UnrecoverableError } from 'bullmq';
import type { ControlJobName, JobResults } from '../src/jobs.js';
import type { WorkerContext } from './context.js';
import { networkHandlers } from './control/networks.js';
import { setHandlers } from './control/set.js';

/** A handler of one control job name: parses its own payload and returns the job's result (src/jobs.ts). */
export type ControlHandler<K extends ControlJobName> = (ctx: WorkerContext, job: Job) => Promise<JobResults[K]>;

/** The handlers of some control job names, by name. */
export type ControlHandlers<K extends ControlJobName> = { [N in K]: ControlHandler<N> };

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
