// SIMULATED: the state of one simulated Docker host for the fleet bench (`npm run bench -- --fleet`); the HTTP
// side is bench/fleet/simEngine.ts. Never used by the tests (other than test/unit/fleetSimEngine.test.ts).
//
// A host holds Dokku-labelled app containers generated from a seed (`<app>.<proc>.1`, labels
// com.dokku.app-name / container-type=deploy / process-type / dyno, bridge IPs, `PORT` in the environment,
// exposed ports, published ports for the apps that ask for them), a few service containers that are no
// app's, Docker's own networks and one attach network. It answers the calls netq makes in the shapes
// Docker Engine API 1.41 answers them, keeps what netq changes (connect, disconnect, create, start, stop,
// remove, rename), and tells its listeners the events Docker would send. It models no image, process,
// cgroup or real network: a container "runs" until it is stopped. The answers' JSON shapes are in
// simShapes.ts; what a call costs in simLatency.ts (a list call: per container it looks at, as dockerd).
import { type Random, randomHex, seededRandom, streamSeed } from './seededRandom.js';
import {
  containerInspect,
  containerSummary,
  type Endpoint,
  networkJson,
  type PortBinding,
  type SimContainer,
  type SimNetwork,
  stateOf,
} from './simShapes.js';

export const LABELS = {
  app: 'com.dokku.app-name',
  type: 'com.dokku.container-type',
  proc: 'com.dokku.process-type',
  dyno: 'com.dokku.dyno',
} as const;

/** What one simulated host holds, all from `seed`. */
export interface HostShape {
  /** the host id (NETQ_HOST_ID of its worker), also the app names' prefix */
  host: string;
  apps: number;
  /** process types of every app, one container each (`web.1`, `worker.1`) */
  procs: string[];
  seed: number;
  /** share of apps with `bind-all-interfaces` true: their web container publishes its port on 0.0.0.0 */
  publishedShare: number;
  /** share of apps with `attach-post-deploy` = attachNetwork (not attached yet: netq's first rebuild attaches) */
  attachShare: number;
  /** service containers (no Dokku deploy labels) per app, so that a label-filtered list has to skip some */
  serviceShare: number;
}

export const ATTACH_NETWORK = 'fleet-net';

/** One app of a simulated host and the properties it asks for. */
export interface SimApp {
  app: string;
  published: boolean;
  attach: boolean;
}

/** The apps of a host, in order, with their properties: the same for the same shape. */
export function hostApps(shape: HostShape): SimApp[] {
  const random = seededRandom(streamSeed(shape.seed, shape.host, 'apps'));
  return Array.from({ length: shape.apps }, (_, i) => ({
    app: `${shape.host}-app-${String(i + 1).padStart(5, '0')}`,
    published: random() < shape.publishedShare,
    attach: random() < shape.attachShare,
  }));
}

/** An answer Docker would give with an error status: the engine's `{"message": …}`. */
/** The state of a container that was never started. */
const NOT_STARTED = {
  running: false,
  everStarted: false,
  exitCode: 0,
  startedAt: '0001-01-01T00:00:00Z',
  finishedAt: '0001-01-01T00:00:00Z',
} as const;

export class SimError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'SimError';
  }
}

/** A Docker event as the engine streams it (API 1.41). */
export interface SimEvent {
  status?: string;
  id?: string;
  from?: string;
  Type: 'container' | 'network';
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
}

const IMAGE = 'dokku/app:latest';
const DEFAULT_MODES = new Set(['default', 'bridge', '']);

/** Docker's `default` network mode (or none) is the bridge network. */
const initialNetwork = (mode: string) => (DEFAULT_MODES.has(mode) ? 'bridge' : mode);

export class SimHost {
  private readonly containers = new Map<string, SimContainer>();
  private readonly byName = new Map<string, SimContainer>();
  private readonly networks = new Map<string, SimNetwork>();
  private readonly networkByName = new Map<string, SimNetwork>();
  private readonly listeners = new Set<(e: SimEvent) => void>();
  /** ids, names and ports of what netq creates: from a stream of its own, so the generated state stays the seed's */
  private readonly random: Random;
  private nextHostPort = 49153;
  private nextOctet = 18;

  constructor(readonly shape: HostShape) {
    this.random = seededRandom(streamSeed(shape.seed, shape.host, 'runtime'));
    const gen = seededRandom(streamSeed(shape.seed, shape.host, 'state'));
    this.addNetwork({ name: 'bridge', driver: 'bridge', builtin: true, octet: 17 }, gen);
    this.addNetwork({ name: 'host', driver: 'host', builtin: true, octet: 0 }, gen);
    this.addNetwork({ name: 'none', driver: 'null', builtin: true, octet: 0 }, gen);
    this.addNetwork({ name: ATTACH_NETWORK, driver: 'bridge', builtin: false, octet: this.nextOctet++ }, gen);
    this.generate(gen);
  }

  /** Containers on the engine, apps' and services' alike (a label-filtered list looks at each). */
  get size(): number {
    return this.containers.size;
  }

  private addNetwork(
    n: { name: string; driver: string; builtin: boolean; octet: number; labels?: Record<string, string> },
    random: Random,
  ): SimNetwork {
    const net: SimNetwork = {
      id: randomHex(random, 32),
      name: n.name,
      driver: n.driver,
      created: new Date(Date.UTC(2026, 0, 1)).toISOString(),
      labels: n.labels ?? {},
      attachable: !n.builtin,
      internal: false,
      builtin: n.builtin,
      octet: n.octet,
      nextIp: 2,
      freeIps: [],
    };
    this.networks.set(net.id, net);
    this.networkByName.set(net.name, net);
    return net;
  }

  private generate(random: Random): void {
    const now = Date.UTC(2026, 10, 1) / 1000;
    const envOf = (app: string, proc: string) => [
      `PORT=${proc === 'web' ? '5000' : ''}`,
      `DYNO=${proc}.1`,
      `DOKKU_APP_NAME=${app}`,
      'DOKKU_APP_TYPE=herokuish',
      `DOKKU_PROXY_PORT_MAP=http:80:5000`,
      `DATABASE_URL=postgres://${app}:${randomHex(random, 8)}@db.internal:5432/${app.replace(/-/g, '_')}`,
      `REDIS_URL=redis://cache.internal:6379/${Math.floor(random() * 16)}`,
      `SECRET_KEY_BASE=${randomHex(random, 32)}`,
      'PATH=/app/.heroku/node/bin:/app/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'NODE_ENV=production',
      `GIT_REV=${randomHex(random, 20)}`,
    ];
    for (const a of hostApps(this.shape)) {
      for (const proc of this.shape.procs) {
        const id = randomHex(random, 32);
        const startedAt = now - Math.floor(random() * 30 * 86400);
        const web = proc === 'web';
        const c = this.addContainer({
          id,
          name: `${a.app}.${proc}.1`,
          created: startedAt - 20,
          image: IMAGE,
          cmd: ['/start', proc],
          env: envOf(a.app, proc),
          labels: {
            [LABELS.app]: a.app,
            [LABELS.type]: 'deploy',
            [LABELS.proc]: proc,
            [LABELS.dyno]: `${proc}.1`,
            dokku: '',
            'org.label-schema.schema-version': '1.0',
            'org.label-schema.vendor': 'dokku',
          },
          exposed: web ? ['5000/tcp'] : [],
          extraConfig: {},
          networkMode: 'default',
          portBindings: web && a.published ? { '5000/tcp': [{ HostIp: '0.0.0.0', HostPort: '' }] } : {},
          publishAll: false,
          networkAliases: {},
        });
        this.run(c, new Date(startedAt * 1000).toISOString());
      }
      // a service of the app (a database): a container without Dokku's deploy labels
      if (random() < this.shape.serviceShare) {
        const c = this.addContainer({
          id: randomHex(random, 32),
          name: `dokku.postgres.${a.app}`,
          created: now - 86400,
          image: 'postgres:16',
          cmd: ['postgres'],
          env: ['POSTGRES_PASSWORD=secret'],
          labels: { 'com.dokku.service': 'postgres' },
          exposed: ['5432/tcp'],
          extraConfig: {},
          networkMode: 'default',
          portBindings: {},
          publishAll: false,
          networkAliases: {},
        });
        this.run(c, new Date((now - 86400) * 1000).toISOString());
      }
    }
  }

  // ---- events

  subscribe(listener: (e: SimEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: Omit<SimEvent, 'scope' | 'time' | 'timeNano'>): void {
    const ms = Date.now();
    const event: SimEvent = { ...e, scope: 'local', time: Math.floor(ms / 1000), timeNano: ms * 1_000_000 };
    for (const l of this.listeners) l(event);
  }

  private containerEvent(c: SimContainer, action: string, extra: Record<string, string> = {}): void {
    this.emit({
      status: action,
      id: c.id,
      from: c.image,
      Type: 'container',
      Action: action,
      Actor: { ID: c.id, Attributes: { ...c.labels, image: c.image, name: c.name, ...extra } },
    });
  }

  private networkEvent(net: SimNetwork, action: string, containerId?: string): void {
    this.emit({
      Type: 'network',
      Action: action,
      Actor: {
        ID: net.id,
        Attributes: { name: net.name, type: net.driver, ...(containerId ? { container: containerId } : {}) },
      },
    });
  }

  // ---- lookups

  /** A container by full id, name (with or without `/`) or unique id prefix, as Docker resolves them. */
  container(ref: string): SimContainer {
    const c = this.containers.get(ref) ?? this.byName.get(ref.replace(/^\//, ''));
    if (c) return c;
    if (/^[0-9a-f]{1,63}$/.test(ref)) {
      const found = [...this.containers.values()].filter((x) => x.id.startsWith(ref));
      if (found.length === 1 && found[0]) return found[0];
      if (found.length > 1) throw new SimError(400, `multiple IDs found with provided prefix: ${ref}`);
    }
    throw new SimError(404, `No such container: ${ref}`);
  }

  network(ref: string): SimNetwork {
    const n = this.networks.get(ref) ?? this.networkByName.get(ref);
    if (n) return n;
    const found = [...this.networks.values()].filter((x) => x.id.startsWith(ref));
    if (found.length === 1 && found[0]) return found[0];
    throw new SimError(404, `network ${ref} not found`);
  }

  // ---- container calls

  /**
   * The containers a list call looks at, as dockerd does: with an `id` filter only those its id index
   * finds (daemon/list.go), otherwise every container on the engine.
   */
  private candidates(filters: Record<string, string[]>): Iterable<SimContainer> {
    const ids = filters.id;
    if (!ids) return this.containers.values();
    const found = new Set<SimContainer>();
    for (const id of ids) {
      const exact = this.containers.get(id);
      if (exact) found.add(exact);
      else for (const c of this.containers.values()) if (c.id.startsWith(id)) found.add(c);
    }
    return found;
  }

  /** How many containers a list call with these filters looks at (what it costs the engine). */
  scanned(filters: Record<string, string[]>): number {
    return filters.id ? [...this.candidates(filters)].length : this.containers.size;
  }

  /** GET /containers/json: `all`, and the label, status, name and id filters. */
  listContainers(all: boolean, filters: Record<string, string[]>): unknown[] {
    const labels = (filters.label ?? []).map((f) => {
      const eq = f.indexOf('=');
      return eq < 0 ? { key: f, value: undefined } : { key: f.slice(0, eq), value: f.slice(eq + 1) };
    });
    const status = filters.status;
    const names = filters.name;
    const out: unknown[] = [];
    for (const c of this.candidates(filters)) {
      if (!all && !c.running && !status) continue;
      if (!labels.every((l) => (l.value === undefined ? l.key in c.labels : c.labels[l.key] === l.value))) continue;
      if (status && !status.includes(stateOf(c))) continue;
      if (names && !names.some((n) => c.name.includes(n.replace(/^\//, '')))) continue;
      out.push(containerSummary(c, this.lookup));
    }
    return out;
  }

  /** GET /containers/{id}/json */
  inspect(ref: string): unknown {
    return containerInspect(this.container(ref), this.lookup);
  }

  private readonly lookup = (name: string) => this.networkByName.get(name);

  /** A created container: what its create call gave, the rest as Docker sets it for a container not yet started. */
  private addContainer(
    spec: Omit<SimContainer, keyof typeof NOT_STARTED | 'hostname' | 'ports' | 'endpoints'> & {
      networkAliases: Record<string, string[]>;
    },
  ): SimContainer {
    const c: SimContainer = {
      ...spec,
      hostname: spec.id.slice(0, 12),
      ...NOT_STARTED,
      ports: {},
      endpoints: new Map(),
    };
    const first = initialNetwork(spec.networkMode);
    if (first !== 'none' && !first.startsWith('container:')) {
      const net = this.network(first);
      this.addEndpoint(c, net, spec.networkAliases[net.name] ?? spec.networkAliases[spec.networkMode] ?? []);
    }
    this.containers.set(c.id, c);
    this.byName.set(c.name, c);
    return c;
  }

  private addEndpoint(c: SimContainer, net: SimNetwork, aliases: string[]): Endpoint {
    // Docker adds the short id as an alias on a user-defined network
    const all = net.builtin ? aliases : [...aliases, c.id.slice(0, 12)];
    const e: Endpoint = {
      network: net.name,
      aliases: all,
      ip: '',
      mac: '',
      endpointId: randomHex(this.random, 32),
    };
    c.endpoints.set(net.name, e);
    if (c.running) this.assignIp(net, e);
    return e;
  }

  private assignIp(net: SimNetwork, e: Endpoint): void {
    if (net.octet === 0) return; // host, none: no address of its own
    const n = net.freeIps.pop() ?? net.nextIp++;
    e.ip = `172.${net.octet}.${n >> 8}.${n & 255}`;
    e.mac = `02:42:ac:${net.octet.toString(16).padStart(2, '0')}:${((n >> 8) & 255).toString(16).padStart(2, '0')}:${(n & 255).toString(16).padStart(2, '0')}`;
  }

  private releaseIp(e: Endpoint): void {
    const net = this.networkByName.get(e.network);
    if (!net || !e.ip) return;
    const [, , hi, lo] = e.ip.split('.').map(Number);
    net.freeIps.push(((hi ?? 0) << 8) | (lo ?? 0));
    e.ip = '';
  }

  private run(c: SimContainer, startedAt: string): void {
    c.running = true;
    c.everStarted = true;
    c.startedAt = startedAt;
    c.exitCode = 0;
    for (const e of c.endpoints.values()) {
      const net = this.networkByName.get(e.network);
      if (net) this.assignIp(net, e);
    }
    c.ports = {};
    const bind = (key: string, hostIp: string, hostPort: string) => {
      const port = hostPort === '' || hostPort === '0' ? String(this.nextHostPort++) : hostPort;
      c.ports[key] = [
        { HostIp: hostIp || '0.0.0.0', HostPort: port },
        { HostIp: '::', HostPort: port },
      ];
    };
    for (const [key, bindings] of Object.entries(c.portBindings)) {
      for (const b of bindings ?? []) bind(key, b.HostIp, b.HostPort);
    }
    if (c.publishAll) for (const key of c.exposed) if (!c.ports[key]) bind(key, '0.0.0.0', '');
  }

  /** POST /containers/create?name= with Docker's create options. */
  create(name: string | undefined, body: Record<string, unknown>): { Id: string; Warnings: string[] } {
    const finalName = name ?? `sim_${randomHex(this.random, 4)}`;
    if (this.byName.has(finalName)) {
      throw new SimError(
        409,
        `Conflict. The container name "/${finalName}" is already in use by container "${this.byName.get(finalName)?.id}".`,
      );
    }
    const hostConfig = (body.HostConfig ?? {}) as Record<string, unknown>;
    const endpoints = ((body.NetworkingConfig as { EndpointsConfig?: Record<string, { Aliases?: string[] }> })
      ?.EndpointsConfig ?? {}) as Record<string, { Aliases?: string[] }>;
    const {
      Image,
      Cmd,
      Env,
      Labels,
      ExposedPorts,
      HostConfig: _h,
      NetworkingConfig: _n,
      name: _name,
      ...extraConfig
    } = body as Record<string, unknown>;
    const mode = String(hostConfig.NetworkMode ?? 'default');
    if (!DEFAULT_MODES.has(mode) && mode !== 'host' && mode !== 'none' && !mode.startsWith('container:')) {
      this.network(mode); // 404 when it does not exist
    }
    const id = randomHex(this.random, 32);
    this.addContainer({
      id,
      name: finalName,
      created: Math.floor(Date.now() / 1000),
      image: String(Image ?? IMAGE),
      cmd: (Cmd as string[] | undefined) ?? [],
      env: (Env as string[] | undefined) ?? [],
      labels: (Labels as Record<string, string> | undefined) ?? {},
      exposed: Object.keys((ExposedPorts as Record<string, unknown> | undefined) ?? {}),
      extraConfig,
      networkMode: mode,
      portBindings: (hostConfig.PortBindings as Record<string, PortBinding[] | null> | undefined) ?? {},
      publishAll: hostConfig.PublishAllPorts === true,
      networkAliases: Object.fromEntries(Object.entries(endpoints).map(([k, v]) => [k, v.Aliases ?? []])),
    });
    const c = this.container(id);
    this.containerEvent(c, 'create');
    return { Id: id, Warnings: [] };
  }

  /** POST /containers/{id}/start: false when it runs already (Docker's 304). */
  start(ref: string): boolean {
    const c = this.container(ref);
    if (c.running) return false;
    this.run(c, new Date().toISOString());
    for (const e of c.endpoints.values()) {
      const net = this.networkByName.get(e.network);
      if (net && !net.builtin) this.networkEvent(net, 'connect', c.id);
    }
    this.containerEvent(c, 'start');
    return true;
  }

  /** POST /containers/{id}/stop: false when it is not running (Docker's 304). */
  stop(ref: string): boolean {
    const c = this.container(ref);
    if (!c.running) return false;
    this.halt(c, 0);
    return true;
  }

  private halt(c: SimContainer, exitCode: number): void {
    c.running = false;
    c.exitCode = exitCode;
    c.finishedAt = new Date().toISOString();
    c.ports = {};
    for (const e of c.endpoints.values()) this.releaseIp(e);
    this.containerEvent(c, 'kill', { signal: '15' });
    this.containerEvent(c, 'die', { exitCode: String(exitCode) });
    this.containerEvent(c, 'stop');
  }

  /** DELETE /containers/{id}?force= */
  remove(ref: string, force: boolean): void {
    const c = this.container(ref);
    if (c.running && !force) {
      throw new SimError(
        409,
        `You cannot remove a running container ${c.id}. Stop the container before attempting removal or force remove`,
      );
    }
    if (c.running) this.halt(c, 137);
    for (const e of c.endpoints.values()) {
      const net = this.networkByName.get(e.network);
      if (net && !net.builtin) this.networkEvent(net, 'disconnect', c.id);
    }
    this.containers.delete(c.id);
    this.byName.delete(c.name);
    this.containerEvent(c, 'destroy');
  }

  /** POST /containers/{id}/rename?name= */
  rename(ref: string, name: string): void {
    const c = this.container(ref);
    const clash = this.byName.get(name);
    if (clash && clash !== c) {
      throw new SimError(409, `Conflict. The container name "/${name}" is already in use by container "${clash.id}".`);
    }
    const old = c.name;
    this.byName.delete(old);
    c.name = name;
    this.byName.set(name, c);
    this.containerEvent(c, 'rename', { oldName: `/${old}` });
  }

  /**
   * A restart, as Docker reports it (die, start, restart): the container comes back with a new address,
   * as it may on a real bridge. Returns the container's app, or undefined when nothing runs.
   */
  restartRandom(random: Random): string | undefined {
    const running = [...this.containers.values()].filter((c) => c.running && c.labels[LABELS.type] === 'deploy');
    const c = running[Math.floor(random() * running.length)];
    if (!c) return undefined;
    this.halt(c, 0);
    this.run(c, new Date().toISOString());
    this.containerEvent(c, 'start');
    this.containerEvent(c, 'restart');
    return c.labels[LABELS.app];
  }

  // ---- network calls

  /** GET /networks (Containers left empty, as Docker's list leaves it) */
  listNetworks(): unknown[] {
    return [...this.networks.values()].map((n) => networkJson(n, []));
  }

  /** GET /networks/{id} */
  inspectNetwork(ref: string): unknown {
    const n = this.network(ref);
    return networkJson(
      n,
      [...this.containers.values()].filter((c) => c.endpoints.has(n.name)),
    );
  }

  /** POST /networks/create */
  createNetwork(body: Record<string, unknown>): { Id: string; Warning: string } {
    const name = String(body.Name ?? '');
    if (!name) throw new SimError(400, 'network name is required');
    if (this.networkByName.has(name)) throw new SimError(409, `network with name ${name} already exists`);
    const net = this.addNetwork(
      {
        name,
        driver: String(body.Driver ?? 'bridge'),
        builtin: false,
        octet: this.nextOctet++,
        labels: (body.Labels as Record<string, string> | undefined) ?? {},
      },
      this.random,
    );
    net.attachable = body.Attachable === true;
    net.internal = body.Internal === true;
    net.created = new Date().toISOString();
    this.networkEvent(net, 'create');
    return { Id: net.id, Warning: '' };
  }

  /** DELETE /networks/{id} */
  removeNetwork(ref: string): void {
    const net = this.network(ref);
    if (net.builtin) throw new SimError(403, `${net.name} is a pre-defined network and cannot be removed`);
    if ([...this.containers.values()].some((c) => c.endpoints.has(net.name))) {
      throw new SimError(403, `error while removing network: network ${net.name} id ${net.id} has active endpoints`);
    }
    this.networks.delete(net.id);
    this.networkByName.delete(net.name);
    this.networkEvent(net, 'destroy');
  }

  /** POST /networks/{id}/connect */
  connect(ref: string, containerRef: string, aliases: string[]): void {
    const net = this.network(ref);
    const c = this.container(containerRef);
    if (net.builtin && net.name !== 'bridge') {
      throw new SimError(400, 'container cannot be disconnected from host network or connected to host network');
    }
    if (c.networkMode === 'host') {
      throw new SimError(
        400,
        'container sharing network namespace with another container or host cannot be connected to any other network',
      );
    }
    if (c.endpoints.has(net.name)) {
      throw new SimError(403, `endpoint with name ${c.name} already exists in network ${net.name}`);
    }
    this.addEndpoint(c, net, aliases);
    if (c.running) this.networkEvent(net, 'connect', c.id);
  }

  /** POST /networks/{id}/disconnect */
  disconnect(ref: string, containerRef: string): void {
    const net = this.network(ref);
    const c = this.container(containerRef);
    const e = c.endpoints.get(net.name);
    if (!e) throw new SimError(403, `container ${c.id} is not connected to network ${net.name}`);
    this.releaseIp(e);
    c.endpoints.delete(net.name);
    this.networkEvent(net, 'disconnect', c.id);
  }
}
