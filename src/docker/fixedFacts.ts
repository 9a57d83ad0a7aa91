import type { ContainerFacts } from '../types.js';
import type { ListedContainer } from './engine.js';

/**
 * What never changes for a container id, and the list call does not carry: the PORT of its environment, its
 * exposed ports, the host ports it asked for (HostConfig.PortBindings) and its hostname. Docker has no way to
 * change them on an existing container (`docker update` touches resources and the restart policy only); a new
 * container, a new id. Read from an inspect, kept by id (src/docker/fixedFactsCache.ts).
 */
export type FixedFacts = Pick<ContainerFacts, 'portEnv' | 'exposedTcpPorts' | 'fixedPorts' | 'hostname'>;

export function fixedFactsOf(f: ContainerFacts): FixedFacts {
  return {
    ...(f.portEnv === undefined ? {} : { portEnv: f.portEnv }),
    exposedTcpPorts: f.exposedTcpPorts,
    fixedPorts: f.fixedPorts,
    hostname: f.hostname,
  };
}

/**
 * A container's facts from its list entry (everything that can change) and its fixed facts. The list call
 * carries neither the aliases a container has on its networks nor when it started: `aliases` is empty and
 * `startedAt` '' here, and a caller that acts on either inspects the container instead (src/docker/currentFacts.ts).
 */
export function factsFromList(l: ListedContainer, fixed: FixedFacts): ContainerFacts {
  return {
    id: l.id,
    name: l.name,
    labels: l.labels,
    running: l.running,
    state: l.state,
    networkMode: l.networkMode,
    networks: l.networks,
    aliases: {},
    published: l.published,
    fixedPorts: fixed.fixedPorts,
    ...(fixed.portEnv === undefined ? {} : { portEnv: fixed.portEnv }),
    exposedTcpPorts: fixed.exposedTcpPorts,
    hostname: fixed.hostname,
    startedAt: '',
  };
}
