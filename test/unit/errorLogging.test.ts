import { UnrecoverableError } from 'bullmq';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { errorReply } from '../../producers/http/errorReply.js';
import { BadInputError } from '../../src/errors.js';
import { failFastOnBadInput } from '../../workers/failFast.js';
import { captureLogger } from '../support/captureLogger.js';

/** Errors keep what caused them, and logs carry the error object (type, stack, cause), not only its message. */
describe('error objects in logs and failures', () => {
  it('a refused request logs the error with its type and stack', () => {
    const { logger, lines } = captureLogger();
    const sent: unknown[] = [];
    const reply = {
      code() {
        return reply;
      },
      send(body: unknown) {
        sent.push(body);
        return reply;
      },
    };
    const request = { log: logger, headers: {} } as unknown as FastifyRequest;
    errorReply(new BadInputError('invalid app name "X"'), request, reply as unknown as FastifyReply);
    expect(sent).toEqual([{ error: 'invalid app name "X"' }]);
    const line = lines.find((l) => l.msg === 'request refused') ?? {};
    expect(line.status).toBe(400);
    expect(line.err).toMatchObject({ type: 'BadInputError', message: 'invalid app name "X"' });
    expect((line.err as { stack?: string } | undefined)?.stack).toContain('errorLogging.test.ts');
  });

  it('a BadInputError from a processor fails the job for good, keeping it as the cause', async () => {
    const bad = new BadInputError('payload: app must be a string');
    const processor = failFastOnBadInput(async () => {
      throw bad;
    });
    const err = await processor({} as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnrecoverableError);
    expect((err as Error).message).toBe(bad.message);
    expect((err as Error).cause).toBe(bad);
  });
});
