import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir, testEnv } from '../helpers.js';

/**
 * The CLI's output reaches a slow reader whole. A pipe holds 64 KiB; the rest of a large answer waits in the
 * process for the reader, and the CLI must not leave before it is taken (a `--format json` of thousands of apps
 * read by a script that is busy for a moment lost everything past the first 64 KiB).
 */
/** A Dokku host with this many apps created, none deployed: their report needs no service but Redis. */
async function dokkuWithApps(dir: string, apps: number): Promise<Record<string, string>> {
  for (let i = 0; i < apps; i++) await mkdir(path.join(dir, 'dokku', `app-${i}`), { recursive: true });
  await mkdir(path.join(dir, 'lib'));
  return testEnv({ NETQ_DOKKU_ROOT: path.join(dir, 'dokku'), NETQ_DOKKU_LIB_ROOT: path.join(dir, 'lib') });
}

describe('the CLI output', () => {
  it('reaches a reader that waits a second before reading, every byte of a 600-app report', async () => {
    const root = await tempDir();
    try {
      const env = await dokkuWithApps(root.dir, 600);
      // the reader: a shell pipeline whose right side sleeps before it reads, as a busy script would
      const read = (waitS: number) =>
        new Promise<{ code: number | null; bytes: number; text: string }>((resolve, reject) => {
          const child = spawn(
            'sh',
            ['-c', `${process.execPath} bin/netq.js network:report --format json | (sleep ${waitS}; cat)`],
            { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'ignore'] },
          );
          const chunks: Buffer[] = [];
          child.stdout.on('data', (c: Buffer) => chunks.push(c));
          child.on('error', reject);
          child.on('close', (code) => {
            const text = Buffer.concat(chunks).toString();
            resolve({ code, bytes: Buffer.byteLength(text), text });
          });
        });
      const eager = await read(0);
      expect(eager.code).toBe(0);
      expect(eager.bytes).toBeGreaterThan(128 * 1024); // well past what a pipe holds
      const slow = await read(1);
      expect(slow.code).toBe(0);
      expect(slow.bytes).toBe(eager.bytes);
      // one JSON document per app, one per line
      const lines = slow.text.trimEnd().split('\n');
      expect(lines).toHaveLength(600);
      for (const line of lines) expect(JSON.parse(line)).toHaveProperty('computed-bind-all-interfaces');
    } finally {
      await root.remove();
    }
  });

  it('leaves quietly when its reader stops reading (`| head`), with no stack trace', async () => {
    const root = await tempDir();
    try {
      const env = await dokkuWithApps(root.dir, 600);
      // `head` takes one line and closes the pipe; netq's stderr is what the shell's stderr shows
      const child = spawn(
        'sh',
        ['-c', `${process.execPath} bin/netq.js network:report --format json | head -n 1 >/dev/null`],
        { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
      });
      const code = await new Promise<number | null>((resolve, reject) => {
        child.on('error', reject);
        child.on('close', resolve);
      });
      expect(code).toBe(0);
      expect(stderr).toBe('');
    } finally {
      await root.remove();
    }
  });
});
