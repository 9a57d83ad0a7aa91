import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import {
  AppDoesNotExistError,
  BadInputError,
  coerceError,
  JobFailedError,
  NoWorkerError,
  quoteInput,
  RedisUnreachableError,
  WaitTimeoutError,
} from '../../src/errors.js';

/**
 * netq's errors as HTTP statuses, matched by class: an app Dokku does not have 404, bad input 400, a job the
 * worker failed for good 422 (it refused the input, or its retries ran out; the reason is in the message), no
 * worker or no Redis 503, a wait that timed out 504 (the job stays queued). Anything else is a 500 that is logged.
 */
export function statusOf(err: Error): number {
  if (err instanceof AppDoesNotExistError) return 404;
  if (err instanceof BadInputError) return 400;
  if (err instanceof JobFailedError) return 422;
  if (err instanceof NoWorkerError || err instanceof RedisUnreachableError) return 503;
  if (err instanceof WaitTimeoutError) return 504;
  // fastify's own client errors: invalid JSON, body too large, unsupported media type
  const code = (err as Partial<FastifyError>).statusCode;
  if (typeof code === 'number' && code >= 400 && code < 500) return code;
  return 500;
}

const oneLine = (s: string) => (s.split('\n')[0] ?? '').slice(0, 300);

export function errorReply(raw: unknown, request: FastifyRequest, reply: FastifyReply) {
  const err = coerceError(raw);
  const status = statusOf(err);
  if (status === 500) {
    request.log.error({ err }, 'request failed');
    return reply.code(500).send({ error: 'internal error (logged by netq serve)' });
  }
  request.log.info({ status, err }, 'request refused');
  const message =
    status === 415
      ? `content type ${quoteInput(request.headers['content-type'] ?? '')} is not supported: send application/json`
      : oneLine(err.message);
  return reply.code(status).send({ error: message });
}
