import { type Logger, pino } from 'pino';

export type { Logger };

/**
 * ioredis puts the failed command on its errors (`command: {name, args}`); for a refused AUTH or
 * HELLO the args hold the password of REDIS_URL. The serialized error keeps the command's name
 * only, and so do the errors serialized inside it (causes, aggregate errors). Nothing the caller
 * holds is changed: only the serializer's own objects are.
 */
function scrubCommands(serialized: Record<string, unknown>, proto: unknown, depth = 0): void {
  const command = serialized.command;
  if (typeof command === 'object' && command !== null && 'args' in command) {
    serialized.command = { name: (command as { name?: unknown }).name };
  }
  if (depth > 5) return;
  for (const v of Object.values(serialized)) {
    for (const inner of Array.isArray(v) ? v : [v]) {
      if (typeof inner === 'object' && inner !== null && Object.getPrototypeOf(inner) === proto) {
        scrubCommands(inner as Record<string, unknown>, proto, depth + 1);
      }
    }
  }
}

/** pino's error serializer, without the arguments of a Redis command. */
export function serializeError(err: unknown): unknown {
  const out = pino.stdSerializers.err(err as Error) as unknown;
  if (typeof out === 'object' && out !== null && out !== err) {
    scrubCommands(out as Record<string, unknown>, Object.getPrototypeOf(out));
  }
  return out;
}

/** The root logger: JSON lines on stdout (or fd 2 for the CLI). Only entry points create one. */
export function createLogger(level: string, destination: 1 | 2 = 1): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      serializers: { err: serializeError },
      redact: { paths: ['redisUrl', '*.redisUrl', 'token', '*.token', 'password', '*.password'], censor: '***' },
    },
    pino.destination({ fd: destination, sync: destination === 2 }),
  );
}

/** A logger that writes nothing, for library use and tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
