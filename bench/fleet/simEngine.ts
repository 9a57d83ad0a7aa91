// SIMULATED Docker engine for the fleet bench (`npm run bench -- --fleet`): a small HTTP server on a unix
// socket that speaks the few Docker Engine API (1.41) calls netq makes through dockerode, over the state of
// one simulated host (bench/fleet/simHost.ts). It is NOT Docker and is never used by the tests (other than
// its own test/unit/fleetSimEngine.test.ts): netq's real engine behaviour is proven by test/integration.
//
// Calls answered: GET /_ping, /version; GET /containers/json (all, filters: label, status, name, id), GET
// /containers/{id}/json; POST /containers/create, /containers/{id}/start|stop|rename, DELETE
// /containers/{id}; GET /networks, /networks/{id}; POST /networks/create, /networks/{id}/connect|disconnect,
// DELETE /networks/{id}; GET /events (newline-delimited JSON, filters: type, event, label, container).
// A `/v1.xx` prefix is accepted. Every call but the event stream waits a delay drawn from a latency model
// (seeded); `churn` restarts random containers to make events.
import { rm } from 'node:fs/promises';
import http from 'node:http';
import { type Random, seededRandom, streamSeed } from './seededRandom.js';
import { type HostShape, SimError, type SimEvent, SimHost } from './simHost.js';
import { callDelayMs, DEFAULT_LATENCY, type LatencyModel } from './simLatency.js';

export interface SimEngineOptions {
  socketPath: string;
  shape: HostShape;
  latency?: LatencyModel;
}

/** Counts of the calls answered, by endpoint (`GET /containers/:id/json`). */
export type CallCounts = Record<string, number>;

/** The `filters` query parameter in either form Docker accepts (`{"k":["v"]}` or `{"k":{"v":true}}`). */
export function parseFilters(raw: string | null): Record<string, string[]> {
  if (!raw) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new SimError(400, `invalid filter '${raw}'`);
  }
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries((parsed ?? {}) as Record<string, unknown>)) {
    if (Array.isArray(v)) out[k] = v.map(String);
    else if (v && typeof v === 'object') out[k] = Object.keys(v).filter((x) => (v as Record<string, unknown>)[x]);
  }
  return out;
}

const truthy = (v: string | null) => v !== null && v !== '0' && v !== 'false';

/** Whether an event passes the stream's filters (type, event, label, container), as Docker filters it. */
export function eventMatches(e: SimEvent, f: Record<string, string[]>): boolean {
  if (f.type && !f.type.includes(e.Type)) return false;
  if (f.event && !f.event.includes(e.Action)) return false;
  const attrs = e.Actor.Attributes;
  if (f.label && e.Type !== 'container') return false;
  for (const l of f.label ?? []) {
    const eq = l.indexOf('=');
    if (eq < 0 ? !(l in attrs) : attrs[l.slice(0, eq)] !== l.slice(eq + 1)) return false;
  }
  if (f.container) {
    const id = e.Type === 'container' ? e.Actor.ID : (attrs.container ?? '');
    if (!f.container.some((c) => id.startsWith(c) || attrs.name === c)) return false;
  }
  return true;
}

/** The endpoint a path names, ids replaced by `:id`, for the call counts. */
const endpointOf = (method: string, parts: string[]) =>
  `${method} /${parts.map((p, i) => (i === 1 && p !== 'json' && p !== 'create' ? ':id' : p)).join('/')}`;

/** What a route is given: the id in the path, the query, and the request body (read on demand). */
interface RouteInput {
  id: string;
  q: URLSearchParams;
  body: () => Promise<Record<string, unknown>>;
}

/** An answer: its status, and its body (JSON, or text), when it has one. */
type Route = (h: SimHost, r: RouteInput) => [number, (unknown | Promise<unknown>)?];

const noContent = (status: number, act: () => void): [number] => {
  act();
  return [status];
};

/** The calls answered, by endpoint as endpointOf names it. */
const ROUTES: Record<string, Route> = {
  'GET /_ping': () => [200, 'OK'],
  'HEAD /_ping': () => [200],
  'GET /version': () => [200, { Version: '20.10.24-sim', ApiVersion: '1.41', MinAPIVersion: '1.12', Os: 'linux' }],
  'GET /containers/json': (h, { q }) => [200, h.listContainers(truthy(q.get('all')), parseFilters(q.get('filters')))],
  'POST /containers/create': (h, { q, body }) => [201, body().then((b) => h.create(q.get('name') ?? undefined, b))],
  'GET /containers/:id/json': (h, { id }) => [200, h.inspect(id)],
  'POST /containers/:id/start': (h, { id }) => [h.start(id) ? 204 : 304],
  'POST /containers/:id/stop': (h, { id }) => [h.stop(id) ? 204 : 304],
  'POST /containers/:id/rename': (h, { id, q }) => noContent(204, () => h.rename(id, q.get('name') ?? '')),
  'DELETE /containers/:id': (h, { id, q }) => noContent(204, () => h.remove(id, truthy(q.get('force')))),
  'GET /networks': (h) => [200, h.listNetworks()],
  'POST /networks/create': (h, { body }) => [201, body().then((b) => h.createNetwork(b))],
  'GET /networks/:id': (h, { id }) => [200, h.inspectNetwork(id)],
  'DELETE /networks/:id': (h, { id }) => noContent(204, () => h.removeNetwork(id)),
  'POST /networks/:id/connect': (h, { id, body }) => [
    200,
    body().then((b) => {
      h.connect(id, String(b.Container ?? ''), (b.EndpointConfig as { Aliases?: string[] } | undefined)?.Aliases ?? []);
      return undefined;
    }),
  ],
  'POST /networks/:id/disconnect': (h, { id, body }) => [
    200,
    body().then((b) => {
      h.disconnect(id, String(b.Container ?? ''));
      return undefined;
    }),
  ],
};

export class SimEngine {
  readonly host: SimHost;
  readonly calls: CallCounts = {};
  private readonly latency: LatencyModel;
  private readonly random: Random;
  private readonly server: http.Server;
  private readonly streams = new Set<http.ServerResponse>();
  private churnTimer: NodeJS.Timeout | undefined;

  constructor(readonly options: SimEngineOptions) {
    this.host = new SimHost(options.shape);
    this.latency = options.latency ?? DEFAULT_LATENCY;
    this.random = seededRandom(streamSeed(options.shape.seed, options.shape.host, 'latency'));
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => this.fail(res, err));
    });
    this.server.keepAliveTimeout = 30_000;
  }

  async listen(): Promise<void> {
    await rm(this.options.socketPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.socketPath, () => resolve());
    });
  }

  /** Restarts random app containers, `perMinute` on average (0 stops), for their events. */
  churn(perMinute: number): void {
    if (this.churnTimer) clearTimeout(this.churnTimer);
    this.churnTimer = undefined;
    if (perMinute <= 0) return;
    const random = seededRandom(streamSeed(this.options.shape.seed, this.options.shape.host, 'events'));
    const next = () => {
      const waitMs = (-Math.log(1 - random()) * 60_000) / perMinute;
      this.churnTimer = setTimeout(() => {
        this.host.restartRandom(random);
        next();
      }, waitMs);
      this.churnTimer.unref();
    };
    next();
  }

  async close(): Promise<void> {
    this.churn(0);
    for (const s of this.streams) s.end();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.options.socketPath, { force: true });
  }

  private fail(res: http.ServerResponse, err: unknown): void {
    const status = err instanceof SimError ? err.status : 500;
    const message = err instanceof Error ? err.message : String(err);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    this.send(res, status, { message });
  }

  private send(res: http.ServerResponse, status: number, body?: unknown): void {
    const headers = {
      'Api-Version': '1.41',
      'Docker-Experimental': 'false',
      Ostype: 'linux',
      Server: 'Docker/20.10.24-sim (linux)',
    };
    if (body === undefined) {
      res.writeHead(status, headers).end();
      return;
    }
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res
      .writeHead(status, {
        ...headers,
        'Content-Type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
        'Content-Length': Buffer.byteLength(text),
      })
      .end(text);
  }

  private async body(req: http.IncomingMessage): Promise<Record<string, unknown>> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8').trim();
    if (!text) return {};
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new SimError(400, 'invalid JSON body');
    }
  }

  /** Waits one call's delay: under 1 ms as a 1 ms timer or none, so that the mean delay stays the model's. */
  private async delay(listed: number): Promise<void> {
    const ms = callDelayMs(this.latency, this.random, listed);
    if (ms >= 1) {
      await new Promise((r) => setTimeout(r, Math.round(ms)));
    } else if (this.random() < ms) {
      await new Promise((r) => setTimeout(r, 1));
    } else {
      await new Promise((r) => setImmediate(r));
    }
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    const parts = url.pathname
      .replace(/^\/v\d+\.\d+(?=\/)/, '')
      .split('/')
      .filter(Boolean)
      .map(decodeURIComponent);
    const method = req.method ?? 'GET';
    const endpoint = endpointOf(method, parts);
    this.calls[endpoint] = (this.calls[endpoint] ?? 0) + 1;
    const q = url.searchParams;
    if (endpoint === 'GET /events') {
      this.stream(req, res, parseFilters(q.get('filters')));
      return;
    }
    const route = ROUTES[endpoint];
    if (!route) throw new SimError(404, `page not found: ${method} ${url.pathname} (not simulated)`);
    await this.delay(endpoint === 'GET /containers/json' ? this.host.scanned(parseFilters(q.get('filters'))) : 0);
    const [status, body] = route(this.host, { id: parts[1] ?? '', q, body: () => this.body(req) });
    this.send(res, status, await body);
  }

  /** GET /events: newline-delimited JSON of the events that pass the filters, until the client leaves. */
  private stream(req: http.IncomingMessage, res: http.ServerResponse, filters: Record<string, string[]>): void {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Api-Version': '1.41' });
    res.flushHeaders();
    this.streams.add(res);
    const unsubscribe = this.host.subscribe((e) => {
      if (eventMatches(e, filters)) res.write(`${JSON.stringify(e)}\n`);
    });
    const done = () => {
      unsubscribe();
      this.streams.delete(res);
    };
    req.on('close', done);
    res.on('close', done);
  }
}
