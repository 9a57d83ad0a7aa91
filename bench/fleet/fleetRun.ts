// One run of the fleet bench: its temp dir (sockets, logs, the private Redis's dir, the copy of netq's
// build), the private Redis, netq's prefix and a producer on it, what it has started (engines, workers), and
// the problems found; `cleanup` ends it all, whatever happened.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.js';
import { NetqQueues } from '../../src/queue.js';
import { ROOT, say } from '../benchRun.js';
import { running } from '../runTimed.js';
import { snapshotBuild } from '../snapshotBuild.js';
import type { FleetEngines } from './fleetEngines.js';
import type { FleetOptions } from './fleetOptions.js';
import { type FleetWorker, stopWorkers } from './fleetWorkers.js';
import { PrivateRedis } from './privateRedis.js';

export class FleetRun {
  readonly id = randomBytes(3).toString('hex');
  /** netq's NETQ_PREFIX in the private Redis (wrapped in {} by netq) */
  readonly prefix = 'fleet';
  tmp = '';
  build = ROOT;
  netqVersion = 'unknown';
  redis: PrivateRedis | undefined;
  queues: NetqQueues | undefined;
  engines: FleetEngines | undefined;
  workers: FleetWorker[] = [];
  readonly problems: string[] = [];
  readonly notes: string[] = [];

  constructor(readonly options: FleetOptions) {}

  get sockDir(): string {
    return path.join(this.tmp, 'sockets');
  }

  get logDir(): string {
    return path.join(this.tmp, 'logs');
  }

  /** The temp dir, the copy of netq's build, the private Redis and a producer on it. */
  async open(): Promise<void> {
    this.tmp = await mkdtemp(path.join(os.tmpdir(), 'netq-fleet-'));
    await mkdir(this.sockDir);
    await mkdir(this.logDir);
    const snapshot = await snapshotBuild(ROOT, this.tmp);
    this.build = snapshot.dir;
    this.netqVersion = snapshot.version;
    this.redis = await PrivateRedis.start(this.tmp);
    this.queues = new NetqQueues(
      loadConfig({ REDIS_URL: this.redis.url, NETQ_PREFIX: this.prefix, LOG_LEVEL: 'silent' }),
    );
  }

  /** The private Redis and the producer, which exist once open() is done. */
  ready(): { redis: PrivateRedis; queues: NetqQueues } {
    if (!this.redis || !this.queues) throw new Error('the fleet run is not open');
    return { redis: this.redis, queues: this.queues };
  }

  problem(what: string): void {
    this.problems.push(what);
    say(`  PROBLEM: ${what}`);
  }

  /** Workers, engines, the producer, the private Redis, the temp dir: each step run whatever the others did. */
  async cleanup(): Promise<void> {
    say('\ncleanup');
    const step = async (what: string, fn: () => Promise<string>) => {
      try {
        say(`  ${what}: ${await fn()}`);
      } catch (err) {
        this.problems.push(`cleanup ${what}: ${(err as Error).message}`);
        say(`  ${what}: FAILED ${(err as Error).message}`);
      }
    };
    await step('workers', async () => {
      const n = this.workers.length;
      await stopWorkers(this.workers);
      this.workers = [];
      return `${n} stopped`;
    });
    await step('simulated engines', async () => {
      await this.engines?.close();
      this.engines = undefined;
      return 'closed';
    });
    await step('producer', async () => {
      await this.queues?.close();
      return 'closed';
    });
    await step('private redis', async () => {
      await this.redis?.stop();
      return this.redis ? `port ${this.redis.port} stopped` : 'none';
    });
    await step('other children', async () => {
      const n = running.size;
      for (const c of running) c.kill('SIGKILL');
      return `${n} ended`;
    });
    await step('temp dir', async () => {
      if (!this.tmp) return 'none';
      await rm(this.tmp, { recursive: true, force: true });
      return `${this.tmp} removed`;
    });
  }
}
