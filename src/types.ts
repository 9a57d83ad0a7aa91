/**
 * netq's words (from the design, kept here so module names can be read against them):
 *
 * | word            | meaning                                                                                         |
 * | --------------- | ----------------------------------------------------------------------------------------------- |
 * | app             | a Dokku app: containers labelled `com.dokku.app-name=<app>` and `com.dokku.container-type=deploy` |
 * | process type,   | from the labels `com.dokku.process-type` (`web`) and `com.dokku.dyno` (`web.1`); fall back to   |
 * | index           | the container name `<app>.<proc>.<index>`                                                       |
 * | host            | one Docker engine, named by `NETQ_HOST_ID` (default `local`)                                    |
 * | property        | a network property of an app or of `--global`                                                   |
 * | network config  | per running container: its IP address, its port, and the listener `ip:port` built from them     |
 * | failure         | one container for which network config could not be built or a binding could not be applied    |
 */

export const LABEL_APP = 'com.dokku.app-name';
export const LABEL_CONTAINER_TYPE = 'com.dokku.container-type';
export const LABEL_PROCESS_TYPE = 'com.dokku.process-type';
export const LABEL_DYNO = 'com.dokku.dyno';

/** What netq needs to know of one container, read from the Docker API. */
export interface ContainerFacts {
  id: string;
  name: string;
  labels: Record<string, string>;
  running: boolean;
  state: string;
  /** HostConfig.NetworkMode: `default`, `bridge`, `host`, `none`, `container:<id>` or a network name. */
  networkMode: string;
  /** network name -> IPv4 address ('' when the engine gave none) */
  networks: Record<string, string>;
  /** network name -> the aliases the container has there */
  aliases: Record<string, string[]>;
  /** TCP ports published on the host (IPv4 bindings only: Docker 20.10 gives :: another port) */
  published: { port: number; hostIp: string; hostPort: number }[];
  /**
   * TCP ports bound to a host port chosen by whoever made the container (`docker-options -p 2222:22`), not
   * left to Docker: `bind-all-interfaces` never adds or removes these
   */
  fixedPorts: number[];
  /** the PORT variable of the container's environment, when set */
  portEnv?: string;
  /** exposed TCP ports, ascending */
  exposedTcpPorts: number[];
  hostname: string;
  /** when it last started (RFC 3339, '' when never) */
  startedAt: string;
}

/** The network config of one container. */
export interface ContainerNetworkConfig {
  container: string;
  id: string;
  proc: string;
  index: number;
  ip: string;
  port: number;
  listener: string;
}

/** One container that could not be configured, and why. */
export interface Failure {
  container: string;
  reason: string;
}

/** The result of one per-app job (`network:rebuild <app>`). */
export interface RebuildResult {
  app: string;
  host: string;
  containers: number;
  configured: number;
  failed: number;
  listeners: Record<string, string[]>;
  failures: Failure[];
  /** containers that carry the app's labels but are not one of its dynos (not counted), and why */
  ignored?: Failure[];
  /** why there was nothing to build (not deployed, a static web listener, stopped, …) */
  skipped?: string;
}

/** The result of the rebuildall tree's summary job. */
export interface RebuildallResult {
  apps: number;
  containers: number;
  configured: number;
  failed: number;
  results: RebuildResult[];
  /** hosts whose scan could not list their apps, with the reason */
  hostFailures: { host: string; reason: string }[];
}

/** A Docker network as netq shows it (`network:info`, `network:list`). */
export interface NetworkFacts {
  name: string;
  id: string;
  driver: string;
  scope: string;
  internal: boolean;
  /** IPv6 enabled (Docker's EnableIPv6; Dokku's `IPv6`) */
  ipv6: boolean;
  attachable: boolean;
  labels: Record<string, string>;
  /** containers attached, by name, with their IPv4 address */
  containers: { id: string; name: string; ipv4: string }[];
  created: string;
}

/** The state of a worker's Docker event watcher. */
export interface WatcherHealth {
  state: 'connecting' | 'connected' | 'disconnected' | 'stopped';
  /** ms since the epoch of the last event seen, or null */
  lastEventAt: number | null;
  /** how many times the event stream was re-established */
  reconnects: number;
  lastError: string | null;
}

/** What each worker writes to the `worker-health` hash with every heartbeat (every 5 s). */
export interface WorkerHealth {
  workerId: string;
  host: string;
  pid: number;
  /** ms since the epoch of this heartbeat */
  at: number;
  watcher: WatcherHealth;
}
