import Docker from 'dockerode';
import { mapLimit } from './util.js';

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

/**
 * Creates and starts the containers of these apps, `parallel` at once (every create has ended before
 * this returns or throws, so the cleanup by label finds them all). Returns the number made.
 */
export async function createApps(apps: BenchApp[], runId: string, parallel: number): Promise<number> {
  const specs = apps.flatMap((a) => PROCS.map((proc) => ({ ...a, proc })));
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
    await c.start();
  });
  return specs.length;
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
