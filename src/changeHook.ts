import { execFile } from 'node:child_process';
import type { Logger } from './logger.js';

const HOOK_TIMEOUT_MS = 30_000;

/** True when two listener maps differ (both are kept in a stable order, so a reordering is no change). */
export function listenersChanged(
  before: Record<string, string[]> | undefined,
  after: Record<string, string[]>,
): boolean {
  return JSON.stringify(before ?? {}) !== JSON.stringify(after);
}

/**
 * Runs NETQ_ON_CHANGE for an app whose listeners changed: argv as given (`{app}` in an argument replaced
 * by the app), no shell, the app also in the environment. A hook that fails is logged; it does not fail the rebuild (the config is written).
 */
export function runChangeHook(
  argv: string[],
  env: { app: string; hostId: string; listeners: Record<string, string[]> },
  logger: Logger,
): Promise<void> {
  const [file, ...template] = argv;
  if (!file) return Promise.resolve();
  // `{app}` in an argument is the app's name (a checked app name; no shell ever sees it)
  const args = template.map((a) => a.replaceAll('{app}', env.app));
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        shell: false,
        timeout: HOOK_TIMEOUT_MS,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          NETQ_APP: env.app,
          NETQ_HOST_ID: env.hostId,
          NETQ_LISTENERS: JSON.stringify(env.listeners),
        },
      },
      (err, _stdout, stderr) => {
        const durationMs = Math.round(performance.now() - started);
        if (err)
          logger.warn(
            { app: env.app, durationMs, err: err.message, stderr: stderr.slice(0, 500) },
            'change hook failed',
          );
        else logger.info({ app: env.app, durationMs }, 'change hook ran');
        resolve();
      },
    );
  });
}
