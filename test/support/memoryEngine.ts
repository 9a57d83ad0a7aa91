import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type {
  ContainerChange,
  ContainerSummary,
  DockerEngine,
  ListedContainer,
  Replacement,
  ReplaceOptions,
} from '../../src/docker/engine.js';
import { ContainerFailedError, DockerUnreachableError } from '../../src/errors.js';
import {
  type ContainerFacts,
  LABEL_APP,
  LABEL_CONTAINER_TYPE,
  LABEL_DYNO,
  LABEL_PROCESS_TYPE,
  type NetworkFacts,
} from '../../src/types.js';

// An in-memory Docker engine behind the DockerEngine interface, for unit tests only: containers with
// labels, names, state, networks (IP and aliases), exposed and published ports; networks; connect and
// disconnect; replacement as src/docker/replaceContainer.ts does it; an event stream. Errors are shaped as
// dockerode's (an Error with `statusCode`), and a fault can be set at any call (`before`, `unreachable`).
// What it does not model (image config, exit codes, restart policies) no unit test relies on; the real
// engine's behaviour stays proven by test/integration.

/** An error as dockerode gives it for an HTTP error answer of the engine. */
export function dockerError(statusCode: number, message: string): Error {
  return Object.assign(new Error(`(HTTP code ${statusCode}) ${message}`), { statusCode, json: { message } });
}

/** A container to create: `app`, `proc` and `index` give Dokku's labels and name `<app>.<proc>.<index>`. */
export interface MemoryContainerSpec {
  app?: string;
  proc?: string;
  index?: number;
  /** default `<app>.<proc>.<index>` */
  name?: string;
  /** more labels (or, without `app`, all of them) */
  labels?: Record<string, string>;
  /** false: no com.dokku.dyno label (the name gives proc and index) */
  dynoLabel?: boolean;
  /** default true */
  running?: boolean;
  /** default 'bridge' */
  networkMode?: string;
  /** other networks it is on, each with its own aliases */
  networks?: Record<string, string[]>;
  /** exposed TCP ports, default [5000] */
  exposed?: number[];
  /** the PORT variable, when set */
  portEnv?: string;
  /** exposed ports published on host ports Docker picks (`-P`), default false */
  publishAll?: boolean;
  /** container port -> fixed host port (`docker-options -p 2222:22`) */
  fixedPorts?: Record<number, number>;
  /** a replacement made of this container exits as soon as it starts */
  replacementExits?: boolean;
}

interface Endpoint {
  ip: string;
  aliases: string[];
}

interface MemoryContainer {
  id: string;
  name: string;
  labels: Record<string, string>;
  running: boolean;
  state: string;
  networkMode: string;
  endpoints: Map<string, Endpoint>;
  exposed: number[];
  portEnv: string | undefined;
  publishAll: boolean;
  fixedPorts: Record<number, number>;
  hostPorts: Map<number, number>;
  startedAt: string;
  replacementExits: boolean;
}

interface MemoryNetwork {
  id: string;
  name: string;
  driver: string;
  labels: Record<string, string>;
  subnet: number;
  nextHost: number;
  created: string;
}

/** A method of the engine, as the call log and the `before` hook name it. */
export type EngineCall = keyof DockerEngine;

const BUILTIN = ['bridge', 'host', 'none'];
const noNetworkOfItsOwn = (mode: string) => mode === 'host' || mode === 'none' || mode.startsWith('container:');
const initialNetwork = (mode: string) => (mode === 'default' ? 'bridge' : mode);

export class MemoryEngine implements DockerEngine {
  private readonly containers = new Map<string, MemoryContainer>();
  private readonly networks = new Map<string, MemoryNetwork>();
  private readonly streams = new Set<PassThrough>();
  private clock = Date.parse('2026-01-01T00:00:00Z');
  private nextHostPort = 32768;
  /** every call, in order, with its arguments */
  readonly calls: { call: EngineCall; args: unknown[] }[] = [];
  /** while true, every call fails as an engine that does not answer */
  unreachable = false;
  /** runs at the start of every call, before the engine answers: a test sets a fault at an exact point */
  before: ((call: EngineCall, args: unknown[]) => void | Promise<void>) | undefined;

  constructor() {
    for (const name of BUILTIN) this.addNetwork(name, { driver: name === 'bridge' ? 'bridge' : name });
  }

  // ---- set-up, outside the interface (no call is logged) ----

  /** Creates a container and returns its id. */
  add(spec: MemoryContainerSpec): string {
    const proc = spec.proc ?? 'web';
    const index = spec.index ?? 1;
    const labels: Record<string, string> = {};
    if (spec.app !== undefined) {
      labels[LABEL_APP] = spec.app;
      labels[LABEL_CONTAINER_TYPE] = 'deploy';
      labels[LABEL_PROCESS_TYPE] = proc;
      if (spec.dynoLabel !== false) labels[LABEL_DYNO] = `${proc}.${index}`;
    }
    const name = spec.name ?? `${spec.app ?? 'c'}.${proc}.${index}`;
    if (this.byName(name)) throw new Error(`memory engine: name ${name} is taken`);
    const c: MemoryContainer = {
      id: randomBytes(32).toString('hex'),
      name,
      labels: { ...labels, ...spec.labels },
      running: false,
      state: 'created',
      networkMode: spec.networkMode ?? 'bridge',
      endpoints: new Map(),
      exposed: spec.exposed ?? [5000],
      portEnv: spec.portEnv,
      publishAll: spec.publishAll ?? false,
      fixedPorts: spec.fixedPorts ?? {},
      hostPorts: new Map(),
      startedAt: '',
      replacementExits: spec.replacementExits ?? false,
    };
    this.containers.set(c.id, c);
    if (!noNetworkOfItsOwn(c.networkMode)) this.join(c, initialNetwork(c.networkMode), []);
    for (const [net, aliases] of Object.entries(spec.networks ?? {})) this.join(c, net, aliases);
    if (spec.running !== false) this.run(c);
    return c.id;
  }

  /** Creates a user-defined network (as `docker network create`). */
  addNetwork(name: string, opts: { driver?: string; labels?: Record<string, string> } = {}): void {
    if (this.networks.has(name)) throw new Error(`memory engine: network ${name} exists`);
    this.networks.set(name, {
      id: randomBytes(32).toString('hex'),
      name,
      driver: opts.driver ?? 'bridge',
      labels: opts.labels ?? {},
      subnet: 17 + this.networks.size,
      nextHost: 2,
      created: new Date(this.clock).toISOString(),
    });
  }

  /** Stops a container as if its process exited. */
  exit(id: string): void {
    this.halt(this.must(id));
  }

  /** A container's facts without a logged call (undefined when it does not exist). */
  facts(idOrName: string): ContainerFacts | undefined {
    const c = this.find(idOrName);
    return c ? this.factsOf(c) : undefined;
  }

  /** Every container's name, sorted. */
  names(): string[] {
    return [...this.containers.values()].map((c) => c.name).sort();
  }

  /** How many calls of this kind were made. */
  count(call: EngineCall): number {
    return this.calls.filter((c) => c.call === call).length;
  }

  // ---- the DockerEngine interface ----

  async listAppContainers(app?: string): Promise<ContainerSummary[]> {
    await this.enter('listAppContainers', [app]);
    return [...this.containers.values()]
      .filter((c) => c.labels[LABEL_CONTAINER_TYPE] === 'deploy' && c.labels[LABEL_APP] !== undefined)
      .filter((c) => app === undefined || c.labels[LABEL_APP] === app)
      .map((c) => ({ ...this.listedOf(c), app: c.labels[LABEL_APP] ?? '' }));
  }

  async listContainers(ids: string[]): Promise<ListedContainer[]> {
    await this.enter('listContainers', [ids]);
    return [...this.containers.values()].filter((c) => ids.includes(c.id)).map((c) => this.listedOf(c));
  }

  async inspectContainer(id: string): Promise<ContainerFacts | undefined> {
    await this.enter('inspectContainer', [id]);
    return this.facts(id);
  }

  async ping(): Promise<void> {
    await this.enter('ping', []);
  }

  async listNetworks(): Promise<NetworkFacts[]> {
    await this.enter('listNetworks', []);
    return [...this.networks.values()].map((n) => this.networkFactsOf(n)).sort((a, b) => a.name.localeCompare(b.name));
  }

  async inspectNetwork(name: string): Promise<NetworkFacts | undefined> {
    await this.enter('inspectNetwork', [name]);
    const n = this.findNetwork(name);
    return n ? this.networkFactsOf(n) : undefined;
  }

  async createNetwork(name: string, labels: Record<string, string>): Promise<NetworkFacts> {
    await this.enter('createNetwork', [name, labels]);
    if (this.networks.has(name)) throw dockerError(409, `network with name ${name} already exists`);
    this.addNetwork(name, { labels });
    return this.networkFactsOf(this.networks.get(name) as MemoryNetwork);
  }

  async removeNetwork(name: string): Promise<void> {
    await this.enter('removeNetwork', [name]);
    const n = this.findNetwork(name);
    if (!n) throw dockerError(404, `network ${name} not found`);
    if (BUILTIN.includes(n.name)) throw dockerError(403, `${n.name} is a pre-defined network and cannot be removed`);
    if ([...this.containers.values()].some((c) => c.endpoints.has(n.name))) {
      throw dockerError(403, `error while removing network: network ${n.name} id ${n.id} has active endpoints`);
    }
    this.networks.delete(n.name);
  }

  async connect(network: string, containerId: string, aliases: string[]): Promise<void> {
    await this.enter('connect', [network, containerId, aliases]);
    const n = this.findNetwork(network);
    if (!n) throw dockerError(404, `network ${network} not found`);
    const c = this.find(containerId);
    if (!c) throw dockerError(404, `No such container: ${containerId}`);
    if (noNetworkOfItsOwn(c.networkMode) || (BUILTIN.includes(n.name) && n.name !== 'bridge')) {
      throw dockerError(400, `container cannot be connected to network ${n.name} in network mode ${c.networkMode}`);
    }
    if (c.endpoints.has(n.name))
      throw dockerError(403, `endpoint with name ${c.name} already exists in network ${n.name}`);
    this.join(c, n.name, aliases);
    this.emit('network', 'connect', c, n.name);
  }

  async disconnect(network: string, containerId: string): Promise<void> {
    await this.enter('disconnect', [network, containerId]);
    const n = this.findNetwork(network);
    if (!n) throw dockerError(404, `network ${network} not found`);
    const c = this.find(containerId);
    if (!c) throw dockerError(404, `No such container: ${containerId}`);
    if (!c.endpoints.has(n.name)) throw dockerError(403, `container ${c.id} is not connected to network ${n.name}`);
    c.endpoints.delete(n.name);
    this.emit('network', 'disconnect', c, n.name);
  }

  async replaceContainer(id: string, change: ContainerChange, opts: ReplaceOptions): Promise<Replacement> {
    await this.enter('replaceContainer', [id, change, opts.tempName]);
    const old = this.find(id);
    if (!old) throw dockerError(404, `No such container: ${id}`);
    if (this.byName(opts.tempName)) throw dockerError(409, `the container name "/${opts.tempName}" is already in use`);
    const mode = change.networkMode ?? old.networkMode;
    const fresh: MemoryContainer = {
      ...old,
      id: randomBytes(32).toString('hex'),
      name: opts.tempName,
      labels: { ...old.labels },
      running: false,
      state: 'created',
      networkMode: mode,
      endpoints: new Map(),
      publishAll: change.publishAll ?? old.publishAll,
      hostPorts: new Map(),
      startedAt: '',
    };
    this.containers.set(fresh.id, fresh);
    const removeNew = () => {
      this.containers.delete(fresh.id);
    };
    try {
      await opts.onCreated?.(fresh.id);
    } catch (err) {
      removeNew();
      throw err;
    }
    // the initial network (its aliases kept when it is unchanged), then every other network the old one is on
    if (!noNetworkOfItsOwn(mode)) {
      const same = initialNetwork(mode) === initialNetwork(old.networkMode);
      this.join(fresh, initialNetwork(mode), same ? (old.endpoints.get(initialNetwork(mode))?.aliases ?? []) : []);
      if (!noNetworkOfItsOwn(old.networkMode)) {
        for (const [net, e] of old.endpoints) {
          if (net !== initialNetwork(old.networkMode) && net !== initialNetwork(mode)) this.join(fresh, net, e.aliases);
        }
      }
    }
    const handOver = Object.keys(old.fixedPorts).length > 0;
    if (handOver) this.halt(old);
    if (old.replacementExits) {
      removeNew();
      if (handOver) this.run(old);
      throw new ContainerFailedError('replacement did not keep running (exited, exit code 1)');
    }
    this.run(fresh);
    const name = old.name;
    return {
      newId: fresh.id,
      name,
      retire: async () => {
        await this.enter('removeContainer', [old.id]);
        this.halt(old);
        this.containers.delete(old.id);
        fresh.name = name;
      },
      abandon: async () => {
        await this.enter('removeContainer', [fresh.id]);
        removeNew();
        if (handOver && this.containers.has(old.id)) this.run(old);
      },
    };
  }

  async startContainer(id: string): Promise<void> {
    await this.enter('startContainer', [id]);
    const c = this.find(id);
    if (!c) throw dockerError(404, `No such container: ${id}`);
    if (!c.running) this.run(c);
  }

  async stopContainer(id: string): Promise<void> {
    await this.enter('stopContainer', [id]);
    const c = this.find(id);
    if (c?.running) this.halt(c);
  }

  async removeContainer(id: string): Promise<void> {
    await this.enter('removeContainer', [id]);
    const c = this.find(id);
    if (!c) return;
    if (c.running) this.halt(c);
    this.containers.delete(c.id);
    this.emit('container', 'destroy', c);
  }

  async renameContainer(id: string, name: string): Promise<void> {
    await this.enter('renameContainer', [id, name]);
    const c = this.find(id);
    if (!c) throw dockerError(404, `No such container: ${id}`);
    const holder = this.byName(name);
    if (holder && holder !== c) throw dockerError(409, `the container name "/${name}" is already in use`);
    c.name = name;
    this.emit('container', 'rename', c);
  }

  async events(): Promise<NodeJS.ReadableStream> {
    await this.enter('events', []);
    const s = new PassThrough();
    this.streams.add(s);
    s.on('close', () => this.streams.delete(s));
    return s;
  }

  /** Ends every open event stream, as an engine that goes away does. */
  endEvents(): void {
    for (const s of this.streams) s.end();
    this.streams.clear();
  }

  // ---- inside ----

  private async enter(call: EngineCall, args: unknown[]): Promise<void> {
    this.calls.push({ call, args });
    await this.before?.(call, args);
    if (this.unreachable) {
      throw new DockerUnreachableError(`Docker engine unreachable during ${call} (ECONNREFUSED)`, {
        cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      });
    }
  }

  private must(id: string): MemoryContainer {
    const c = this.find(id);
    if (!c) throw new Error(`memory engine: no container ${id}`);
    return c;
  }

  /** By id, unique id prefix or name, as the engine resolves a container reference. */
  private find(ref: string): MemoryContainer | undefined {
    const exact = this.containers.get(ref) ?? this.byName(ref);
    if (exact) return exact;
    const prefixed = [...this.containers.values()].filter((c) => ref.length >= 4 && c.id.startsWith(ref));
    return prefixed.length === 1 ? prefixed[0] : undefined;
  }

  private byName(name: string): MemoryContainer | undefined {
    return [...this.containers.values()].find((c) => c.name === name);
  }

  private findNetwork(ref: string): MemoryNetwork | undefined {
    return this.networks.get(ref) ?? [...this.networks.values()].find((n) => n.id === ref);
  }

  private join(c: MemoryContainer, network: string, aliases: string[]): void {
    const n = this.networks.get(network);
    if (!n) throw dockerError(404, `network ${network} not found`);
    // on a user-defined network the engine adds the short id itself, as Docker 20.10 does
    const own = n.name === 'bridge' ? [] : [...aliases, c.id.slice(0, 12)];
    c.endpoints.set(n.name, { ip: '', aliases: [...new Set(own)] });
    if (c.running) this.address(c, n.name);
  }

  private address(c: MemoryContainer, network: string): void {
    const n = this.networks.get(network);
    const e = c.endpoints.get(network);
    if (!n || !e || n.driver !== 'bridge') return;
    e.ip = `172.${n.subnet}.0.${n.nextHost++}`;
  }

  private run(c: MemoryContainer): void {
    c.running = true;
    c.state = 'running';
    this.clock += 1000;
    c.startedAt = new Date(this.clock).toISOString();
    for (const net of c.endpoints.keys()) this.address(c, net);
    c.hostPorts.clear();
    if (c.publishAll)
      for (const p of c.exposed) if (c.fixedPorts[p] === undefined) c.hostPorts.set(p, this.nextHostPort++);
    this.emit('container', 'start', c);
  }

  private halt(c: MemoryContainer): void {
    if (!c.running) return;
    c.running = false;
    c.state = 'exited';
    for (const e of c.endpoints.values()) e.ip = '';
    c.hostPorts.clear();
    this.emit('container', 'die', c);
  }

  /** What the list call shows of a container: no aliases, no start time, no environment or exposed ports. */
  private listedOf(c: MemoryContainer): ListedContainer {
    const { id, name, labels, running, state, networkMode, networks, published } = this.factsOf(c);
    return { id, name, labels, running, state, networkMode, networks, published };
  }

  private factsOf(c: MemoryContainer): ContainerFacts {
    const networks: Record<string, string> = {};
    const aliases: Record<string, string[]> = {};
    for (const [net, e] of c.endpoints) {
      networks[net] = e.ip;
      aliases[net] = [...e.aliases];
    }
    const published: ContainerFacts['published'] = [];
    if (c.running) {
      for (const [port, hostPort] of c.hostPorts) published.push({ port, hostIp: '0.0.0.0', hostPort });
      for (const [port, hostPort] of Object.entries(c.fixedPorts)) {
        published.push({ port: Number(port), hostIp: '127.0.0.1', hostPort });
      }
    }
    return {
      id: c.id,
      name: c.name,
      labels: { ...c.labels },
      running: c.running,
      state: c.state,
      networkMode: c.networkMode,
      networks,
      aliases,
      published: published.sort((a, b) => a.port - b.port),
      fixedPorts: Object.keys(c.fixedPorts)
        .map(Number)
        .sort((a, b) => a - b),
      ...(c.portEnv === undefined ? {} : { portEnv: c.portEnv }),
      exposedTcpPorts: [...new Set([...c.exposed, ...Object.keys(c.fixedPorts).map(Number)])].sort((a, b) => a - b),
      hostname: c.id.slice(0, 12),
      startedAt: c.startedAt,
    };
  }

  private networkFactsOf(n: MemoryNetwork): NetworkFacts {
    const containers = [...this.containers.values()]
      .filter((c) => c.endpoints.has(n.name))
      .map((c) => ({ id: c.id, name: c.name, ipv4: c.endpoints.get(n.name)?.ip ?? '' }))
      .sort((a, b) => a.name.localeCompare(b.name));
    return {
      name: n.name,
      id: n.id,
      driver: n.driver,
      scope: 'local',
      internal: false,
      ipv6: false,
      attachable: !BUILTIN.includes(n.name),
      labels: { ...n.labels },
      containers,
      created: n.created,
    };
  }

  private emit(type: 'container' | 'network', action: string, c: MemoryContainer, network?: string): void {
    if (this.streams.size === 0) return;
    const event =
      type === 'container'
        ? { Type: type, Action: action, Actor: { ID: c.id, Attributes: { ...c.labels, name: c.name } } }
        : { Type: type, Action: action, Actor: { ID: network, Attributes: { container: c.id, name: network } } };
    const line = `${JSON.stringify(event)}\n`;
    for (const s of this.streams) s.write(line);
  }
}
