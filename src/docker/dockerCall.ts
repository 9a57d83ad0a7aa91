import { DockerUnreachableError, isDockerConnectionError } from '../errors.js';

/** Runs one Docker API call: `what` names it in errors ("container inspect"). */
export type DockerCall = <T>(what: string, fn: () => Promise<T>) => Promise<T>;

/**
 * The one wrapper of every Docker API call. A connection error becomes DockerUnreachableError (the queue
 * retries it), and so does a call with no answer within `limitMs`: dockerode's own timeout only watches an
 * idle socket, so a daemon that dies or stalls after sending the response headers (as dockerd can while it
 * restarts) would otherwise leave the call pending for ever, and the job holding its app's lock with it.
 */
export function dockerCaller(limitMs: number): DockerCall {
  return async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new DockerUnreachableError(`Docker engine gave no answer to ${what} within ${limitMs} ms`)),
        limitMs,
      );
    });
    try {
      return await Promise.race([fn(), deadline]);
    } catch (err) {
      if (err instanceof DockerUnreachableError) throw err;
      if (isDockerConnectionError(err)) {
        const code = (err as { code?: string }).code;
        throw new DockerUnreachableError(`Docker engine unreachable during ${what} (${code})`, { cause: err });
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
  };
}
