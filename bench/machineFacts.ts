import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { type BenchRun, ROOT } from './benchRun.js';
import { docker } from './containers.js';

export type MachineFacts = Awaited<ReturnType<typeof machineFacts>>;

/** What the figures depend on: the machine, its load, the versions of Docker, Redis, Node, BullMQ and netq. */
export async function machineFacts(run: BenchRun) {
  const exec = promisify(execFile);
  const cli = await exec('docker', ['version', '--format', '{{.Client.Version}}']).then(
    (r) => r.stdout.trim(),
    () => 'unknown',
  );
  const server = await docker.version().then(
    (v) => `${v.Version} (API ${v.ApiVersion})`,
    () => 'unknown',
  );
  const info = await run.redis.info('server');
  const bullmq = JSON.parse(await readFile(path.join(ROOT, 'node_modules/bullmq/package.json'), 'utf8')) as {
    version: string;
  };
  return {
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    memAvailableMbAtStart: Math.round(run.options.memAvailableMb),
    kernel: os.release(),
    docker: { server, cli },
    redis: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
    node: process.version,
    bullmq: bullmq.version,
    loadAverageAtStart: os.loadavg().map((l) => Number(l.toFixed(2))),
    netq: run.netqVersion,
  };
}
