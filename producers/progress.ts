import { SingleBar } from 'cli-progress';
import type { RebuildallProgress } from './client.js';

/** A progress bar on stderr for rebuildall, shown only on a terminal. */
export function rebuildallProgressBar(stream: NodeJS.WriteStream = process.stderr) {
  if (!stream.isTTY) return undefined;
  const bar = new SingleBar({
    stream,
    format: 'rebuildall [{bar}] {value}/{total} apps | {failed} failed | hosts {scanned}/{hosts}',
    hideCursor: true,
    clearOnComplete: true,
  });
  let started = false;
  return {
    update(p: RebuildallProgress) {
      if (!started) {
        bar.start(Math.max(p.apps, 1), 0, { failed: 0, scanned: 0, hosts: p.hosts });
        started = true;
      }
      bar.setTotal(Math.max(p.apps, 1));
      bar.update(p.appsDone, { failed: p.failed, scanned: p.hostsScanned, hosts: p.hosts });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
