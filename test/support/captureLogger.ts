import { Writable } from 'node:stream';
import { pino } from 'pino';
import { type Logger, serializeError } from '../../src/logger.js';

/** A logger whose lines a unit test reads back (parsed JSON), with the root logger's error serializer. */
export function captureLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      done();
    },
  });
  const logger = pino({ level: 'debug', serializers: { err: serializeError } }, sink);
  return { logger, lines };
}
