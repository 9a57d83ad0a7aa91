import Docker from 'dockerode';
import { DockerUnreachableError, dockerStatus, isDockerConnectionError } from '../errors.js';
import { type ContainerFacts, LABEL_APP, LABEL_CONTAINER_TYPE } from '../types.js';

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
}

/** dockerode options for DOCKER_HOST (`unix:///path` or `tcp://host:port`). */
export function dockerOptions(dockerHost: string | undefined): Docker.DockerOptions {
  const timeout = 15_000;
  if (!dockerHost) return { socketPath: '/var/run/docker.sock', timeout };
  if (dockerHost.startsWith('unix://')) return { socketPath: dockerHost.slice('unix://'.length), timeout };
  const u = new URL(dockerHost);
  return { host: u.hostname, port: Number(u.port), protocol: 'http', timeout };
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

export function factsFromInspect(c: Docker.ContainerInspectInfo): ContainerFacts {
  const networks: Record<string, string> = {};
  for (const [name, n] of Object.entries(c.NetworkSettings?.Networks ?? {})) networks[name] = n?.IPAddress ?? '';
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
    ...(portLine === undefined ? {} : { portEnv: portLine.slice('PORT='.length) }),
    exposedTcpPorts,
    hostname: c.Config?.Hostname ?? '',
  };
}

export class DockerodeEngine implements DockerEngine {
  readonly docker: Docker;

  /** scopeLabel (`key=value`): only containers that also carry it are seen */
  constructor(
    dockerHost: string | undefined,
    readonly scopeLabel?: string,
  ) {
    this.docker = new Docker(dockerOptions(dockerHost));
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
}
