import type { ContainerChange } from '../docker/engine.js';
import { createdOn, joinsNoOtherNetwork } from '../docker/networks.js';
import type { ComputedProperties } from '../properties/properties.js';
import type { ContainerFacts } from '../types.js';

/**
 * What a container's bindings should be, compared with what they are. Pure.
 * Containers in host, none or container:… network mode keep their network and publish nothing new.
 */
export function bindingDrift(f: ContainerFacts, proc: string, props: ComputedProperties): ContainerChange | undefined {
  const mode = f.networkMode;
  if (joinsNoOtherNetwork(mode)) return undefined;
  const change: ContainerChange = {};
  // bind-all-interfaces governs the ports Docker picks host ports for; fixed ones (docker-options -p) stay
  const published = new Set(f.published.filter((p) => p.hostIp === '0.0.0.0' || p.hostIp === '').map((p) => p.port));
  const fixed = new Set(f.fixedPorts);
  // as in Dokku's deploy, only a web process has its ports published (other processes are left as they are)
  if (proc !== 'web') {
    // nothing: bind-all-interfaces does not apply
  } else if (props.bindAllInterfaces) {
    if (f.exposedTcpPorts.some((p) => !published.has(p) && !fixed.has(p))) change.publishAll = true;
  } else if (f.published.some((p) => !fixed.has(p.port))) {
    change.publishAll = false;
  }
  const want = props.initialNetwork === '' ? 'bridge' : props.initialNetwork;
  const have = createdOn(mode);
  if (want !== have) change.networkMode = want;
  return Object.keys(change).length ? change : undefined;
}

export function describeDrift(change: ContainerChange): string {
  const parts: string[] = [];
  if (change.publishAll !== undefined)
    parts.push(change.publishAll ? 'ports should be published' : 'ports should not be published');
  if (change.networkMode !== undefined) parts.push(`initial network should be ${change.networkMode}`);
  return parts.join(', ');
}

/** The aliases a container gets on an attach network: `<app>.<proc>[.<tld>]` and `<hostname>.<app>.<proc>[.<tld>]`. */
export function attachAliases(app: string, proc: string, hostname: string, tld: string): string[] {
  const suffix = tld === '' ? '' : `.${tld}`;
  return [`${app}.${proc}${suffix}`, `${hostname}.${app}.${proc}${suffix}`];
}

/** The networks a container should be attached to, in a stable order. */
export function attachNetworks(props: ComputedProperties): string[] {
  return [...new Set([...props.attachPostCreate, ...props.attachPostDeploy])];
}
