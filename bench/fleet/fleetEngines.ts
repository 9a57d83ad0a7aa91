// SIMULATED engines, parent side: starts bench/fleet/simFleet.ts as a child process (one simulated Docker
// engine per host, one socket each), and asks it for its call counts. Never used by the tests.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { live } from '../interrupt.js';
import { running } from '../runTimed.js';
import { type FleetSpec, socketOf } from './fleetSpec.js';
import type { CallCounts } from './simEngine.js';

export class FleetEngines {
  private readonly waiting: ((line: string) => void)[] = [];
  private lines: Interface | undefined;

  private constructor(
    readonly spec: FleetSpec,
    readonly child: ChildProcess,
  ) {}

  /** Starts the engines and waits until every one listens (60 s at most). */
  static async start(spec: FleetSpec): Promise<FleetEngines> {
    live();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(import.meta.dirname, 'simFleet.ts'), JSON.stringify(spec)],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    running.add(child);
    child.on('exit', () => running.delete(child));
    const engines = new FleetEngines(spec, child);
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    engines.lines = lines;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the simulated engines did not start within 60 s')), 60_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the simulated engines exited with ${code} before they were ready`));
      });
      lines.once('line', (line) => {
        clearTimeout(timer);
        if (line === 'ready') resolve();
        else reject(new Error(`the simulated engines said ${line}`));
      });
    });
    lines.on('line', (line) => engines.waiting.shift()?.(line));
    return engines;
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** `unix://…` of a host's engine, for its worker's DOCKER_HOST. */
  dockerHost(host: string): string {
    return `unix://${socketOf(this.spec.dir, host)}`;
  }

  private ask(command: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the simulated engines gave no answer to ${command}`)), 10_000);
      this.waiting.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
      this.child.stdin?.write(`${command}\n`);
    });
  }

  /** Each engine's calls so far, by endpoint. */
  async calls(): Promise<Record<string, CallCounts>> {
    return JSON.parse(await this.ask('calls')) as Record<string, CallCounts>;
  }

  /** Restarts per minute per engine (0 stops). */
  async churn(perMinute: number): Promise<void> {
    await this.ask(`churn ${perMinute}`);
  }

  /** Closes the engines (stdin end), SIGKILL after 10 s. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.lines?.close();
    this.child.stdin?.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Calls of `after` minus `before`, summed over the engines, by endpoint. */
export function callsBetween(before: Record<string, CallCounts>, after: Record<string, CallCounts>): CallCounts {
  const out: CallCounts = {};
  for (const [host, calls] of Object.entries(after)) {
    for (const [endpoint, n] of Object.entries(calls)) {
      const d = n - (before[host]?.[endpoint] ?? 0);
      if (d) out[endpoint] = (out[endpoint] ?? 0) + d;
    }
  }
  return out;
}
