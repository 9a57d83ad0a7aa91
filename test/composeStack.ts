import { spawn } from 'node:child_process';
import path from 'node:path';
import { collect, docker, ROOT } from './helpers.js';

/**
 * docker-compose.yml run as a user runs it (Debian's docker-compose, v1), on the machine's engine, under a project
 * name of its own: compose labels everything it makes with `com.docker.compose.project=<name>`, and the image
 * it builds carries the name too (NETQ_IMAGE), so a run finds and removes exactly what it made.
 */
export interface ComposeResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export class ComposeStack {
  /**
   * @param project compose's project name (unique per run)
   * @param envFile the .env to read (written by scripts/compose-env), instead of the checkout's own .env
   * @param vars the rest of the environment docker-compose sees (nothing of the test process leaks in)
   */
  constructor(
    readonly project: string,
    readonly envFile: string,
    readonly vars: Record<string, string>,
  ) {}

  /** The image the stack builds. */
  get image(): string {
    const image = this.vars.NETQ_IMAGE;
    if (!image) throw new Error('ComposeStack needs NETQ_IMAGE: the image it builds, named for the run');
    return image;
  }

  /** `docker-compose <args>` for this project; never throws on a non-zero exit (see `ok`). */
  compose(args: string[], timeoutMs = 300_000): Promise<ComposeResult> {
    const started = performance.now();
    const child = spawn(
      'docker-compose',
      ['-f', path.join(ROOT, 'docker-compose.yml'), '-p', this.project, '--env-file', this.envFile, ...args],
      {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
          HOME: process.env.HOME ?? '/root',
          ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
          ...this.vars,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    return collect(child).then((r) => {
      clearTimeout(timer);
      return { ...r, ms: performance.now() - started };
    });
  }

  /** `docker-compose <args>` that must exit 0; the error carries the end of its output. */
  async ok(args: string[], timeoutMs?: number): Promise<ComposeResult> {
    const r = await this.compose(args, timeoutMs);
    if (r.code !== 0) {
      const tail = (text: string, n: number) => text.trim().split('\n').slice(-n).join('\n');
      throw new Error(
        `docker-compose ${args.join(' ')} exited ${r.code}:\n${tail(r.stdout, 30)}\n${tail(r.stderr, 10)}`,
      );
    }
    return r;
  }

  private get label(): string {
    return `com.docker.compose.project=${this.project}`;
  }

  /** The project's containers of one service (one-off `run` containers included), by container number. */
  async containers(service: string) {
    const found = await docker.listContainers({
      all: true,
      filters: { label: [this.label, `com.docker.compose.service=${service}`] },
    });
    const num = (c: (typeof found)[number]) => Number(c.Labels['com.docker.compose.container-number'] ?? 0);
    return found.sort((a, b) => num(a) - num(b));
  }

  /** What of the project is still on the engine: containers, networks, volumes (names). */
  async leftovers(): Promise<{ containers: string[]; networks: string[]; volumes: string[] }> {
    const filters = { label: [this.label] };
    const containers = await docker.listContainers({ all: true, filters });
    const networks = await docker.listNetworks({ filters });
    const { Volumes } = await docker.listVolumes({ filters });
    return {
      containers: containers.map((c) => (c.Names[0] ?? c.Id).replace(/^\//, '')),
      networks: networks.map((n) => n.Name),
      volumes: (Volumes ?? []).map((v) => v.Name),
    };
  }

  /** A container's whole log (stdout and stderr), without Docker's stream frame headers. */
  async logs(id: string): Promise<string> {
    const raw = (await docker.getContainer(id).logs({ stdout: true, stderr: true })) as unknown as Buffer;
    let out = '';
    for (let i = 0; i + 8 <= raw.length; ) {
      const len = raw.readUInt32BE(i + 4);
      out += raw.subarray(i + 8, i + 8 + len).toString();
      i += 8 + len;
    }
    return out;
  }

  /** Whether the image the stack built is still there. */
  async hasImage(): Promise<boolean> {
    try {
      await docker.getImage(this.image).inspect();
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Removes everything of the project, whatever state a failed test left it in: `down -v`, then by label what
   * compose did not know about, then the image it built (its build cache stays, as after any `docker build`).
   */
  async destroy(): Promise<void> {
    await this.compose(['down', '-v', '--remove-orphans', '-t', '5'], 120_000).catch(() => undefined);
    await removeProject(this.project, this.image);
  }

  /**
   * Stacks of earlier runs that were killed before their clean-up (their names match `prefix<run id>`, and the
   * containers are older than `olderThanMs`, longer than any run takes): removed, as this run's would be.
   */
  static async sweep(prefix: string, olderThanMs = 3_600_000): Promise<string[]> {
    const stale = new Set<string>();
    const cutoff = (Date.now() - olderThanMs) / 1000;
    for (const c of await docker.listContainers({ all: true, filters: { label: ['com.docker.compose.project'] } })) {
      const project = c.Labels['com.docker.compose.project'] ?? '';
      if (project.startsWith(prefix) && /^[0-9a-f]{8}$/.test(project.slice(prefix.length)) && c.Created < cutoff) {
        stale.add(project);
      }
    }
    for (const project of stale) await removeProject(project, `${project}:latest`);
    return [...stale];
  }
}

/** A compose project's containers, networks and volumes (by compose's label), and the image named for it. */
async function removeProject(project: string, image: string): Promise<void> {
  const filters = { label: [`com.docker.compose.project=${project}`] };
  for (const c of await docker.listContainers({ all: true, filters })) {
    await docker
      .getContainer(c.Id)
      .remove({ force: true, v: true })
      .catch(() => {});
  }
  for (const n of await docker.listNetworks({ filters })) {
    await docker
      .getNetwork(n.Id)
      .remove()
      .catch(() => {});
  }
  for (const v of (await docker.listVolumes({ filters })).Volumes ?? []) {
    await docker
      .getVolume(v.Name)
      .remove()
      .catch(() => {});
  }
  await docker
    .getImage(image)
    .remove()
    .catch(() => {});
}
