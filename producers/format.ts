import type { RebuildallResult, RebuildResult } from '../src/types.js';

/** Text output in Dokku's style: `=====>` headings, indented detail, ` !` for problems. */

export function formatRebuild(r: RebuildResult): string {
  const lines = [
    `=====> ${r.app} network rebuilt on host ${r.host}: ${r.containers} containers, ${r.configured} configured, ${r.failed} failed`,
  ];
  for (const [proc, listeners] of Object.entries(r.listeners)) lines.push(`       ${proc}: ${listeners.join(' ')}`);
  for (const f of r.failures) lines.push(` !     ${f.container}: ${f.reason}`);
  return lines.join('\n');
}

export function formatRebuildall(s: RebuildallResult): string {
  const lines = s.results.map(formatRebuild);
  for (const h of s.hostFailures) lines.push(` !     host ${h.host}: ${h.reason}`);
  lines.push(
    `=====> rebuildall: ${s.apps} apps, ${s.containers} containers, ${s.configured} configured, ${s.failed} failed`,
  );
  return lines.join('\n');
}

/** Dokku's contract: the exit status is the number of containers that could not be configured, 255 at most. */
export function exitCodeOf(failed: number, hostFailures = 0): number {
  if (failed === 0 && hostFailures > 0) return 1;
  return Math.min(255, failed);
}
