import type { ChildProcess } from 'node:child_process';

/** The bench's running netq worker (bench/workerChild.ts starts and stops it; the run holds it for the cleanup). */
export interface WorkerChild {
  child: ChildProcess;
  pid: number;
  log: string;
}
