import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import {
  appName,
  cleanupDocker,
  closePools,
  configOf,
  createAppContainer,
  runCli,
  startPool,
  tempDir,
  testEnv,
  until,
} from '../helpers.js';

const servers: ChildProcess[] = [];
afterAll(async () => {
  await closePools();
  for (const s of servers) s.kill('SIGTERM');
  await cleanupDocker();
});

describe('Redis Cluster', () => {
  it('runs a worker and the CLI on a three-node cluster: every key shares the hash tag', async () => {
    const dir = await tempDir();
    const base = 7100 + Math.floor(Math.random() * 800);
    const ports = [base, base + 1, base + 2];
    for (const port of ports) {
      const s = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          `nodes-${port}.conf`,
          '--dir',
          dir.dir,
          '--save',
          '',
          '--appendonly',
          'no',
        ],
        { stdio: 'ignore' },
      );
      servers.push(s);
    }
    for (const port of ports) {
      await until(`redis ${port}`, async () => {
        try {
          execFileSync('redis-cli', ['-p', String(port), 'ping']);
          return true;
        } catch {
          return undefined;
        }
      });
    }
    execFileSync(
      'redis-cli',
      ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
      {
        stdio: 'ignore',
      },
    );
    await until('cluster ok', async () =>
      execFileSync('redis-cli', ['-p', String(base), 'cluster', 'info'])
        .toString()
        .includes('cluster_state:ok')
        ? true
        : undefined,
    );

    const e = testEnv({
      REDIS_URL: `redis://127.0.0.1:${base}`,
      NETQ_REDIS_CLUSTER_NODES: ports.map((p) => `127.0.0.1:${p}`).join(','),
    });
    await startPool(configOf(e));
    const app = appName('cluster');
    await createAppContainer({ app });
    const one = await runCli(['network:rebuild', app, '--format', 'json'], e);
    expect(one.stderr).toBe('');
    expect(JSON.parse(one.stdout)).toMatchObject({ app, configured: 1, failed: 0 });
    const all = await runCli(['network:rebuildall', '--format', 'json'], e);
    expect(JSON.parse(all.stdout)).toMatchObject({ apps: 1, configured: 1, failed: 0 });
    const report = await runCli(['network:report', app, '--network-web-listeners'], e);
    expect(report.stdout).toMatch(/^\d+\.\d+\.\d+\.\d+:5000\n$/);
    await closePools();
    for (const s of servers.splice(0)) s.kill('SIGTERM');
    await dir.remove();
  });
});
