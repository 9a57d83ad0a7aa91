import { mkdtemp, open, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AtomicFs, writeFileAtomically } from '../../src/store/atomicFile.js';

type Step = { op: 'open' | 'sync' | 'close'; file: string } | { op: 'rename'; from: string; to: string };

/** node's own calls, each recorded in order; a file handle's sync and close are recorded with the path it was opened at. */
function recordingFs(steps: Step[]): AtomicFs {
  const recordingOpen = (async (file: string, flags?: string | number, mode?: number) => {
    const fh = await open(file, flags, mode);
    const name = String(file);
    steps.push({ op: 'open', file: name });
    const sync = fh.sync.bind(fh);
    const close = fh.close.bind(fh);
    fh.sync = async () => {
      await sync();
      steps.push({ op: 'sync', file: name });
    };
    fh.close = async () => {
      await close();
      steps.push({ op: 'close', file: name });
    };
    return fh;
  }) as AtomicFs['open'];
  const recordingRename = (async (from: string, to: string) => {
    await rename(from, to);
    steps.push({ op: 'rename', from: String(from), to: String(to) });
  }) as AtomicFs['rename'];
  return { open: recordingOpen, rename: recordingRename, unlink };
}

describe('writeFileAtomically', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'netq-atomic-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('fsyncs the folder after the rename, so the new name survives a crash', async () => {
    const steps: Step[] = [];
    await writeFileAtomically(dir, 'IP.web.1', '10.0.0.5\n', { mode: 0o644 }, recordingFs(steps));

    expect(await readFile(path.join(dir, 'IP.web.1'), 'utf8')).toBe('10.0.0.5\n');
    expect(await readdir(dir)).toEqual(['IP.web.1']); // no temporary file left

    const renamed = steps.findIndex((s) => s.op === 'rename' && s.to === path.join(dir, 'IP.web.1'));
    expect(renamed).toBeGreaterThan(-1);
    // the temporary file's content was synced before it took the name
    const tmp = (steps[renamed] as { from: string }).from;
    const tmpSynced = steps.findIndex((s) => s.op === 'sync' && s.file === tmp);
    expect(tmpSynced).toBeGreaterThan(-1);
    expect(tmpSynced).toBeLessThan(renamed);
    // and the folder was opened and synced after the rename
    const after = steps.slice(renamed + 1);
    expect(after).toContainEqual({ op: 'open', file: dir });
    expect(after).toContainEqual({ op: 'sync', file: dir });
    expect(after).toContainEqual({ op: 'close', file: dir });
  });

  it('leaves no temporary file and syncs no folder when the rename fails', async () => {
    const steps: Step[] = [];
    const fs = recordingFs(steps);
    const failing: AtomicFs = {
      ...fs,
      rename: (async () => {
        throw Object.assign(new Error('EXDEV'), { code: 'EXDEV' });
      }) as AtomicFs['rename'],
    };
    await expect(writeFileAtomically(dir, 'IP.web.1', 'x', { mode: 0o644 }, failing)).rejects.toThrow('EXDEV');
    expect(await readdir(dir)).toEqual([]);
    expect(steps).not.toContainEqual({ op: 'sync', file: dir });
  });
});
