import { type ChildProcess, spawn } from 'node:child_process';
import { live } from './interrupt.js';

/** Child processes running now, so that an interrupt can end them. */
export const running = new Set<ChildProcess>();

export interface Timed {
  /** from just before spawn to the first complete line on stdout (the printed result) */
  ms: number;
  /** from just before spawn to the process's exit */
  exitMs: number;
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command and times it from just before spawn to its first printed line, and to its exit. */
export function runTimed(
  cmd: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<Timed> {
  live();
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let stdout = '';
    let stderr = '';
    let printed: number | undefined;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (printed === undefined && stdout.includes('\n')) printed = performance.now();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} did not finish in ${opts.timeoutMs} ms\n${stderr}`));
    }, opts.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      running.delete(child);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      const exitMs = performance.now() - started;
      if (signal) {
        reject(new Error(`${cmd} ${args.join(' ')} ended by ${signal}\n${stderr}`));
        return;
      }
      resolve({ ms: (printed ?? performance.now()) - started, exitMs, code: code ?? -1, stdout, stderr });
    });
  });
}
