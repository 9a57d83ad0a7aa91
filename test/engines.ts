import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import Docker from 'dockerode';
import { IMAGE } from './helpers.js';

/**
 * A second Docker engine for tests, in its own network namespace so it gets its own docker0 and leaves
 * the machine's engine alone (shared/TOOLCHAIN.md, "Several engines"). Needs root, which CI has.
 */
export class NamespaceEngine {
  readonly socket: string;
  readonly dockerHost: string;
  readonly docker: Docker;
  private child: ChildProcess | undefined;

  constructor(readonly name: string) {
    this.socket = `/var/run/docker-${name}.sock`;
    this.dockerHost = `unix://${this.socket}`;
    this.docker = new Docker({ socketPath: this.socket });
  }

  private get pidfile() {
    return `/var/run/docker-${this.name}.pid`;
  }

  /** Starts dockerd in the namespace (creating it when missing) and waits until it answers. */
  async start(): Promise<void> {
    const list = execFileSync('ip', ['netns', 'list']).toString();
    if (!list.split('\n').some((l) => l.split(' ')[0] === this.name)) {
      execFileSync('ip', ['netns', 'add', this.name]);
      execFileSync('ip', ['netns', 'exec', this.name, 'ip', 'link', 'set', 'lo', 'up']);
    }
    this.stopStale();
    this.child = spawn(
      'nsenter',
      [
        `--net=/var/run/netns/${this.name}`,
        'dockerd',
        '--data-root',
        `/var/lib/docker-${this.name}`,
        '--exec-root',
        `/var/run/docker-${this.name}`,
        '--pidfile',
        this.pidfile,
        '-H',
        this.dockerHost,
      ],
      { stdio: 'ignore', detached: true },
    );
    this.child.unref();
    const end = Date.now() + 60_000;
    for (;;) {
      try {
        await this.docker.ping();
        break;
      } catch {
        if (Date.now() > end) throw new Error(`dockerd in namespace ${this.name} did not answer in 60 s`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    try {
      await this.docker.getImage(IMAGE).inspect();
    } catch {
      execFileSync('sh', ['-c', `docker save ${IMAGE} | DOCKER_HOST=${this.dockerHost} docker load -q`]);
    }
  }

  /** A dockerd of an earlier, interrupted run on the same pidfile. */
  private stopStale(): void {
    if (!existsSync(this.pidfile)) return;
    const pid = Number(readFileSync(this.pidfile, 'utf8').trim());
    try {
      process.kill(pid, 0);
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes(this.pidfile)) process.kill(pid, 'SIGTERM');
    } catch {
      // not running
    }
  }

  /** Stops this test's dockerd by its pid and waits until it is gone. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await gone;
    clearTimeout(timer);
    this.child = undefined;
  }

  /** Stops dockerd and removes the namespace and the engine's data. */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(`/var/lib/docker-${this.name}`, { recursive: true, force: true });
    rmSync(`/var/run/docker-${this.name}`, { recursive: true, force: true });
    try {
      execFileSync('ip', ['netns', 'del', this.name]);
    } catch {
      // already gone
    }
  }
}
