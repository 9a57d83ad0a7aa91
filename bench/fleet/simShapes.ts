// SIMULATED: the Docker Engine API (1.41) shapes of a simulated host's containers and networks, for the fleet
// bench's simulated engine (bench/fleet/simEngine.ts, state in simHost.ts); never used by the tests.

export interface Endpoint {
  network: string;
  aliases: string[];
  /** '' while the container does not run */
  ip: string;
  mac: string;
  endpointId: string;
}

export type PortBinding = { HostIp: string; HostPort: string };

export interface SimContainer {
  id: string;
  name: string;
  created: number;
  image: string;
  cmd: string[];
  env: string[];
  labels: Record<string, string>;
  exposed: string[];
  hostname: string;
  /** the create options netq's replacement copies that this model does not read itself */
  extraConfig: Record<string, unknown>;
  networkMode: string;
  portBindings: Record<string, PortBinding[] | null>;
  publishAll: boolean;
  /** host ports bound while it runs */
  ports: Record<string, PortBinding[]>;
  running: boolean;
  everStarted: boolean;
  exitCode: number;
  startedAt: string;
  finishedAt: string;
  endpoints: Map<string, Endpoint>;
}

export interface SimNetwork {
  id: string;
  name: string;
  driver: string;
  created: string;
  labels: Record<string, string>;
  attachable: boolean;
  internal: boolean;
  /** Docker's own (bridge, host, none): never removed, no connect */
  builtin: boolean;
  /** `172.<octet>.0.0/16`; 0 for host and none */
  octet: number;
  nextIp: number;
  freeIps: number[];
}

const IMAGE_ID = `sha256:${'5f'.repeat(32)}`;

/** A network of the host by name. */
export type NetworkLookup = (name: string) => SimNetwork | undefined;

/** Docker's state word of a container. */
export function stateOf(c: SimContainer): string {
  return c.running ? 'running' : c.everStarted ? 'exited' : 'created';
}

/** A container as GET /containers/json shows it. */
export function containerSummary(c: SimContainer, networks: NetworkLookup): unknown {
  const ports: unknown[] = [];
  for (const key of c.exposed) {
    const [port, type] = key.split('/');
    const bound = c.ports[key];
    if (!bound?.length) ports.push({ PrivatePort: Number(port), Type: type });
    for (const b of bound ?? [])
      ports.push({ IP: b.HostIp, PrivatePort: Number(port), PublicPort: Number(b.HostPort), Type: type });
  }
  const byName: Record<string, unknown> = {};
  for (const e of c.endpoints.values()) byName[e.network] = endpointJson(c, e, false, networks);
  return {
    Id: c.id,
    Names: [`/${c.name}`],
    Image: c.image,
    ImageID: IMAGE_ID,
    Command: c.cmd.join(' '),
    Created: c.created,
    Ports: ports,
    Labels: c.labels,
    State: stateOf(c),
    Status: c.running ? 'Up 2 hours' : c.everStarted ? `Exited (${c.exitCode}) 5 minutes ago` : 'Created',
    HostConfig: { NetworkMode: c.networkMode },
    NetworkSettings: { Networks: byName },
    Mounts: [],
  };
}

function endpointJson(
  c: SimContainer,
  e: Endpoint,
  withAliases: boolean,
  networks: NetworkLookup,
): Record<string, unknown> {
  const net = networks(e.network);
  const gateway = net && net.octet > 0 && e.ip ? `172.${net.octet}.0.1` : '';
  return {
    IPAMConfig: null,
    Links: null,
    Aliases: withAliases && e.aliases.length ? e.aliases : null,
    NetworkID: net?.id ?? '',
    EndpointID: c.running ? e.endpointId : '',
    Gateway: gateway,
    IPAddress: e.ip,
    IPPrefixLen: e.ip ? 16 : 0,
    IPv6Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    MacAddress: e.ip ? e.mac : '',
    DriverOpts: null,
  };
}

/** A container as GET /containers/{id}/json shows it. */
export function containerInspect(c: SimContainer, networks: NetworkLookup): unknown {
  const byName: Record<string, unknown> = {};
  for (const e of c.endpoints.values()) byName[e.network] = endpointJson(c, e, true, networks);
  const ports: Record<string, PortBinding[] | null> = {};
  for (const key of c.exposed) ports[key] = c.running ? (c.ports[key] ?? null) : null;
  return {
    Id: c.id,
    Created: new Date(c.created * 1000).toISOString(),
    Path: c.cmd[0] ?? '',
    Args: c.cmd.slice(1),
    State: {
      Status: stateOf(c),
      Running: c.running,
      Paused: false,
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: c.running ? 1000 + (Number.parseInt(c.id.slice(0, 4), 16) % 30000) : 0,
      ExitCode: c.exitCode,
      Error: '',
      StartedAt: c.startedAt,
      FinishedAt: c.finishedAt,
    },
    Image: IMAGE_ID,
    Name: `/${c.name}`,
    RestartCount: 0,
    Driver: 'overlay2',
    Platform: 'linux',
    HostConfig: {
      NetworkMode: c.networkMode,
      PortBindings: c.portBindings,
      PublishAllPorts: c.publishAll,
      RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 10 },
      AutoRemove: false,
      Init: true,
    },
    Config: {
      Hostname: c.hostname,
      Domainname: '',
      User: '',
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      ExposedPorts: c.exposed.length ? Object.fromEntries(c.exposed.map((k) => [k, {}])) : undefined,
      Tty: false,
      OpenStdin: false,
      StdinOnce: false,
      Env: c.env,
      Cmd: c.cmd,
      Image: c.image,
      Volumes: null,
      WorkingDir: '/app',
      Entrypoint: null,
      OnBuild: null,
      Labels: c.labels,
      ...c.extraConfig,
    },
    NetworkSettings: {
      Bridge: '',
      SandboxID: c.running ? c.id.split('').reverse().join('') : '',
      HairpinMode: false,
      Ports: ports,
      SandboxKey: c.running ? `/var/run/docker/netns/${c.id.slice(0, 12)}` : '',
      Networks: byName,
    },
    Mounts: [],
  };
}

/** A network as GET /networks/{id} shows it; `attached`: the containers to list (none for GET /networks). */
export function networkJson(n: SimNetwork, attached: Iterable<SimContainer>): unknown {
  const containers: Record<string, unknown> = {};
  for (const c of attached) {
    const e = c.endpoints.get(n.name);
    if (!e || !c.running) continue;
    containers[c.id] = {
      Name: c.name,
      EndpointID: e.endpointId,
      MacAddress: e.mac,
      IPv4Address: e.ip ? `${e.ip}/16` : '',
      IPv6Address: '',
    };
  }
  return {
    Name: n.name,
    Id: n.id,
    Created: n.created,
    Scope: 'local',
    Driver: n.driver,
    EnableIPv6: false,
    IPAM: {
      Driver: 'default',
      Options: null,
      Config: n.octet > 0 ? [{ Subnet: `172.${n.octet}.0.0/16`, Gateway: `172.${n.octet}.0.1` }] : [],
    },
    Internal: n.internal,
    Attachable: n.attachable,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: containers,
    Options: {},
    Labels: n.labels,
  };
}
