import type Docker from 'dockerode';
import type { ContainerFacts, NetworkFacts } from '../types.js';
import type { ListedContainer } from './engine.js';

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

/** The TCP port numbers of a map keyed `<port>/<proto>`, sorted. */
const tcpPorts = (keys: string[]) =>
  keys
    .filter((k) => k.endsWith('/tcp'))
    .map((k) => Number.parseInt(k, 10))
    .filter((n) => Number.isInteger(n) && n > 0)
    .sort((a, b) => a - b);

/** The TCP ports Docker published on the host, IPv4 bindings only (the IPv6 twin of each is not reported). */
function publishedPorts(
  ports: Docker.ContainerInspectInfo['NetworkSettings']['Ports'] | undefined,
): ContainerFacts['published'] {
  const published: ContainerFacts['published'] = [];
  for (const [key, bindings] of Object.entries(ports ?? {})) {
    if (!key.endsWith('/tcp') || !bindings) continue;
    for (const b of bindings) {
      if (b.HostIp.includes(':')) continue;
      published.push({ port: Number.parseInt(key, 10), hostIp: b.HostIp, hostPort: Number(b.HostPort) });
    }
  }
  return published;
}

/** What netq needs of one container, from its inspect answer. */
export function factsFromInspect(c: Docker.ContainerInspectInfo): ContainerFacts {
  const networks: Record<string, string> = {};
  const aliases: Record<string, string[]> = {};
  for (const [name, n] of Object.entries(c.NetworkSettings?.Networks ?? {})) {
    networks[name] = n?.IPAddress ?? '';
    aliases[name] = n?.Aliases ?? [];
  }
  const portLine = (c.Config?.Env ?? []).find((e) => e.startsWith('PORT='));
  return {
    id: c.Id,
    name: c.Name.replace(/^\//, ''),
    labels: c.Config?.Labels ?? {},
    running: c.State?.Running === true,
    state: c.State?.Status ?? 'unknown',
    networkMode: c.HostConfig?.NetworkMode ?? 'default',
    networks,
    aliases,
    published: publishedPorts(c.NetworkSettings?.Ports),
    fixedPorts: tcpPorts(Object.keys(fixedBindings(c.HostConfig))),
    ...(portLine === undefined ? {} : { portEnv: portLine.slice('PORT='.length) }),
    exposedTcpPorts: tcpPorts(Object.keys(c.Config?.ExposedPorts ?? {})),
    hostname: c.Config?.Hostname ?? '',
    startedAt: c.State?.StartedAt ?? '',
  };
}

/** States in which inspect's State.Running is true (a paused or restarting container still runs). */
const RUNNING_STATES = new Set(['running', 'paused', 'restarting']);

/** The container's own name: the list call also gives the names links lend it (`/<other>/<alias>`). */
function ownName(c: Docker.ContainerInfo): string {
  const names = c.Names ?? [];
  return (names.find((n) => /^\/[^/]+$/.test(n)) ?? names[0] ?? c.Id).replace(/^\//, '');
}

/**
 * What can change of one container, from the engine's list answer (GET /containers/json): published TCP ports
 * as inspect gives them (IPv4 bindings only; an exposed port that is not published has no PublicPort).
 */
export function listedContainer(c: Docker.ContainerInfo): ListedContainer {
  const networks: Record<string, string> = {};
  for (const [name, n] of Object.entries(c.NetworkSettings?.Networks ?? {})) networks[name] = n?.IPAddress ?? '';
  const published: ContainerFacts['published'] = [];
  for (const p of c.Ports ?? []) {
    if (p.Type !== 'tcp' || p.PublicPort === undefined || (p.IP ?? '').includes(':')) continue;
    published.push({ port: p.PrivatePort, hostIp: p.IP ?? '', hostPort: p.PublicPort });
  }
  published.sort((a, b) => a.port - b.port || a.hostIp.localeCompare(b.hostIp) || a.hostPort - b.hostPort);
  return {
    id: c.Id,
    name: ownName(c),
    labels: c.Labels ?? {},
    state: c.State,
    running: RUNNING_STATES.has(c.State),
    networkMode: c.HostConfig?.NetworkMode ?? 'default',
    networks,
    published,
  };
}

/** What netq needs of one network, from its inspect answer. */
export function networkFacts(n: Docker.NetworkInspectInfo): NetworkFacts {
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
