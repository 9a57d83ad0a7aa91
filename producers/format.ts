import type { RebuildallResult, RebuildResult } from '../src/types.js';

/** Text output in Dokku's style: `=====>` headings, indented detail, ` !` for problems. */

export function formatRebuild(r: RebuildResult): string {
  if (r.skipped !== undefined) {
    // Dokku's BuildConfig prints nothing for an app it has nothing to build for
    return `=====> ${r.app} network on host ${r.host}: nothing to build (${r.skipped})`;
  }
  const lines = [
    // Dokku's own line (network.go BuildConfig, LogInfo1), then netq's counts
    `-----> Ensuring network configuration is in sync for ${r.app}`,
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
