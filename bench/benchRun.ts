// One run of the bench: its identity (the run id, the container label, the Redis prefixes), the places it
// works in (temp dir, the Dokku roots of the contenders, the copy of netq's build), what it has started (the
// worker child, the queue floor, producers, call counters) so that the cleanup can end it all, the apps made
// so far, and the problems and notes found along the way.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { type Config, loadConfig } from '../src/config.js';
import { NetqQueues } from '../src/queue.js';
import type { DockerCallCounter, RedisCallCounter } from './callCounters.js';
import { BENCH_LABEL_KEY, type BenchApp } from './containers.js';
import type { QueueFloor } from './floor.js';
import type { BenchOptions } from './options.js';
import { snapshotBuild } from './snapshotBuild.js';
import type { WorkerChild } from './workerProcess.js';

export const ROOT = path.resolve(import.meta.dirname, '..');
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export const say = (line = '') => console.log(line);

/** The environment every child process of the bench starts from. */
export const baseEnv = () => ({ PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root' });

export class BenchRun {
  readonly id = randomBytes(3).toString('hex');
  readonly label = `${BENCH_LABEL_KEY}=${this.id}`;
  readonly netqPrefix = `bench-${this.id}`;
  /** netq's {bench-id}, the one-call's {bench-id-onecall}, the floor's {bench-id-floor} */
  readonly keyPattern = `{bench-${this.id}*`;
  readonly netqConfig: Config = loadConfig({ REDIS_URL, NETQ_PREFIX: this.netqPrefix, LOG_LEVEL: 'silent' });
  readonly redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 3 });
  tmp = '';
  /** the copy of netq's build the bench runs (dist/ can be rebuilt by others while the bench runs) */
  build = ROOT;
  netqVersion = 'unknown';
  roots = { dokku: '', onecall: '', netq: '' };
  /** netq's Dokku lib root (config/ps scale, config/common deployed, config/network properties), beside roots.netq */
  netqLib = '';
  worker: WorkerChild | undefined;
  floor: QueueFloor | undefined;
  readonly openQueues: NetqQueues[] = [];
  dockerCounter: DockerCallCounter | undefined;
  redisCounter: RedisCallCounter | undefined;
  /** the apps made so far, in order (each size takes the first n) */
  readonly apps: BenchApp[] = [];
  /** containers made */
  made = 0;
  readonly problems: string[] = [];
  readonly notes: string[];

  constructor(readonly options: BenchOptions) {
    this.notes = options.notes;
  }

  /** Connects to Redis, makes the temp dir and the contenders' roots, and copies netq's build into it. */
  async open(): Promise<void> {
    await this.redis.connect();
    this.tmp = await mkdtemp(path.join(os.tmpdir(), 'netq-bench-'));
    const tmp = this.tmp;
    this.roots = {
      dokku: path.join(tmp, 'dokku-way'),
      onecall: path.join(tmp, 'one-call'),
      netq: path.join(tmp, 'netq'),
    };
    this.netqLib = path.join(tmp, 'netq-lib');
    for (const r of [...Object.values(this.roots), this.netqLib]) await mkdir(r);
    const snapshot = await snapshotBuild(ROOT, tmp);
    this.build = snapshot.dir;
    this.netqVersion = snapshot.version;
  }

  /** netq's Dokku mode, as every netq process of the bench runs (the worker and the CLI) */
  dokkuEnv() {
    return { NETQ_DOKKU_ROOT: this.roots.netq, NETQ_DOKKU_LIB_ROOT: this.netqLib };
  }

  /** A producer on netq's prefix, closed by the cleanup. */
  queues(): NetqQueues {
    const queues = new NetqQueues(this.netqConfig);
    this.openQueues.push(queues);
    return queues;
  }

  problem(what: string): void {
    this.problems.push(what);
    console.log(`  PROBLEM: ${what}`);
  }
}
