import http from 'node:http';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../producers/http/server.js';
import type { Config } from '../../src/config.js';
import { queueName } from '../../src/jobs.js';
import { silentLogger } from '../../src/logger.js';
import { NetqQueues } from '../../src/queue.js';
import { configOf } from '../helpers.js';

/** The HTTP tests' server and client: `netq serve`'s own server on 127.0.0.1, and requests with exact headers. */

export interface Served {
  base: URL;
  port: number;
  config: Config;
  queues: NetqQueues;
  app: FastifyInstance;
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test answers are checked field by field
  json: any;
}

/** The servers a test file started, closed after each test. */
export class ApiServers {
  private readonly open: Served[] = [];

  /** A real server on 127.0.0.1 and a free port, as `netq serve` builds it. */
  async serve(env: Record<string, string>): Promise<Served> {
    const config = configOf(env);
    const queues = new NetqQueues(config);
    queues.redis.on('error', () => {});
    const app = await buildServer({ config, queues, logger: silentLogger() });
    const base = new URL(await app.listen({ host: '127.0.0.1', port: 0 }));
    const s = { base, port: Number(base.port), config, queues, app };
    this.open.push(s);
    return s;
  }

  async closeAll(): Promise<void> {
    for (const s of this.open.splice(0)) {
      await s.app.close();
      await s.queues.close();
    }
  }
}

export interface RequestOptions {
  /** sent as they are (fetch would not let a test choose Host); Node adds Host when none is given */
  headers?: Record<string, string>;
  /** sent as JSON */
  body?: unknown;
  /** sent as JSON's content type, byte for byte */
  raw?: string;
  timeoutMs?: number;
}

/** One request; the answer's text, and its JSON when it parses. */
export function request(s: Pick<Served, 'port'>, method: string, path: string, o: RequestOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...o.headers };
  const body = o.raw ?? (o.body === undefined ? undefined : JSON.stringify(o.body));
  if (body !== undefined) headers['content-type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: s.port, method, path, headers, timeout: o.timeoutMs ?? 90_000 },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => {
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Jobs in every queue of these hosts and in summary, in any state. */
export async function jobCount(q: NetqQueues, hosts = ['local']): Promise<number> {
  const names = [
    ...hosts.flatMap((h) => [queueName.rebuild(h), queueName.scan(h), queueName.control(h)]),
    queueName.summary,
  ];
  const counts = await Promise.all(names.map((n) => q.queue(n).getJobCounts()));
  return counts.flatMap((c) => Object.values(c)).reduce((a, b) => a + b, 0);
}

/**
 * A host heartbeat without a worker: its queues are known (the dashboard shows them) and whatever is queued
 * stays, so it can be counted. Dated ahead, it stays live for the whole test.
 */
export const fakeLiveHost = (q: NetqQueues, host = 'local', aheadMs = 600_000) =>
  q.redis.zadd(q.keys.hosts, Date.now() + aheadMs, host);
