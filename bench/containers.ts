import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Docker from 'dockerode';
import type { DokkuPaths } from '../src/config.js';
import { writePropertyFile } from '../src/dokku/propertyFiles.js';
import { mapLimit } from './mapLimit.js';

export const IMAGE = 'local/busybox:latest';
export const BENCH_LABEL_KEY = 'netq.bench-run';
export const PROCS = ['web', 'worker'] as const;

/** One bench app: two containers (web.1 and worker.1); every other app publishes its port on 0.0.0.0. */
export interface BenchApp {
  app: string;
  published: boolean;
}

export function benchApps(runId: string, count: number): BenchApp[] {
  return Array.from({ length: count }, (_, i) => ({
    app: `b${runId}-app-${String(i + 1).padStart(3, '0')}`,
    published: i % 2 === 0,
  }));
}

export const docker = new Docker();

/** The container ids of the apps made: `<app>.<proc>.1` -> id. */
export type ContainerIds = Map<string, string>;

/**
 * Creates and starts the containers of these apps, `parallel` at once (every create has ended before
 * this returns or throws, so the cleanup by label finds them all). Returns their ids by name.
 */
export async function createApps(apps: BenchApp[], runId: string, parallel: number): Promise<ContainerIds> {
  const specs = apps.flatMap((a) => PROCS.map((proc) => ({ ...a, proc })));
  const ids: ContainerIds = new Map();
  await mapLimit(specs, parallel, async ({ app, published, proc }) => {
    const c = await docker.createContainer({
      name: `${app}.${proc}.1`,
      Image: IMAGE,
      Cmd: ['/bin/httpd', '-f', '-p', '5000'],
      Labels: {
        'com.dokku.app-name': app,
        'com.dokku.container-type': 'deploy',
        'com.dokku.process-type': proc,
        'com.dokku.dyno': `${proc}.1`,
        [BENCH_LABEL_KEY]: runId,
      },
      ExposedPorts: { '5000/tcp': {} },
      HostConfig: {
        NetworkMode: 'bridge',
        // an init process, so that stop/remove is fast (httpd as PID 1 ignores SIGTERM)
        Init: true,
        ...(published ? { PortBindings: { '5000/tcp': [{ HostIp: '0.0.0.0', HostPort: '' }] } } : {}),
      },
    });
    ids.set(`${app}.${proc}.1`, c.id);
    await c.start();
  });
  return ids;
}

/**
 * Lays out these apps on a minimal Dokku host, as Dokku leaves it after a deploy (what netq reads in Dokku
 * mode, see src/dokku/dokkuState.ts): the app folder under ROOT with `CONTAINER.<proc>.1` (the id and a
 * newline, as Dokku's `echo` writes it), `LIB/config/ps/<app>/scale` (`proc=count` lines) and
 * `LIB/config/common/<app>/deployed` = `true`. A published app also gets Dokku's `bind-all-interfaces`
 * network property (`dokku network:set <app> bind-all-interfaces true`), or netq would replace its
 * containers to unpublish them.
 */
export async function layOutDokku(d: DokkuPaths, apps: BenchApp[], ids: ContainerIds): Promise<void> {
  await mapLimit(apps, 16, async ({ app, published }) => {
    const dir = path.join(d.root, app);
    await mkdir(dir, { recursive: true });
    for (const proc of PROCS) {
      const id = ids.get(`${app}.${proc}.1`);
      if (!id) throw new Error(`no container was made for ${app}.${proc}.1`);
      await writeFile(path.join(dir, `CONTAINER.${proc}.1`), `${id}\n`);
    }
    const ps = path.join(d.libRoot, 'config/ps', app);
    await mkdir(ps, { recursive: true });
    await writeFile(path.join(ps, 'scale'), PROCS.map((proc) => `${proc}=1\n`).join(''));
    const common = path.join(d.libRoot, 'config/common', app);
    await mkdir(common, { recursive: true });
    await writeFile(path.join(common, 'deployed'), 'true');
    if (published) await writePropertyFile(d, app, 'bind-all-interfaces', 'true');
  });
}

/** Running bench containers, as the engine lists them. */
export async function countContainers(label: string): Promise<number> {
  return (await docker.listContainers({ filters: { label: [label] } })).length;
}

/** Removes every container (running or not) carrying the label; returns how many. */
export async function removeByLabel(label: string): Promise<number> {
  const list = await docker.listContainers({ all: true, filters: { label: [label] } });
  const errors: string[] = [];
  // not mapLimit: the cleanup runs after an interrupt too
  let next = 0;
  const run = async () => {
    while (next < list.length) {
      const c = list[next++];
      if (!c) continue;
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch((err: { statusCode?: number; message?: string }) => {
          if (err.statusCode !== 404) errors.push(`${c.Id.slice(0, 12)}: ${err.message}`);
        });
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, list.length) }, run));
  if (errors.length) throw new Error(`could not remove ${errors.length} containers: ${errors.slice(0, 3).join('; ')}`);
  return list.length;
}
