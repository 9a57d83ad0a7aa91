// Where a process's CPU went: a V8 .cpuprofile's self time by area (package or netq file) and by function.
import { readFile } from 'node:fs/promises';
import { inWindow, type Window } from './timeWindow.js';

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface CpuSummary {
  /** sampled ms in the windows */
  totalMs: number;
  idleMs: number;
  byArea: [string, number][];
  topFunctions: [string, number][];
}

function areaOf(url: string, fn: string): string {
  if (fn === '(idle)' || fn === '(program)' || fn === '(garbage collector)' || fn === '(root)') return fn;
  if (url === '') return '(V8 builtins / native)';
  if (url.startsWith('node:')) return `node internals (${url.slice(5).split('/')[0]})`;
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + 14).split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? url);
  }
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return `netq ${url.slice(dist + 6)}`;
  return url;
}

/** Self time of a V8 .cpuprofile within the windows, by area (package or netq file) and by function. */
export async function summariseCpuProfile(file: string, windows: Window[]): Promise<CpuSummary> {
  const prof = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const area = new Map<string, number>();
  const fns = new Map<string, number>();
  let t = prof.startTime;
  let total = 0;
  let idle = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i] ?? 0;
    t += dt;
    if (windows.length && !windows.some((w) => inWindow(t, w))) continue;
    const node = byId.get(prof.samples[i] ?? -1);
    if (!node) continue;
    const ms = dt / 1000;
    total += ms;
    const { functionName, url, lineNumber } = node.callFrame;
    const a = areaOf(url, functionName);
    if (a === '(idle)') {
      idle += ms;
      continue;
    }
    area.set(a, (area.get(a) ?? 0) + ms);
    const where = url ? ` ${areaOf(url, functionName)}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'}${where}`;
    fns.set(key, (fns.get(key) ?? 0) + ms);
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return { totalMs: total, idleMs: idle, byArea: sorted(area), topFunctions: sorted(fns).slice(0, 20) };
}
