import { isIPv6 } from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { HOST_ID_PATTERN } from './hostId.js';

/**
 * The defaults that code outside this module also needs (a DockerodeEngine or a Sentinel client built without a
 * Config, as tests and tools do); every other default is in the schema below. Nothing restates them elsewhere.
 */
export const DEFAULTS = {
  /** the Docker engine's socket when DOCKER_HOST is not set */
  dockerSocket: '/var/run/docker.sock',
  dockerTimeoutMs: 15_000,
  redisSentinelName: 'mymaster',
  /** how long a command waits for its job's result, in seconds (the CLI's --timeout, the API's `timeout`) */
  waitTimeoutS: 600,
} as const;

const hostId = z.string().regex(HOST_ID_PATTERN, 'expected lowercase letters, digits and "-", at most 63 characters');

const int = (min: number, max: number, dflt: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'expected a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .prefault(String(dflt));

/**
 * A URL that ioredis reads as meant: with a host (`redis://` alone would quietly mean 127.0.0.1:6379)
 * and a db that is a number (`/abc` becomes `SELECT NaN`).
 */
function isRedisUrl(value: string): boolean {
  if (!URL.canParse(value)) return true; // z.url() reports it
  const u = new URL(value);
  return u.hostname !== '' && /^\/?\d{0,5}$/.test(u.pathname);
}

/** `host:port` or `[ipv6]:port` → host (without brackets) and port; undefined when malformed. */
function parseListen(value: string): { host: string; port: number } | undefined {
  const m = value.match(/^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (host === undefined || !(port >= 0 && port <= 65535)) return undefined;
  if (m?.[1] !== undefined && !isIPv6(host)) return undefined;
  return { host, port };
}

/**
 * Every environment variable netq reads, with its default. This is the only place that knows
 * them; the rest of the code receives a parsed `Config`.
 */
export const envSchema = z.object({
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL')
    .pipe(z.url())
    .refine(isRedisUrl, 'expected redis://[[user]:password@]host[:port][/db] with a host and a numeric db')
    .default('redis://127.0.0.1:6379')
    .describe('Redis that holds the queues and the network config'),
  NETQ_REDIS_SENTINELS: z
    .string()
    .refine((v) => parseNodes(v) !== undefined, 'expected host:port[,host:port…]')
    .optional()
    .describe('Redis Sentinel nodes (host:port,…); REDIS_URL then gives only password, TLS and db'),
  NETQ_REDIS_SENTINEL_NAME: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected a Sentinel master name')
    .default(DEFAULTS.redisSentinelName)
    .describe('the master name Sentinel knows'),
  NETQ_REDIS_CLUSTER_NODES: z
    .string()
    .refine((v) => parseNodes(v) !== undefined, 'expected host:port[,host:port…]')
    .optional()
    .describe('Redis Cluster start-up nodes (host:port,…); REDIS_URL then gives only password, TLS and db'),
  DOCKER_HOST: z
    .string()
    .regex(/^(unix:\/\/\/.+|tcp:\/\/[^/\s]+:\d+\/?)$/, 'expected unix:///path/to/docker.sock or tcp://host:port')
    .optional()
    .describe('Docker engine of this host (default: the local socket)'),
  NETQ_HOST_ID: hostId.default('local').describe('name of the Docker host this worker serves'),
  NETQ_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected 1-64 letters, digits, "_", "." or "-"')
    .default('netq')
    .describe('Redis key prefix; netq wraps it in {} as a Redis Cluster hash tag'),
  NETQ_DOKKU_ROOT: z
    .string()
    .refine((p) => path.isAbsolute(p), 'expected an absolute path')
    .optional()
    .describe(
      "Dokku's root (e.g. /home/dokku): when set, netq runs in Dokku mode (Dokku's CONTAINER.*, scale and property files are the truth; IP.* and PORT.* are written there)",
    ),
  NETQ_DOKKU_LIB_ROOT: z
    .string()
    .refine((p) => path.isAbsolute(p), 'expected an absolute path')
    .default('/var/lib/dokku')
    .describe("Dokku's lib root, in Dokku mode: its property store (config/network, config/ps scale, config/common)"),
  NETQ_SCOPE_LABEL: z
    .string()
    .regex(/^[A-Za-z0-9._/-]{1,128}=[A-Za-z0-9._/:-]{0,128}$/, 'expected key=value')
    .optional()
    .describe('only manage containers that also carry this label (to share an engine, and to isolate tests)'),
  NETQ_CONCURRENCY: int(1, 256, 8).describe('per-app jobs one worker process runs at once'),
  NETQ_ATTEMPTS: int(1, 100, 5).describe('tries of a job before it counts as failed'),
  NETQ_BACKOFF_MS: int(1, 3_600_000, 1000).describe('first retry delay; doubles on each retry'),
  NETQ_REPLACE: z
    .enum(['auto', 'never'])
    .default('auto')
    .describe(
      'auto: replace a container whose published ports or initial network drifted; never: report it as a failure',
    ),
  NETQ_WAIT_TO_RETIRE_MS: int(0, 600_000, 2000).describe(
    "how long a replaced container keeps running after the config points at its successor (Dokku's wait-to-retire)",
  ),
  NETQ_DOCKER_TIMEOUT_MS: int(100, 600_000, DEFAULTS.dockerTimeoutMs).describe(
    'how long one Docker API call may take (the event stream is open-ended and has no such limit)',
  ),
  NETQ_DEBOUNCE_MS: int(0, 60_000, 250).describe(
    "a quiet app's first Docker event runs its rebuild at once; the rest of a burst (events within this window of each other) give one more rebuild, when the window closes",
  ),
  NETQ_ON_CHANGE: z
    .string()
    .refine(
      (v) => parseCommand(v) !== undefined,
      'expected a command: a JSON array of strings, or words separated by spaces (no shell)',
    )
    .optional()
    .describe(
      "command run (no shell) after an app's listeners changed; it gets NETQ_APP, NETQ_HOST_ID and NETQ_LISTENERS (JSON) in its environment, and {app} in an argument is the app",
    ),
  NETQ_ON_CHANGE_TIMEOUT_MS: int(100, 3_600_000, 30_000).describe(
    'how long the change hook may run; then its whole process group gets SIGTERM, and SIGKILL 2 s later',
  ),
  NETQ_SHUTDOWN_GRACE_MS: int(0, 3_600_000, 30_000).describe(
    'on SIGTERM, how long active jobs may run on; after that they are handed back to the queue',
  ),
  NETQ_API_TOKEN: z
    .string()
    .min(16, 'expected at least 16 characters')
    .regex(/^[\x21-\x7e]+$/, 'expected printable ASCII characters without spaces')
    .optional()
    .describe(
      'bearer token that `netq serve` requires on /v1, /ui and /metrics; unset: serve listens on a loopback address only, without auth',
    ),
  NETQ_API_ALLOWED_HOSTS: z
    .string()
    .regex(/^[A-Za-z0-9.:[\]-]+(,[A-Za-z0-9.:[\]-]+)*$/, 'expected host names or host:port, separated by commas')
    .optional()
    .describe(
      'Host header values `netq serve` answers besides its listen address and localhost (DNS rebinding guard), e.g. netq.example.com',
    ),
  NETQ_API_LISTEN: z
    .string()
    .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:8080 or [::1]:8080')
    .refine((s) => parseListen(s) !== undefined, 'expected host:port with a port of 0-65535 and a valid IPv6 in []')
    .default('127.0.0.1:8080')
    .describe('host:port where `netq serve` listens'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('pino log level'),
});

export type Env = z.infer<typeof envSchema>;

/** Dokku's two roots: the app folders (DOKKU_ROOT) and the property store (DOKKU_LIB_ROOT). */
export interface DokkuPaths {
  root: string;
  libRoot: string;
}

export interface Config {
  redisUrl: string;
  redisSentinels: { host: string; port: number }[] | undefined;
  redisSentinelName: string;
  redisClusterNodes: { host: string; port: number }[] | undefined;
  dockerHost: string | undefined;
  dockerTimeoutMs: number;
  hostId: string;
  /** the key prefix with its hash tag, e.g. `{netq}` */
  prefix: string;
  /** Dokku mode: Dokku's roots; undefined on a host without Dokku (Redis is the store) */
  dokku: DokkuPaths | undefined;
  scopeLabel: string | undefined;
  concurrency: number;
  attempts: number;
  backoffMs: number;
  replace: 'auto' | 'never';
  waitToRetireMs: number;
  debounceMs: number;
  /** the change hook as argv, or undefined */
  onChange: string[] | undefined;
  /** how long the change hook may run before its process group is killed */
  onChangeTimeoutMs: number;
  shutdownGraceMs: number;
  /** the bearer token of `netq serve`; undefined: loopback only, no auth */
  apiToken: string | undefined;
  /** where `netq serve` listens */
  apiListen: { host: string; port: number };
  /** Host header values `netq serve` accepts besides its listen address and localhost */
  apiAllowedHosts: string[];
  logLevel: Env['LOG_LEVEL'];
}

/** Reads the environment once. Throws ConfigError with one line per bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const picked: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') picked[key] = value;
  }
  const parsed = envSchema.safeParse(picked);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(lines);
  }
  const e = parsed.data;
  return {
    redisUrl: e.REDIS_URL,
    redisSentinels: e.NETQ_REDIS_SENTINELS === undefined ? undefined : parseNodes(e.NETQ_REDIS_SENTINELS),
    redisSentinelName: e.NETQ_REDIS_SENTINEL_NAME,
    redisClusterNodes: e.NETQ_REDIS_CLUSTER_NODES === undefined ? undefined : parseNodes(e.NETQ_REDIS_CLUSTER_NODES),
    dockerHost: e.DOCKER_HOST,
    dockerTimeoutMs: e.NETQ_DOCKER_TIMEOUT_MS,
    hostId: e.NETQ_HOST_ID,
    prefix: `{${e.NETQ_PREFIX}}`,
    dokku:
      e.NETQ_DOKKU_ROOT === undefined
        ? undefined
        : { root: path.resolve(e.NETQ_DOKKU_ROOT), libRoot: path.resolve(e.NETQ_DOKKU_LIB_ROOT) },
    scopeLabel: e.NETQ_SCOPE_LABEL,
    concurrency: e.NETQ_CONCURRENCY,
    attempts: e.NETQ_ATTEMPTS,
    backoffMs: e.NETQ_BACKOFF_MS,
    replace: e.NETQ_REPLACE,
    waitToRetireMs: e.NETQ_WAIT_TO_RETIRE_MS,
    debounceMs: e.NETQ_DEBOUNCE_MS,
    onChange: e.NETQ_ON_CHANGE === undefined ? undefined : parseCommand(e.NETQ_ON_CHANGE),
    onChangeTimeoutMs: e.NETQ_ON_CHANGE_TIMEOUT_MS,
    shutdownGraceMs: e.NETQ_SHUTDOWN_GRACE_MS,
    apiToken: e.NETQ_API_TOKEN,
    apiListen: listenOf(e.NETQ_API_LISTEN),
    apiAllowedHosts:
      e.NETQ_API_ALLOWED_HOSTS === undefined ? [] : e.NETQ_API_ALLOWED_HOSTS.split(',').map((h) => h.toLowerCase()),
    logLevel: e.LOG_LEVEL,
  };
}

/** NETQ_API_LISTEN, which the schema has checked (and defaulted) already. */
function listenOf(value: string): { host: string; port: number } {
  const listen = parseListen(value);
  if (!listen) throw new ConfigError([`NETQ_API_LISTEN: expected host:port, not ${JSON.stringify(value)}`]);
  return listen;
}

/** `host:port,host:port` as a list; undefined when any entry is not host:port. */
export function parseNodes(value: string): { host: string; port: number }[] | undefined {
  const out: { host: string; port: number }[] = [];
  for (const part of value.split(',').map((p) => p.trim())) {
    const m = part.match(/^([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/);
    if (!m?.[1] || !m[2] || Number(m[2]) < 1 || Number(m[2]) > 65535) return undefined;
    out.push({ host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) });
  }
  return out.length ? out : undefined;
}

/** A command as argv: a JSON array of strings, or words split on spaces. Undefined when unusable. */
export function parseCommand(value: string): string[] | undefined {
  const v = value.trim();
  let argv: unknown;
  if (v.startsWith('[')) {
    try {
      argv = JSON.parse(v);
    } catch {
      return undefined;
    }
  } else argv = v.split(/\s+/);
  if (!Array.isArray(argv) || argv.length === 0) return undefined;
  if (!argv.every((a): a is string => typeof a === 'string' && a !== '' && !a.includes('\0'))) return undefined;
  return argv;
}

/** Redacts the password of a Redis URL for messages and logs. */
export function redactUrl(url: string): string {
  // up to the last `@`: a password may hold `@` itself (and `/`)
  return url.replace(/\/\/(.*)@(?=[^@]*$)/, (_m, auth: string) => (auth.includes(':') ? '//***@' : `//${auth}@`));
}
