import Docker from 'dockerode';
import { DockerUnreachableError, dockerStatus, isDockerConnectionError } from '../errors.js';
import { type ContainerFacts, LABEL_APP, LABEL_CONTAINER_TYPE, type NetworkFacts } from '../types.js';
import { replaceContainer } from './replaceContainer.js';

/** A Dokku deploy container as the engine's list call shows it. */
export interface ContainerSummary {
  id: string;
  name: string;
  app: string;
  state: string;
}

/** The part of a Docker engine netq uses; the dockerode adapter below is the real one. */
export interface DockerEngine {
  /** Dokku deploy containers (running or not) of one app, or of every app, in one list call. */
  listAppContainers(app?: string): Promise<ContainerSummary[]>;
  /** What netq needs of one container; undefined when it no longer exists. */
  inspectContainer(id: string): Promise<ContainerFacts | undefined>;
  ping(): Promise<void>;

  /** Networks of the engine; with a name, that one (undefined when missing). */
  listNetworks(): Promise<NetworkFacts[]>;
  inspectNetwork(name: string): Promise<NetworkFacts | undefined>;
  createNetwork(name: string, labels: Record<string, string>): Promise<NetworkFacts>;
  removeNetwork(name: string): Promise<void>;
  /** Attaches a container to a network with these aliases. */
  connect(network: string, containerId: string, aliases: string[]): Promise<void>;
  disconnect(network: string, containerId: string): Promise<void>;

  /**
   * Creates and starts an identical container with another binding, under a temporary name, and
   * checks that it runs. The old one keeps running until `retire` (stop, remove, and give the new one
   * the old name) is called. Throws when the new one does not run; then nothing is left behind.
   */
  replaceContainer(id: string, change: ContainerChange, opts: ReplaceOptions): Promise<Replacement>;

  /** Single container operations (a replacement's steps, and finishing or rolling back a journalled one). */
  startContainer(id: string): Promise<void>;
  /** stops it (already stopped or gone: no error) */
  stopContainer(id: string): Promise<void>;
  /** removes it, running or not (gone: no error) */
  removeContainer(id: string): Promise<void>;
  renameContainer(id: string, name: string): Promise<void>;

  /** The engine's event stream (newline-delimited JSON) of container and network events. */
  events(): Promise<NodeJS.ReadableStream>;
}

/** A binding change that needs a new container. */
export interface ContainerChange {
  /** true: publish every exposed TCP port on 0.0.0.0 with a random host port; false: publish none */
  publishAll?: boolean;
  /** the network the container is created on */
  networkMode?: string;
}

export interface ReplaceOptions {
  /** the name the new container is created under (it takes the old one's name later) */
  tempName: string;
  /** called once the new container exists, before it joins networks or starts (to journal its id) */
  onCreated?: (newId: string) => Promise<void>;
}

export interface Replacement {
  newId: string;
  /** the old container's name, which the new one takes */
  name: string;
  /** the old container leaves: stopped, removed, and its name passed to the new one */
  retire(): Promise<void>;
  /** the replacement is abandoned: the new container is removed and the old one keeps its name */
  abandon(): Promise<void>;
}

/** The default limit of one Docker API call (NETQ_DOCKER_TIMEOUT_MS). */
export const DOCKER_TIMEOUT_MS = 15_000;

/**
 * dockerode options for DOCKER_HOST (`unix:///path` or `tcp://host:port`). `timeout` limits a call's
 * idle socket; undefined means none (the event stream: a quiet host sends nothing for hours).
 */
export function dockerOptions(dockerHost: string | undefined, timeout?: number): Docker.DockerOptions {
  const limit = timeout === undefined ? {} : { timeout };
  if (!dockerHost) return { socketPath: '/var/run/docker.sock', ...limit };
  if (dockerHost.startsWith('unix://')) return { socketPath: dockerHost.slice('unix://'.length), ...limit };
  const u = new URL(dockerHost);
  return { host: u.hostname, port: Number(u.port), protocol: 'http', ...limit };
}

/** Wraps a Docker call: connection errors become DockerUnreachableError (retried by the queue). */
export async function dockerCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isDockerConnectionError(err) || (err as { message?: string })?.message === 'socket hang up') {
      const code = (err as { code?: string }).code ?? 'no answer';
      throw new DockerUnreachableError(`Docker engine unreachable during ${what} (${code})`, { cause: err });
    }
    throw err;
  }
}

function appOf(labels: Record<string, string>): string | undefined {
  return labels[LABEL_APP];
}

/**
 * The port bindings a container asked for with a fixed host port (`docker-options -p 2222:22`), by port
 * key (`22/tcp`); those left to Docker (host port '' or '0') are not in it.
 */
export function fixedBindings(hostConfig: Docker.HostConfig | undefined): Docker.PortMap {
  const requested = (hostConfig?.PortBindings ?? {}) as Record<string, Docker.PortBinding[] | null>;
  const fixed: Docker.PortMap = {};
  for (const [key, bindings] of Object.entries(requested)) {
    const keep = (bindings ?? []).filter((b) => b.HostPort !== undefined && b.HostPort !== '' && b.HostPort !== '0');
    if (keep.length > 0) fixed[key] = keep;
  }
  return fixed;
}

export function factsFromInspect(c: Docker.ContainerInspectInfo): ContainerFacts {
  const networks: Record<string, string> = {};
  const aliases: Record<string, string[]> = {};
  for (const [name, n] of Object.entries(c.NetworkSettings?.Networks ?? {})) {
    networks[name] = n?.IPAddress ?? '';
    aliases[name] = n?.Aliases ?? [];
  }
  const published: ContainerFacts['published'] = [];
  for (const [key, bindings] of Object.entries(c.NetworkSettings?.Ports ?? {})) {
    if (!key.endsWith('/tcp') || !bindings) continue;
    for (const b of bindings) {
      if (b.HostIp.includes(':')) continue; // the IPv6 binding; the IPv4 one is the one to report
      published.push({ port: Number.parseInt(key, 10), hostIp: b.HostIp, hostPort: Number(b.HostPort) });
    }
  }
  const fixedPorts = Object.keys(fixedBindings(c.HostConfig))
    .filter((key) => key.endsWith('/tcp'))
    .map((key) => Number.parseInt(key, 10))
    .sort((a, b) => a - b);
  const env = c.Config?.Env ?? [];
  const portLine = env.find((e) => e.startsWith('PORT='));
  const exposedTcpPorts = Object.keys(c.Config?.ExposedPorts ?? {})
    .filter((k) => k.endsWith('/tcp'))
    .map((k) => Number.parseInt(k, 10))
    .filter((n) => Number.isInteger(n) && n > 0)
    .sort((a, b) => a - b);
  return {
    id: c.Id,
    name: c.Name.replace(/^\//, ''),
    labels: c.Config?.Labels ?? {},
    running: c.State?.Running === true,
    state: c.State?.Status ?? 'unknown',
    networkMode: c.HostConfig?.NetworkMode ?? 'default',
    networks,
    aliases,
    published,
    fixedPorts,
    ...(portLine === undefined ? {} : { portEnv: portLine.slice('PORT='.length) }),
    exposedTcpPorts,
    hostname: c.Config?.Hostname ?? '',
    startedAt: c.State?.StartedAt ?? '',
  };
}

export class DockerodeEngine implements DockerEngine {
  readonly docker: Docker;
  /** the same engine without a call timeout, for the event stream (idle for as long as nothing happens) */
  private readonly streaming: Docker;

  /** scopeLabel (`key=value`): only containers that also carry it are seen */
  constructor(
    dockerHost: string | undefined,
    readonly scopeLabel?: string,
    timeoutMs = DOCKER_TIMEOUT_MS,
  ) {
    this.docker = new Docker(dockerOptions(dockerHost, timeoutMs));
    this.streaming = new Docker(dockerOptions(dockerHost));
  }

  async listAppContainers(app?: string): Promise<ContainerSummary[]> {
    const label = [`${LABEL_CONTAINER_TYPE}=deploy`, app === undefined ? LABEL_APP : `${LABEL_APP}=${app}`];
    if (this.scopeLabel !== undefined) label.push(this.scopeLabel);
    const list = await dockerCall('container list', () =>
      this.docker.listContainers({ all: true, filters: { label } }),
    );
    const out: ContainerSummary[] = [];
    for (const c of list) {
      const appName = appOf(c.Labels ?? {});
      if (appName === undefined) continue;
      out.push({ id: c.Id, name: (c.Names?.[0] ?? c.Id).replace(/^\//, ''), app: appName, state: c.State });
    }
    return out;
  }

  async inspectContainer(id: string): Promise<ContainerFacts | undefined> {
    try {
      const info = await dockerCall('container inspect', () => this.docker.getContainer(id).inspect());
      return factsFromInspect(info);
    } catch (err) {
      if (dockerStatus(err) === 404) return undefined;
      throw err;
    }
  }

  async ping(): Promise<void> {
    await dockerCall('ping', () => this.docker.ping());
  }

  async listNetworks(): Promise<NetworkFacts[]> {
    const list = await dockerCall('network list', () => this.docker.listNetworks());
    // the list call leaves Containers empty: inspect each for its attached containers
    const out = await Promise.all(list.map((n) => this.inspectNetwork(n.Id)));
    return out.filter((n): n is NetworkFacts => n !== undefined).sort((a, b) => a.name.localeCompare(b.name));
  }

  async inspectNetwork(name: string): Promise<NetworkFacts | undefined> {
    try {
      const info = await dockerCall('network inspect', () => this.docker.getNetwork(name).inspect());
      return networkFacts(info as Docker.NetworkInspectInfo);
    } catch (err) {
      if (dockerStatus(err) === 404) return undefined;
      throw err;
    }
  }

  async createNetwork(name: string, labels: Record<string, string>): Promise<NetworkFacts> {
    await dockerCall('network create', () =>
      this.docker.createNetwork({
        Name: name,
        Driver: 'bridge',
        Attachable: true,
        CheckDuplicate: true,
        Labels: labels,
      }),
    );
    const made = await this.inspectNetwork(name);
    if (!made) throw new Error(`network ${name} vanished right after it was created`);
    return made;
  }

  async removeNetwork(name: string): Promise<void> {
    await dockerCall('network remove', () => this.docker.getNetwork(name).remove());
  }

  async connect(network: string, containerId: string, aliases: string[]): Promise<void> {
    await dockerCall('network connect', () =>
      this.docker.getNetwork(network).connect({ Container: containerId, EndpointConfig: { Aliases: aliases } }),
    );
  }

  async disconnect(network: string, containerId: string): Promise<void> {
    await dockerCall('network disconnect', () =>
      this.docker.getNetwork(network).disconnect({ Container: containerId, Force: true }),
    );
  }

  async replaceContainer(id: string, change: ContainerChange, opts: ReplaceOptions): Promise<Replacement> {
    return replaceContainer(this.docker, id, change, opts);
  }

  async startContainer(id: string): Promise<void> {
    await dockerCall('container start', () => this.docker.getContainer(id).start()).catch((err: unknown) => {
      if (dockerStatus(err) !== 304) throw err; // already running
    });
  }

  async stopContainer(id: string): Promise<void> {
    await dockerCall('container stop', () => this.docker.getContainer(id).stop({ t: 10 })).catch((err: unknown) => {
      if (dockerStatus(err) !== 304 && dockerStatus(err) !== 404) throw err; // already stopped or gone
    });
  }

  async removeContainer(id: string): Promise<void> {
    await dockerCall('container remove', () => this.docker.getContainer(id).remove({ force: true })).catch(
      (err: unknown) => {
        if (dockerStatus(err) !== 404) throw err;
      },
    );
  }

  async renameContainer(id: string, name: string): Promise<void> {
    await dockerCall('container rename', () => this.docker.getContainer(id).rename({ name }));
  }

  async events(): Promise<NodeJS.ReadableStream> {
    return dockerCall('events', () =>
      this.streaming.getEvents({
        filters: {
          type: ['container', 'network'],
          event: ['start', 'restart', 'die', 'destroy', 'rename', 'connect', 'disconnect'],
        },
      }),
    );
  }
}

function networkFacts(n: Docker.NetworkInspectInfo): NetworkFacts {
  const containers = Object.entries(n.Containers ?? {}).map(([id, c]) => ({
    id,
    name: c.Name,
    ipv4: (c.IPv4Address ?? '').replace(/\/\d+$/, ''),
  }));
  return {
    name: n.Name,
    id: n.Id,
    driver: n.Driver,
    scope: n.Scope,
    internal: n.Internal,
    ipv6: n.EnableIPv6 === true,
    attachable: n.Attachable,
    labels: n.Labels ?? {},
    containers: containers.sort((a, b) => a.name.localeCompare(b.name)),
    created: n.Created,
  };
}
