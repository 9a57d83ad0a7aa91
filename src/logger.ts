import { type Logger, pino } from 'pino';

export type { Logger };

/** The root logger: JSON lines on stdout (or fd 2 for the CLI). Only entry points create one. */
export function createLogger(level: string, destination: 1 | 2 = 1): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: { paths: ['redisUrl', '*.redisUrl', 'token', '*.token', 'password', '*.password'], censor: '***' },
    },
    pino.destination({ fd: destination, sync: destination === 2 }),
  );
}

/** A logger that writes nothing, for library use and tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
