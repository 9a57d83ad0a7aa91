import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { dockerStatus } from '../errors.js';
import type { ContainerChange, Replacement } from './engine.js';
import { dockerCall } from './engine.js';

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
    const tcp = Object.keys(c.ExposedPorts ?? {}).filter((k) => k.endsWith('/tcp'));
    hostConfig.PortBindings = change.publishAll
      ? Object.fromEntries(tcp.map((k) => [k, [{ HostIp: '0.0.0.0', HostPort: '' }]]))
      : {};
    hostConfig.PublishAllPorts = false;
  }
  if (change.networkMode !== undefined) hostConfig.NetworkMode = change.networkMode;
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
    HostConfig: hostConfig,
  };
}

/** See DockerEngine.replaceContainer. */
export async function replaceContainer(docker: Docker, id: string, change: ContainerChange): Promise<Replacement> {
  const old = docker.getContainer(id);
  const info = await dockerCall('container inspect', () => old.inspect());
  const name = info.Name.replace(/^\//, '');
  const tempName = `${name}.netq-${randomBytes(3).toString('hex')}`;
  const created = await dockerCall('container create', () =>
    docker.createContainer(replacementSpec(info, tempName, change)),
  );
  const removeNew = () =>
    created.remove({ force: true }).catch((err: unknown) => {
      if (dockerStatus(err) !== 404) throw err;
    });
  try {
    await dockerCall('container start', () => created.start());
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const state = (await created.inspect()).State;
    if (!state.Running) {
      throw new Error(`replacement did not keep running (${state.Status}, exit code ${state.ExitCode})`);
    }
  } catch (err) {
    await removeNew();
    throw err;
  }
  return {
    newId: created.id,
    async retire() {
      await dockerCall('container stop', () => old.stop({ t: 10 })).catch((err: unknown) => {
        if (dockerStatus(err) !== 304 && dockerStatus(err) !== 404) throw err; // already stopped or gone
      });
      await dockerCall('container remove', () => old.remove({ force: true })).catch((err: unknown) => {
        if (dockerStatus(err) !== 404) throw err;
      });
      await dockerCall('container rename', () => created.rename({ name }));
    },
    abandon: removeNew,
  };
}
