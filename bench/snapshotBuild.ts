import { execFile } from 'node:child_process';
import { cp, mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * Copies dist/, bin/ and package.json into the temp dir (node_modules linked) and runs netq from there, so
 * that a rebuild of dist/ by someone else during the bench cannot change the code measured halfway. Returns
 * the copy and netq's version: the commit, and how many files of src/workers/producers/bin differ from it.
 */
export async function snapshotBuild(root: string, tmp: string): Promise<{ dir: string; version: string }> {
  const dir = path.join(tmp, 'build');
  await mkdir(dir);
  await cp(path.join(root, 'dist'), path.join(dir, 'dist'), { recursive: true });
  await cp(path.join(root, 'bin'), path.join(dir, 'bin'), { recursive: true });
  await cp(path.join(root, 'package.json'), path.join(dir, 'package.json'));
  await symlink(path.join(root, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  const exec = promisify(execFile);
  const git = (...a: string[]) =>
    exec('git', a, { cwd: root }).then(
      (r) => r.stdout.trim(),
      () => '',
    );
  const head = await git('rev-parse', '--short', 'HEAD');
  const dirty = (await git('status', '--porcelain', '--', 'src', 'workers', 'producers', 'bin'))
    .split('\n')
    .filter(Boolean);
  const version = `${head || 'unknown'}${dirty.length ? ` + ${dirty.length} uncommitted changes in src/workers/producers` : ''}`;
  return { dir, version };
}
