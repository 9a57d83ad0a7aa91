import Docker from 'dockerode';
import { DEFAULTS } from '../config.js';
import { dockerStatus, EngineStateChangedError } from '../errors.js';
import { type ContainerFacts, LABEL_APP, LABEL_CONTAINER_TYPE, type NetworkFacts } from '../types.js';
import { factsFromInspect, listedContainer, networkFacts } from './containerFacts.js';
import { type DockerCall, dockerCaller } from './dockerCall.js';
import type {
  ContainerChange,
  ContainerSummary,
  DockerEngine,
  ListedContainer,
  Replacement,
  ReplaceOptions,
} from './engine.js';
import { replaceContainer } from './replaceContainer.js';

/**
 * dockerode options for DOCKER_HOST (`unix:///path` or `tcp://host:port`). `timeout` limits a call's
 * idle socket; undefined means none (the event stream: a quiet host sends nothing for hours).
 */
export function dockerOptions(dockerHost: string | undefined, timeout?: number): Docker.DockerOptions {
  const limit = timeout === undefined ? {} : { timeout };
  if (!dockerHost) return { socketPath: DEFAULTS.dockerSocket, ...limit };
  if (dockerHost.startsWith('unix://')) return { socketPath: dockerHost.slice('unix://'.length), ...limit };
  const u = new URL(dockerHost);
  return { host: u.hostname, port: Number(u.port), protocol: 'http', ...limit };
}

function appOf(labels: Record<string, string>): string | undefined {
  return labels[LABEL_APP];
}

export class DockerodeEngine implements DockerEngine {
  readonly docker: Docker;
  /** the same engine without a call timeout, for the event stream (idle for as long as nothing happens) */
  private readonly streaming: Docker;
  /** every call goes through it: connection errors and calls without an answer become DockerUnreachableError */
  private readonly call: DockerCall;

  /** scopeLabel (`key=value`): only containers that also carry it are seen */
  constructor(
    dockerHost: string | undefined,
    readonly scopeLabel?: string,
    timeoutMs: number = DEFAULTS.dockerTimeoutMs,
  ) {
    this.docker = new Docker(dockerOptions(dockerHost, timeoutMs));
    this.streaming = new Docker(dockerOptions(dockerHost));
    this.call = dockerCaller(timeoutMs);
  }

  async listAppContainers(app?: string): Promise<ContainerSummary[]> {
    const label = [`${LABEL_CONTAINER_TYPE}=deploy`, app === undefined ? LABEL_APP : `${LABEL_APP}=${app}`];
    if (this.scopeLabel !== undefined) label.push(this.scopeLabel);
    const list = await this.call('container list', () => this.docker.listContainers({ all: true, filters: { label } }));
    const out: ContainerSummary[] = [];
    for (const c of list) {
      const appName = appOf(c.Labels ?? {});
      if (appName === undefined) continue;
      out.push({ ...listedContainer(c), app: appName });
    }
    return out;
  }

  async listContainers(ids: string[]): Promise<ListedContainer[]> {
    if (ids.length === 0) return [];
    // the engine matches an id filter as a pattern anywhere in the id: only exact ids are kept
    const wanted = new Set(ids);
    const list = await this.call('container list', () =>
      this.docker.listContainers({ all: true, filters: { id: [...wanted] } }),
    );
    return list.filter((c) => wanted.has(c.Id)).map(listedContainer);
  }

  async inspectContainer(id: string): Promise<ContainerFacts | undefined> {
    try {
      const info = await this.call('container inspect', () => this.docker.getContainer(id).inspect());
      return factsFromInspect(info);
    } catch (err) {
      if (dockerStatus(err) === 404) return undefined;
      throw err;
    }
  }

  async ping(): Promise<void> {
    await this.call('ping', () => this.docker.ping());
  }

  async listNetworks(): Promise<NetworkFacts[]> {
    const list = await this.call('network list', () => this.docker.listNetworks());
    // the list call leaves Containers empty: inspect each for its attached containers
    const out = await Promise.all(list.map((n) => this.inspectNetwork(n.Id)));
    return out.filter((n): n is NetworkFacts => n !== undefined).sort((a, b) => a.name.localeCompare(b.name));
  }

  async inspectNetwork(name: string): Promise<NetworkFacts | undefined> {
    try {
      const info = await this.call('network inspect', () => this.docker.getNetwork(name).inspect());
      return networkFacts(info as Docker.NetworkInspectInfo);
    } catch (err) {
      if (dockerStatus(err) === 404) return undefined;
      throw err;
    }
  }

  async createNetwork(name: string, labels: Record<string, string>): Promise<NetworkFacts> {
    await this.call('network create', () =>
      this.docker.createNetwork({
        Name: name,
        Driver: 'bridge',
        Attachable: true,
        CheckDuplicate: true,
        Labels: labels,
      }),
    );
    const made = await this.inspectNetwork(name);
    if (!made) throw new EngineStateChangedError(`network ${name} vanished right after it was created`);
    return made;
  }

  async removeNetwork(name: string): Promise<void> {
    await this.call('network remove', () => this.docker.getNetwork(name).remove());
  }

  async connect(network: string, containerId: string, aliases: string[]): Promise<void> {
    await this.call('network connect', () =>
      this.docker.getNetwork(network).connect({ Container: containerId, EndpointConfig: { Aliases: aliases } }),
    );
  }

  async disconnect(network: string, containerId: string): Promise<void> {
    await this.call('network disconnect', () =>
      this.docker.getNetwork(network).disconnect({ Container: containerId, Force: true }),
    );
  }

  async replaceContainer(id: string, change: ContainerChange, opts: ReplaceOptions): Promise<Replacement> {
    return replaceContainer(this.docker, this.call, id, change, opts);
  }

  async startContainer(id: string): Promise<void> {
    await this.call('container start', () => this.docker.getContainer(id).start()).catch((err: unknown) => {
      if (dockerStatus(err) !== 304) throw err; // already running
    });
  }

  async stopContainer(id: string): Promise<void> {
    await this.call('container stop', () => this.docker.getContainer(id).stop({ t: 10 })).catch((err: unknown) => {
      if (dockerStatus(err) !== 304 && dockerStatus(err) !== 404) throw err; // already stopped or gone
    });
  }

  async removeContainer(id: string): Promise<void> {
    await this.call('container remove', () => this.docker.getContainer(id).remove({ force: true })).catch(
      (err: unknown) => {
        if (dockerStatus(err) !== 404) throw err;
      },
    );
  }

  async renameContainer(id: string, name: string): Promise<void> {
    await this.call('container rename', () => this.docker.getContainer(id).rename({ name }));
  }

  async events(): Promise<NodeJS.ReadableStream> {
    return this.call('events', () =>
      this.streaming.getEvents({
        filters: {
          type: ['container', 'network'],
          event: ['start', 'restart', 'die', 'destroy', 'rename', 'connect', 'disconnect'],
        },
      }),
    );
  }
}
