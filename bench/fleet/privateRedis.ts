// The fleet bench's own Redis: a redis-server on a free port with its own temp dir, so that the shared Redis
// at 6379 is not disturbed and its INFO figures (commands, CPU, memory) are the fleet's alone.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { live } from '../interrupt.js';
import { running } from '../runTimed.js';

/** A TCP port no one listens on right now (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export class PrivateRedis {
  private constructor(
    readonly port: number,
    readonly dir: string,
    readonly child: ChildProcess,
    /** the bench's own connection (INFO, MEMORY USAGE, FLUSHALL) */
    readonly client: Redis,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** Starts redis-server (no persistence) in `<tmp>/redis` and waits for its PONG (20 s at most). */
  static async start(tmp: string): Promise<PrivateRedis> {
    live();
    const dir = path.join(tmp, 'redis');
    await mkdir(dir, { recursive: true });
    const port = await freePort();
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        '--logfile',
        path.join(dir, 'redis.log'),
        '--daemonize',
        'no',
        '--maxclients',
        '10000',
      ],
      { stdio: 'ignore' },
    );
    running.add(child);
    child.on('exit', () => running.delete(child));
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 3 });
    client.on('error', () => {});
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`redis-server exited with ${child.exitCode} (log: ${dir}/redis.log)`);
      try {
        if (client.status === 'wait') await client.connect();
        if ((await client.ping()) === 'PONG') break;
      } catch {}
      if (Date.now() > deadline) throw new Error('the private redis-server did not answer within 20 s');
      await sleep(50);
    }
    return new PrivateRedis(port, dir, child, client);
  }

  async stop(): Promise<void> {
    this.client.disconnect();
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
