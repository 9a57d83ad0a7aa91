import { type ChildProcess, spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../producers/http/server.js';
import type { Config } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { NetqQueues } from '../../src/queue.js';
import {
  appName,
  type CliResult,
  cleanupDocker,
  cleanupPrefix,
  closePools,
  collect,
  configOf,
  createAppContainer,
  freePort,
  openPools,
  ROOT,
  startPool,
  startPoolsWithDeadRebuilds,
  tempDir,
  testEnv,
  until,
} from '../helpers.js';

/**
 * /metrics as Prometheus's own tools read it, and the Grafana dashboard that ships (docs/grafana/netq.json)
 * against it. The scrape is taken after a rebuildall whose per-app jobs all failed for good (their workers'
 * Docker socket is dead), with a watching worker live, so every metric family has samples.
 *
 * Then a real Prometheus server (Debian's, like promtool) scrapes it with the scrape config the README shows,
 * and answers every query of the dashboard.
 *
 * `promtool check metrics` must pass without a single problem, lint findings included (a counter without
 * `_total`, a missing HELP, a unit not in the name…): promtool 2.42 exits 3 on them, and netq's metrics
 * follow Prometheus's naming conventions, so any finding is a regression.
 */

const TOKEN = 'prom-token-0123456789-abcdef';
const DASHBOARD = path.join(ROOT, 'docs/grafana/netq.json');

let env: Record<string, string>;
let queues: NetqQueues;
let app: FastifyInstance;
let text: string;
let serverUrl: string;
const prometheus: ChildProcess[] = [];

/** Runs a command with `input` on its stdin. */
function run(cmd: string, args: string[], input = ''): Promise<CliResult> {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin?.on('error', () => {});
  child.stdin?.end(input);
  return collect(child);
}

beforeAll(async () => {
  env = testEnv({ NETQ_API_TOKEN: TOKEN, NETQ_ATTEMPTS: '2', NETQ_BACKOFF_MS: '20' });
  const config: Config = configOf(env);
  await startPoolsWithDeadRebuilds(config);
  // a worker of another role that watches its engine: the watcher gauges get a sample
  await startPool(config, { roles: ['control'], watchEvents: true });
  queues = new NetqQueues(config);
  queues.redis.on('error', () => {});
  app = await buildServer({ config, queues, logger: silentLogger() });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  serverUrl = url;
  const scrape = async () => {
    const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    return res.text();
  };

  const apps = [appName('prom-a'), appName('prom-b')];
  await createAppContainer({ app: apps[0] as string, proc: 'web', index: 1 });
  await createAppContainer({ app: apps[0] as string, proc: 'worker', index: 1 });
  await createAppContainer({ app: apps[1] as string, proc: 'web', index: 1 });
  const all = await fetch(`${url}/v1/rebuildall`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ timeout: 60 }),
  });
  expect(await all.json()).toMatchObject({ containers: 3, failed: 3 });
  // the watching worker's own host rebuild at start adds to the counts, whenever it runs: at least these
  text = await until('the failures and a connected watcher on /metrics', async () => {
    const t = await scrape();
    const done =
      sample(t, 'netq_jobs_failed_total{queue="rebuild.local"}') >= 2 &&
      sample(t, 'netq_containers_failed_total{host="local"}') >= 3 &&
      sample(t, 'netq_job_duration_seconds_count{queue="rebuild.local"}') >= 2 &&
      /^netq_watcher_connected\{[^}]*\} 1$/m.test(t);
    return done ? t : undefined;
  });
});

afterAll(async () => {
  for (const p of prometheus.splice(0)) {
    const exited = new Promise((resolve) => p.once('exit', resolve));
    p.kill('SIGTERM');
    await exited;
  }
  await app?.close();
  await queues?.close();
  await closePools();
  expect(openPools()).toBe(0);
  await cleanupDocker();
  if (env) await cleanupPrefix(configOf(env));
});

/** The value of one series of a scrape (`name{labels}` as prom-client writes it), or NaN. */
function sample(scrape: string, series: string): number {
  const line = scrape.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? Number.NaN : Number(line.slice(series.length + 1));
}

/** Metric families of the scrape (`# TYPE name type`), with their types. */
function families(scrape: string): Map<string, string> {
  return new Map([...scrape.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1] as string, m[2] as string]));
}

/** The family a series name of a PromQL query belongs to: `_bucket`, `_sum`, `_count` of a histogram. */
function familyOf(series: string, types: Map<string, string>): string | undefined {
  if (types.has(series)) return series;
  const m = series.match(/^(.+)_(bucket|sum|count)$/);
  return m?.[1] && types.get(m[1]) === 'histogram' ? m[1] : undefined;
}

/** The dashboard's variables as Grafana fills them in: its own intervals, and every host (`All`). */
const interpolate = (expr: string) =>
  expr.replaceAll('$__rate_interval', '1m').replaceAll('$__range', '1h').replaceAll('$host', '.*');

/** The metric names a PromQL expression selects; throws on a syntax error (lezer-promql, Prometheus's grammar). */
function metricNames(expr: string): string[] {
  const tree = parser.parse(expr);
  const names: string[] = [];
  const errors: number[] = [];
  tree.iterate({
    enter: (node) => {
      if (node.type.isError) errors.push(node.from);
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') {
        names.push(expr.slice(node.from, node.to));
      }
    },
  });
  if (errors.length > 0) throw new Error(`PromQL syntax error at ${errors[0]} in ${expr}`);
  return names;
}

interface Target {
  expr: string;
  refId: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: unknown }[] };
}

async function dashboard(): Promise<Dashboard> {
  return JSON.parse(await readFile(DASHBOARD, 'utf8')) as Dashboard;
}

/** Every PromQL query of the dashboard, named by panel: its targets and its variables' label_values queries. */
function queriesOf(d: Dashboard): { where: string; expr: string }[] {
  const panels = d.panels.flatMap((p) =>
    (p.targets ?? []).map((t) => ({ where: `${p.title} ${t.refId}`, expr: t.expr })),
  );
  const variables = d.templating.list.flatMap((v) => {
    const q = typeof v.query === 'string' ? v.query : (v.query as { query?: string } | undefined)?.query;
    const m = q?.match(/^label_values\((.+),\s*\w+\)$/);
    return m?.[1] ? [{ where: `variable ${v.name}`, expr: m[1] }] : [];
  });
  return [...panels, ...variables];
}

describe('/metrics read by Prometheus tools', () => {
  it('passes `promtool check metrics` with no problem, failures and watchers included', async () => {
    // the scrape has what a dashboard reads: failures counted, durations observed, workers and watchers
    expect(sample(text, 'netq_workers_live{host="local"}')).toBe(3);
    expect(sample(text, 'netq_redis_up')).toBe(1);
    const res = await run('promtool', ['check', 'metrics'], text);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);

    // the same check fails on text it should refuse: a counter without _total, and a broken line
    const bad = await run(
      'promtool',
      ['check', 'metrics'],
      `${text}# HELP netq_bad_counter a counter\n# TYPE netq_bad_counter counter\nnetq_bad_counter 1\n`,
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('netq_bad_counter');
    expect((await run('promtool', ['check', 'metrics'], `${text}netq_broken{ 1\n`)).code).not.toBe(0);
  });
});

describe('the Grafana dashboard (docs/grafana/netq.json)', () => {
  it('queries only metrics that /metrics exports, in PromQL that Prometheus parses', async () => {
    const d = await dashboard();
    const types = families(text);
    const queries = queriesOf(d);
    expect(queries.length).toBeGreaterThanOrEqual(10);
    const used = new Set<string>();
    for (const { where, expr } of queries) {
      const names = metricNames(interpolate(expr));
      expect(names.length, `${where}: ${expr}`).toBeGreaterThan(0);
      for (const name of names) {
        const family = familyOf(name, types);
        expect(family, `${where}: ${name} is not exported by /metrics`).toBeDefined();
        used.add(family as string);
      }
    }
    // the panels the dashboard is for: throughput, failures, durations, failed containers, workers, watchers
    for (const family of [
      'netq_jobs_completed_total',
      'netq_jobs_failed_total',
      'netq_job_duration_seconds',
      'netq_containers_failed_total',
      'netq_workers_live',
      'netq_watcher_connected',
      'netq_queue_jobs',
    ]) {
      expect(used, family).toContain(family);
    }

    // Prometheus's own parser agrees: each query as a recording rule, checked by promtool
    const { dir, remove } = await tempDir();
    try {
      const rules = queries.map(
        ({ expr }, i) =>
          `      - record: netq:dashboard_query_${i}\n        expr: ${JSON.stringify(interpolate(expr))}`,
      );
      const file = path.join(dir, 'rules.yml');
      await writeFile(file, `groups:\n  - name: netq-dashboard\n    rules:\n${rules.join('\n')}\n`);
      const res = await run('promtool', ['check', 'rules', file]);
      expect(res.code, res.stdout + res.stderr).toBe(0);
      expect(res.stdout).toContain(`SUCCESS: ${queries.length} rules found`);
    } finally {
      await remove();
    }
  });

  it('is a dashboard Grafana imports: unique panel ids, a 24-column grid, the datasource a variable', async () => {
    const d = await dashboard();
    expect(d).toMatchObject({ uid: 'netq-overview', title: 'netq', schemaVersion: expect.any(Number) });
    const ids = d.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of d.panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      if (p.type === 'row') continue;
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
    }
    expect(d.templating.list.find((v) => v.name === 'datasource')).toMatchObject({
      type: 'datasource',
      query: 'prometheus',
    });
  });
});

describe('a real Prometheus server', () => {
  it('scrapes /metrics with the token (and not without), and answers every dashboard query with series', async () => {
    const dir = await tempDir();
    try {
      const target = new URL(serverUrl).host;
      await writeFile(path.join(dir.dir, 'token'), TOKEN);
      // the scrape config the README shows, pointed at this server; and a job without the token
      await writeFile(
        path.join(dir.dir, 'prometheus.yml'),
        [
          'global: { scrape_interval: 1s, evaluation_interval: 1s }',
          'scrape_configs:',
          '  - job_name: netq',
          `    authorization: { credentials_file: ${path.join(dir.dir, 'token')} }`,
          `    static_configs: [{ targets: ['${target}'] }]`,
          '  - job_name: netq-no-token',
          `    static_configs: [{ targets: ['${target}'] }]`,
          '',
        ].join('\n'),
      );
      const check = await run('promtool', ['check', 'config', path.join(dir.dir, 'prometheus.yml')]);
      expect(check.code, check.stdout + check.stderr).toBe(0);
      const port = await freePort();
      const server = spawn(
        'prometheus',
        [
          `--config.file=${path.join(dir.dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${path.join(dir.dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--log.level=warn',
        ],
        { stdio: 'ignore' },
      );
      prometheus.push(server);
      const query = async (q: string) => {
        const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`).catch(
          () => undefined,
        );
        // not listening yet, or "Service Unavailable" while it starts
        if (!res || res.status === 503) return undefined;
        return (await res.json()) as {
          status: string;
          error?: string;
          data?: { result: { value: [number, string] }[] };
        };
      };
      // three scrapes in, rates have two samples at least
      await until(
        'three scrapes of netq by Prometheus',
        async () => {
          const r = await query('count_over_time(netq_redis_up{job="netq"}[1m])');
          return Number(r?.data?.result[0]?.value[1] ?? 0) >= 3 ? true : undefined;
        },
        60_000,
      );
      const up = async (job: string) => (await query(`up{job="${job}"}`))?.data?.result[0]?.value[1];
      expect(await up('netq')).toBe('1');
      expect(await up('netq-no-token')).toBe('0');

      for (const { where, expr } of queriesOf(await dashboard())) {
        const res = await query(interpolate(expr));
        expect(res?.status, `${where}: ${res?.error}`).toBe('success');
        expect(res?.data?.result.length, `${where}: no series for ${interpolate(expr)}`).toBeGreaterThan(0);
      }
    } finally {
      for (const p of prometheus.splice(0)) {
        const exited = new Promise((resolve) => p.once('exit', resolve));
        p.kill('SIGTERM');
        await exited;
      }
      await dir.remove();
    }
  });
});
