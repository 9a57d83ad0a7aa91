/**
 * netq's error taxonomy. Control flow matches these by class, never by message:
 * - a per-container failure is a `Failure` value (counted, never thrown);
 * - `DockerUnreachableError` / `RedisUnreachableError` are transient: thrown so BullMQ retries with backoff;
 * - `BadInputError` is bad input: exit 1 in the CLI, 4xx over HTTP, and no retry in a worker;
 * - `ExitError` carries an exit code to the CLI entry, the only place that exits.
 */
export class NetqError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Input that can never succeed: a bad app name, flag, payload or value. */
export class BadInputError extends NetqError {}

/**
 * A failure that Dokku's own command reports: the CLI prints it as Dokku does (` !     <message>` on stderr)
 * and exits with Dokku's code, so that scripts written against Dokku read it unchanged.
 */
export class DokkuError extends BadInputError {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Dokku's AppDoesNotExist: exit 20. */
export class AppDoesNotExistError extends DokkuError {
  constructor(app: string) {
    super(`App ${app} does not exist`, 20);
  }
}

/** One or more environment variables are wrong; one line each. */
export class ConfigError extends BadInputError {
  constructor(readonly lines: string[]) {
    super(lines.join('\n'));
  }
}

/** The Docker engine did not answer (socket missing, refused, reset, timed out). */
export class DockerUnreachableError extends NetqError {}

/**
 * The engine's state changed under netq between two calls (a network removed right after netq created it):
 * transient, so retried.
 */
export class EngineStateChangedError extends NetqError {}

/**
 * A container's own problem that the engine did not answer with an error status (a replacement that did not
 * keep running): the per-app job counts it as that container's failure, and does not retry for it.
 */
export class ContainerFailedError extends NetqError {}

/** Redis did not answer within the allowed time. */
export class RedisUnreachableError extends NetqError {}

/** No live worker serves the host a job needs. */
export class NoWorkerError extends NetqError {}

/** Waiting for a job's result took longer than --timeout. */
export class WaitTimeoutError extends NetqError {}

/** A job failed for good (its retries exhausted, or bad input seen by the worker). */
export class JobFailedError extends NetqError {
  /** the worker's reason (the job's failedReason), when the job got as far as a worker */
  readonly reason: string | undefined;
  constructor(message: string, options?: { cause?: unknown; reason?: string }) {
    super(message, options);
    this.reason = options?.reason;
  }
}

/** An app's lock stayed taken (by a rebuild of it) longer than an operation on the app would wait. */
export class AppBusyError extends NetqError {}

/** A job lost its app's lock to another holder before it wrote: transient, so retried. */
export class LockLostError extends NetqError {}

/** Ends the CLI with this exit code after printing nothing more. */
export class ExitError extends NetqError {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/**
 * A value as a one-line message shows it: JSON-quoted, so control characters are visible escapes,
 * and clipped, so a 10k-character argument does not come back in full.
 */
export function quoteInput(value: unknown, max = 64): string {
  const s = typeof value === 'string' ? value : String(value);
  return JSON.stringify(s.length > max ? `${s.slice(0, max)}…` : s);
}

/** Turns anything thrown into an Error, keeping the original as `cause`. */
export function coerceError(err: unknown): Error {
  if (err instanceof Error) return err;
  return new Error(typeof err === 'string' ? err : JSON.stringify(err), { cause: err });
}

const DOCKER_CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EACCES',
]);

/** True when the error means the Docker engine could not be reached at all. */
export function isDockerConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && DOCKER_CONNECT_CODES.has(code);
}

/** The HTTP status a dockerode error carries, if any. */
export function dockerStatus(err: unknown): number | undefined {
  const s = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof s === 'number' ? s : undefined;
}
