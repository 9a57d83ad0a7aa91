import { ContainerFailedError, dockerStatus } from './errors.js';

/**
 * Whether an error is one container's own problem, which the per-app job counts as that container's failure:
 * the engine answered about it with an error status (a network that does not exist, a name another container
 * holds, a bind mount whose folder is gone), or its replacement did not keep running (ContainerFailedError).
 * Anything else is not the container's: an engine that does not answer (DockerUnreachableError), Redis, a
 * file system, a bug. Those are thrown, so that the job is retried instead of completing on stale facts.
 */
export function isContainerProblem(err: unknown): boolean {
  return err instanceof ContainerFailedError || dockerStatus(err) !== undefined;
}
