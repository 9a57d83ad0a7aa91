import type { DockerEngine } from '../src/docker/engine.js';
import { isTempName } from '../src/docker/replaceContainer.js';
import { coerceError } from '../src/errors.js';
import type { Logger } from '../src/logger.js';
import { LABEL_APP, LABEL_CONTAINER_TYPE, type WatcherHealth } from '../src/types.js';

const MIN_RECONNECT_MS = 1_000;
const MAX_RECONNECT_MS = 30_000;
const CONTAINER_EVENTS = new Set(['start', 'restart', 'die', 'destroy', 'rename']);
/**
 * Containers that are not (yet) a dyno, whose events never ask for a rebuild: Dokku's `upcoming-<n>` ones
 * under check, and netq's own temporary replacements. Dokku's switch to a new container shows as its rename.
 */
const NOT_A_DYNO = /\.upcoming-\d+$/;
const NETWORK_EVENTS = new Set(['connect', 'disconnect']);
/**
 * Events whose rebuild may wait for the rest of the burst, and must not take the burst's immediate run: a
 * container that stopped, went away or left a network gives no new address to write, and a `connect` comes while
 * a container starts, before it runs (its `start` follows at once and takes the immediate run).
 */
const CAN_WAIT = new Set(['die', 'destroy', 'disconnect', 'connect']);

interface DockerEvent {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

export interface WatcherOptions {
  docker: DockerEngine;
  logger: Logger;
  /** `key=value`: only containers with this label count */
  scopeLabel: string | undefined;
  /**
   * an event concerns this app: queue a (debounced) rebuild; `canWait` when the event gives no new address
   * (a container stopped or removed), so the rebuild need not run at once
   */
  onApp: (app: string, canWait: boolean) => Promise<void>;
  /** the stream is (re)established: events in the gap are lost, so rebuild the whole host */
  onConnect: () => Promise<void>;
  /** a container (any, an app's or not) was destroyed: what is kept about its id can go */
  onDestroy?: (containerId: string) => void;
}

/**
 * Watches one Docker engine for events of Dokku app containers. When the stream breaks it reconnects
 * with backoff (1 s, doubling up to 30 s; never a tight loop), and every (re)connect asks for a host
 * rebuild. Listener errors are logged, never thrown: the watcher cannot crash its worker.
 */
export class DockerEventWatcher {
  private stream: NodeJS.ReadableStream | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private delayMs = MIN_RECONNECT_MS;
  private connects = 0;
  /** container id -> app, learnt from container events, for network events (which carry no labels) */
  private readonly appOf = new Map<string, string>();
  private readonly status: WatcherHealth = { state: 'connecting', lastEventAt: null, reconnects: 0, lastError: null };

  constructor(private readonly opts: WatcherOptions) {}

  start(): void {
    void this.connect();
  }

  health(): WatcherHealth {
    return { ...this.status };
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.status.state = 'connecting';
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.opts.docker.events();
    } catch (err) {
      this.broken(coerceError(err).message, err);
      return;
    }
    if (this.stopped) {
      (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      return;
    }
    this.stream = stream;
    this.status.state = 'connected';
    this.status.lastError = null;
    if (this.connects++ > 0) this.status.reconnects += 1;
    const connectedAt = Date.now();
    this.opts.logger.info({ reconnects: this.status.reconnects }, 'docker event stream connected');
    // network events carry no labels: learn which app each running container belongs to
    this.opts.docker.listAppContainers().then(
      (list) => {
        for (const c of list) this.appOf.set(c.id, c.app);
      },
      (err: unknown) => this.opts.logger.warn({ err }, 'could not list app containers'),
    );
    let buffer = '';
    stream.on('data', (chunk: Buffer | string) => {
      buffer += chunk.toString();
      let nl = buffer.indexOf('\n');
      while (nl >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (line) this.handle(line);
        nl = buffer.indexOf('\n');
      }
    });
    let ended = false;
    const end = (why: string, err?: Error) => {
      if (ended) return;
      ended = true;
      if (Date.now() - connectedAt > 10_000) this.delayMs = MIN_RECONNECT_MS;
      this.broken(why, err);
    };
    stream.on('end', () => end('event stream ended'));
    stream.on('close', () => end('event stream closed'));
    stream.on('error', (err: Error) => end(err.message, err));
    this.safely('host rebuild on connect', this.opts.onConnect());
  }

  private broken(why: string, err?: unknown): void {
    this.stream = undefined;
    if (this.stopped) return;
    this.status.state = 'disconnected';
    this.status.lastError = why;
    const delay = this.delayMs;
    this.delayMs = Math.min(this.delayMs * 2, MAX_RECONNECT_MS);
    this.opts.logger.warn({ err: err ?? why, retryInMs: delay }, 'docker event stream lost; reconnecting');
    this.timer = setTimeout(() => void this.connect(), delay);
  }

  private handle(line: string): void {
    let e: DockerEvent;
    try {
      e = JSON.parse(line) as DockerEvent;
    } catch {
      return;
    }
    this.status.lastEventAt = Date.now();
    if (e.Type === 'container' && e.Action === 'destroy' && e.Actor?.ID) {
      try {
        this.opts.onDestroy?.(e.Actor.ID);
      } catch (err) {
        this.opts.logger.error({ err }, 'event watcher: forgetting a destroyed container failed');
      }
    }
    const app = this.appOfEvent(e);
    if (app !== undefined) this.safely(`rebuild of ${app}`, this.opts.onApp(app, CAN_WAIT.has(e.Action ?? '')));
  }

  /** The app an event is about, when it is one that can change the app's network config; else undefined. */
  private appOfEvent(e: DockerEvent): string | undefined {
    const attrs = e.Actor?.Attributes ?? {};
    if (e.Type === 'network' && NETWORK_EVENTS.has(e.Action ?? '')) {
      return attrs.container ? this.appOf.get(attrs.container) : undefined;
    }
    if (e.Type !== 'container' || !CONTAINER_EVENTS.has(e.Action ?? '')) return undefined;
    const app = attrs[LABEL_APP];
    if (app === undefined || attrs[LABEL_CONTAINER_TYPE] !== 'deploy' || !this.inScope(attrs)) return undefined;
    const name = attrs.name ?? '';
    if (NOT_A_DYNO.test(name) || isTempName(name)) return undefined;
    // remembered so that the container's network events name its app
    if (e.Actor?.ID) {
      if (e.Action === 'destroy') this.appOf.delete(e.Actor.ID);
      else this.appOf.set(e.Actor.ID, app);
    }
    return app;
  }

  private inScope(attrs: Record<string, string>): boolean {
    if (this.opts.scopeLabel === undefined) return true;
    const i = this.opts.scopeLabel.indexOf('=');
    return attrs[this.opts.scopeLabel.slice(0, i)] === this.opts.scopeLabel.slice(i + 1);
  }

  private safely(what: string, p: Promise<void>): void {
    p.catch((err: unknown) => this.opts.logger.error({ err }, `event watcher: ${what} failed`));
  }

  stop(): void {
    this.stopped = true;
    this.status.state = 'stopped';
    if (this.timer) clearTimeout(this.timer);
    (this.stream as (NodeJS.ReadableStream & { destroy?: () => void }) | undefined)?.destroy?.();
    this.stream = undefined;
  }
}
