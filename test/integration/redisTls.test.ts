import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  appName,
  cleanupDocker,
  createAppContainer,
  freePort,
  ROOT,
  runCli,
  tempDir,
  testEnv,
  until,
} from '../helpers.js';

afterAll(cleanupDocker);

/** A CA and a certificate for 127.0.0.1 signed by it, made with openssl in `dir`. */
async function makeCertificates(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const f = (name: string) => path.join(dir, name);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  const newKey = ['-newkey', 'rsa:2048', '-nodes'];
  ssl(
    'req',
    '-x509',
    ...newKey,
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
    '-days',
    '1',
    '-subj',
    '/CN=netq-test-ca',
  );
  // the subject is not what Node checks: the IP in subjectAltName is
  ssl('req', ...newKey, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1');
  await writeFile(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  ssl(
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-out',
    f('server.pem'),
    '-days',
    '1',
    '-extfile',
    f('ext.cnf'),
  );
  return { ca: f('ca.pem'), cert: f('server.pem'), key: f('server.key') };
}

describe('Redis over TLS', () => {
  it('works with rediss:// and a password, verifies the certificate, and never shows the password', async () => {
    const dir = await tempDir();
    const children: ChildProcess[] = [];
    try {
      const { ca, cert, key } = await makeCertificates(dir.dir);
      const port = await freePort();
      const password = 'tls-s3cret-pw';
      const redis = spawn(
        'redis-server',
        [
          ...['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1'],
          ...['--tls-cert-file', cert, '--tls-key-file', key, '--tls-ca-cert-file', ca, '--tls-auth-clients', 'no'],
          ...['--requirepass', password, '--save', '', '--appendonly', 'no', '--dir', dir.dir],
        ],
        { stdio: 'ignore' },
      );
      children.push(redis);
      await until('TLS redis answers', async () => {
        try {
          const out = execFileSync(
            'redis-cli',
            ['--tls', '--cacert', ca, '-p', String(port), '--no-auth-warning', '-a', password, 'ping'],
            { stdio: ['ignore', 'pipe', 'ignore'] },
          );
          return out.toString().trim() === 'PONG' ? true : undefined;
        } catch {
          return undefined;
        }
      });

      const url = `rediss://:${password}@127.0.0.1:${port}`;
      // Node trusts the test's CA through NODE_EXTRA_CA_CERTS, as a user with a private CA would do
      const e = testEnv({ REDIS_URL: url, NODE_EXTRA_CA_CERTS: ca });
      const worker = spawn(process.execPath, [path.join(ROOT, 'bin/netq.js'), 'worker'], {
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...e },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(worker);
      let logs = '';
      worker.stdout?.on('data', (d) => {
        logs += d;
      });
      worker.stderr?.on('data', (d) => {
        logs += d;
      });
      await until('the worker on the TLS Redis', async () =>
        (await runCli(['hosts'], e)).stdout.includes('local') ? true : undefined,
      );

      const app = appName('tls');
      await createAppContainer({ app });
      const res = await runCli(['network:rebuild', app, '--format', 'json', '--timeout', '30'], e);
      expect(res.stderr).toBe('');
      expect(res.code).toBe(0);
      expect(JSON.parse(res.stdout)).toMatchObject({ app, configured: 1, failed: 0 });

      // without the CA the certificate is not trusted: a one-line refusal naming Redis, without the password
      const { NODE_EXTRA_CA_CERTS: _, ...untrusting } = e;
      const refused = await runCli(['network:rebuild', app, '--timeout', '5'], untrusting);
      expect(refused.code).toBe(1);
      expect(refused.stderr.trim().split('\n')).toHaveLength(1);
      expect(refused.stderr).toMatch(/Redis at REDIS_URL=rediss:\/\/.*127\.0\.0\.1/);
      expect(refused.stderr).toMatch(/certificate/i);

      worker.kill('SIGTERM');
      await new Promise((resolve) => worker.once('exit', resolve));
      for (const text of [logs, res.stdout, refused.stderr]) expect(text).not.toContain(password);
    } finally {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await dir.remove();
    }
  });
});
