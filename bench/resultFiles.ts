import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ROOT } from './benchRun.js';

/** `bench/results/<date><suffix>` (the date as 2026-11-29T05-35-07Z), its folder made. */
export async function resultPath(suffix: string): Promise<string> {
  const stamp = new Date()
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/:/g, '-');
  const base = path.join(ROOT, 'bench/results', `${stamp}${suffix}`);
  await mkdir(path.dirname(base), { recursive: true });
  return base;
}
