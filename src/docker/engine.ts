import type { ContainerFacts, NetworkFacts } from '../types.js';

/**
 * A container as the engine's list call shows it: what can change (its state, name, networks with their IP
 * addresses, published ports) and what it is (labels, network mode). Not its environment, exposed ports, port
 * bindings or hostname (src/docker/fixedFacts.ts), nor its aliases or start time: those take an inspect.
 */
export interface ListedContainer {
  id: string;
  name: string;
  labels: Record<string, string>;
  /** `running`, `exited`, `paused`, `restarting`, `created`, … */
  state: string;
  /** as inspect's State.Running: running, paused or restarting */
  running: boolean;
  networkMode: string;
  /** network name -> IPv4 address ('' when the engine gave none) */
  networks: Record<string, string>;
  published: ContainerFacts['published'];
}

/** A Dokku deploy container as the engine's list call shows it, with its app. */
export interface ContainerSummary extends ListedContainer {
  app: string;
}

/** The part of a Docker engine netq uses; the dockerode adapter below is the real one. */
export interface DockerEngine {
  /** Dokku deploy containers (running or not) of one app, or of every app, in one list call. */
  listAppContainers(app?: string): Promise<ContainerSummary[]>;
  /** These containers (full ids), running or not, in one list call; an id the engine does not know is left out. */
  listContainers(ids: string[]): Promise<ListedContainer[]>;
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
