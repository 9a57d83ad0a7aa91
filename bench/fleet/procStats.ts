// What a process uses, from /proc: CPU time (user + system) and resident memory.
import { readFile } from 'node:fs/promises';

const TICKS_PER_S = 100; // getconf CLK_TCK on Linux

/** CPU seconds (user + system) a process has used so far; NaN once it is gone. */
export async function cpuSeconds(pid: number): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / TICKS_PER_S;
  } catch {
    return Number.NaN;
  }
}

/** Resident memory now and its peak, in MB; undefined once the process is gone. */
export async function memoryMb(pid: number): Promise<{ rssMb: number; hwmMb: number } | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
    return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** CPU seconds of several processes, summed. */
export async function totalCpuSeconds(pids: number[]): Promise<number> {
  const each = await Promise.all(pids.map(cpuSeconds));
  return each.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
}
