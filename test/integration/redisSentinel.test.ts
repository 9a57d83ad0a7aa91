import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  appName,
  cleanupDocker,
  closePools,
  configOf,
  createAppContainer,
  freePort,
  runCli,
  startPool,
  tempDir,
  testEnv,
  until,
} from '../helpers.js';

const children: ChildProcess[] = [];
afterEach(async () => {
  await closePools();
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
afterAll(cleanupDocker);

const PASSWORD = 'sentinel-master-pw';

function redisCli(port: number, ...args: string[]): string {
  return execFileSync('redis-cli', ['-p', String(port), '--no-auth-warning', ...args], {
    stdio: ['ignore', 'pipe', 'ignore'],
  })
    .toString()
    .trim();
}

async function answers(port: number, auth: boolean): Promise<void> {
  await until(`redis ${port}`, async () => {
    try {
      return redisCli(port, ...(auth ? ['-a', PASSWORD] : []), 'ping') === 'PONG' ? true : undefined;
    } catch {
      return undefined;
    }
  });
}

describe('Redis Sentinel', () => {
  it('finds the master through Sentinel, and carries on on the new master after a failover', async () => {
    const dir = await tempDir();
    try {
      const [master, replica, sentinel] = [await freePort(), await freePort(), await freePort()];
      const server = (port: number, extra: string[]) => {
        const c = spawn(
          'redis-server',
          [
            ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
            ...['--requirepass', PASSWORD, '--masterauth', PASSWORD, '--dir', dir.dir],
            ...extra,
          ],
          { stdio: 'ignore' },
        );
        children.push(c);
        return c;
      };
      const masterProc = server(master, []);
      server(replica, ['--replicaof', '127.0.0.1', String(master)]);
      await answers(master, true);
      await answers(replica, true);
      const conf = path.join(dir.dir, 'sentinel.conf');
      await writeFile(
        conf,
        [
          `port ${sentinel}`,
          'bind 127.0.0.1',
          `dir ${dir.dir}`,
          `sentinel monitor netqtest 127.0.0.1 ${master} 1`,
          `sentinel auth-pass netqtest ${PASSWORD}`,
          'sentinel down-after-milliseconds netqtest 1000',
          'sentinel failover-timeout netqtest 10000',
          '',
        ].join('\n'),
      );
      children.push(spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' }));
      await answers(sentinel, false);
      await until('the replica is known to Sentinel', async () =>
        redisCli(sentinel, 'sentinel', 'replicas', 'netqtest').includes(String(replica)) ? true : undefined,
      );

      // REDIS_URL names no server here: only the password (Sentinel tells where the master is)
      const e = testEnv({
        REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:1`,
        NETQ_REDIS_SENTINELS: `127.0.0.1:${sentinel}`,
        NETQ_REDIS_SENTINEL_NAME: 'netqtest',
      });
      await startPool(configOf(e));
      const app = appName('sentinel');
      await createAppContainer({ app });
      const first = await runCli(['network:rebuild', app, '--format', 'json', '--timeout', '30'], e);
      expect(first.stderr).toBe('');
      expect(JSON.parse(first.stdout)).toMatchObject({ app, configured: 1, failed: 0 });
      expect(Number(redisCli(master, '-a', PASSWORD, 'dbsize'))).toBeGreaterThan(0);

      // the master dies; Sentinel promotes the replica; the worker and a new CLI find it
      masterProc.kill('SIGKILL');
      await until(
        'Sentinel names the replica as master',
        async () =>
          redisCli(sentinel, 'sentinel', 'get-master-addr-by-name', 'netqtest').endsWith(String(replica))
            ? true
            : undefined,
        30_000,
      );
      const after = await until(
        'a rebuild on the new master',
        async () => {
          const r = await runCli(['network:rebuild', app, '--format', 'json', '--timeout', '10'], e);
          return r.code === 0 ? r : undefined;
        },
        60_000,
      );
      expect(JSON.parse(after.stdout)).toMatchObject({ app, configured: 1, failed: 0 });
      expect(redisCli(replica, '-a', PASSWORD, 'role').split('\n')[0]).toBe('master');
    } finally {
      await closePools();
      await dir.remove();
    }
  });
});
