import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { ContainerFailedError, dockerStatus } from '../errors.js';
import { fixedBindings } from './containerFacts.js';
import type { DockerCall } from './dockerCall.js';
import type { ContainerChange, Replacement, ReplaceOptions } from './engine.js';
import { createdOn, joinsNoOtherNetwork } from './networks.js';

/** A replacement's temporary name: the old name and a random `.netq-<6 hex>` suffix (events of such a name are netq's own). */
export const tempNameFor = (name: string) => `${name}.netq-${randomBytes(3).toString('hex')}`;

/** True for a name tempNameFor gave. */
export const isTempName = (name: string) => /\.netq-[0-9a-f]{6}$/.test(name);

/** How long a replacement must keep running before it counts as started. */
const SETTLE_MS = 300;

/** The create options of an identical container, with the binding change applied. */
export function replacementSpec(
  info: Docker.ContainerInspectInfo,
  name: string,
  change: ContainerChange,
): Docker.ContainerCreateOptions {
  const c = info.Config;
  const hostConfig: Docker.HostConfig = { ...info.HostConfig };
  if (change.publishAll !== undefined) {
    // bindings to a fixed host port (docker-options -p 2222:22) are kept either way
    const fixed = fixedBindings(info.HostConfig);
    const tcp = Object.keys(c.ExposedPorts ?? {}).filter((k) => k.endsWith('/tcp') && fixed[k] === undefined);
    hostConfig.PortBindings = change.publishAll
      ? { ...fixed, ...Object.fromEntries(tcp.map((k) => [k, [{ HostIp: '0.0.0.0', HostPort: '' }]])) }
      : fixed;
    hostConfig.PublishAllPorts = false;
  }
  if (change.networkMode !== undefined) hostConfig.NetworkMode = change.networkMode;
  // on an unchanged user-defined initial network the endpoint keeps its aliases (not its IP: both run at once)
  const mode = hostConfig.NetworkMode ?? 'default';
  const sameNetwork = mode === info.HostConfig.NetworkMode;
  const initialAliases = sameNetwork ? ownAliases(info, mode) : [];
  const stopTimeout = (c as { StopTimeout?: number }).StopTimeout;
  return {
    name,
    Image: c.Image,
    Cmd: c.Cmd,
    Entrypoint: c.Entrypoint,
    Env: c.Env,
    Labels: c.Labels,
    ExposedPorts: c.ExposedPorts,
    WorkingDir: c.WorkingDir,
    User: c.User,
    Tty: c.Tty,
    OpenStdin: c.OpenStdin,
    StdinOnce: c.StdinOnce,
    Volumes: c.Volumes,
    ...((c as { StopSignal?: string }).StopSignal ? { StopSignal: (c as { StopSignal?: string }).StopSignal } : {}),
    ...(c.Healthcheck ? { Healthcheck: c.Healthcheck } : {}),
    ...(stopTimeout !== undefined ? { StopTimeout: stopTimeout } : {}),
    HostConfig: hostConfig,
    ...(initialAliases.length > 0
      ? { NetworkingConfig: { EndpointsConfig: { [mode]: { Aliases: initialAliases } } } }
      : {}),
  };
}

/** The aliases a container was given on a network, without the ones Docker adds itself (short id, hostname). */
function ownAliases(info: Docker.ContainerInspectInfo, network: string): string[] {
  const auto = new Set([info.Id.slice(0, 12), info.Config.Hostname]);
  return (info.NetworkSettings.Networks?.[network]?.Aliases ?? []).filter((a: string) => !auto.has(a));
}

/**
 * The networks besides the initial one that the old container is on (attached by Dokku, by netq, or by
 * hand), each with its aliases: the new container joins them too before it starts, so it is identical.
 */
export function otherNetworks(
  info: Docker.ContainerInspectInfo,
  newMode: string,
): { network: string; aliases: string[] }[] {
  const oldMode = info.HostConfig.NetworkMode ?? 'default';
  if (joinsNoOtherNetwork(newMode) || joinsNoOtherNetwork(oldMode)) return [];
  return Object.keys(info.NetworkSettings.Networks ?? {})
    .filter((net) => net !== createdOn(oldMode) && net !== createdOn(newMode))
    .sort()
    .map((network) => ({ network, aliases: ownAliases(info, network) }));
}

/**
 * See DockerEngine.replaceContainer. The new container starts while the old one still serves, unless the
 * old one holds a fixed host port (docker-options -p 2222:22): that port cannot be bound twice, so the old
 * one is stopped just before the new one starts, and started again if the new one does not run.
 */
export async function replaceContainer(
  docker: Docker,
  dockerCall: DockerCall,
  id: string,
  change: ContainerChange,
  opts: ReplaceOptions,
): Promise<Replacement> {
  const old = docker.getContainer(id);
  const info = await dockerCall('container inspect', () => old.inspect());
  const name = info.Name.replace(/^\//, '');
  const spec = replacementSpec(info, opts.tempName, change);
  // a host port it chose itself cannot be held by two containers at once
  const handOver = Object.keys(fixedBindings(info.HostConfig)).length > 0;
  const created = await dockerCall('container create', () => docker.createContainer(spec));
  try {
    await opts.onCreated?.(created.id);
  } catch (err) {
    await dockerCall('container remove', () => created.remove({ force: true })).catch(() => {});
    throw err;
  }
  const stopOld = () =>
    dockerCall('container stop', () => old.stop({ t: 10 })).catch((err: unknown) => {
      if (dockerStatus(err) !== 304 && dockerStatus(err) !== 404) throw err; // already stopped or gone
    });
  const removeNew = async () => {
    await dockerCall('container remove', () => created.remove({ force: true })).catch((err: unknown) => {
      if (dockerStatus(err) !== 404) throw err;
    });
    // a handed-over port goes back to the old container
    if (handOver) {
      await dockerCall('container start', () => old.start()).catch((err: unknown) => {
        if (dockerStatus(err) !== 304) throw err; // already running
      });
    }
  };
  try {
    for (const { network, aliases } of otherNetworks(info, spec.HostConfig?.NetworkMode ?? 'default')) {
      await dockerCall('network connect', () =>
        docker.getNetwork(network).connect({ Container: created.id, EndpointConfig: { Aliases: aliases } }),
      );
    }
    if (handOver) await stopOld();
    await dockerCall('container start', () => created.start());
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const state = (await dockerCall('container inspect', () => created.inspect())).State;
    if (!state.Running) {
      throw new ContainerFailedError(`replacement did not keep running (${state.Status}, exit code ${state.ExitCode})`);
    }
  } catch (err) {
    await removeNew();
    throw err;
  }
  return {
    newId: created.id,
    name,
    async retire() {
      await stopOld();
      await dockerCall('container remove', () => old.remove({ force: true })).catch((err: unknown) => {
        if (dockerStatus(err) !== 404) throw err;
      });
      await dockerCall('container rename', () => created.rename({ name }));
    },
    abandon: removeNew,
  };
}
