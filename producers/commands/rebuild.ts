import { appNameProblem } from '../../src/appName.js';
import { BadInputError, ExitError, quoteInput } from '../../src/errors.js';
import type { RebuildResult } from '../../src/types.js';
import { rebuildall, rebuildEverywhere } from '../client.js';
import { exitCodeOf, formatRebuild, formatRebuildall } from '../format.js';
import { rebuildallProgressBar } from '../progress.js';
import {
  checkHost,
  formatOption,
  print,
  type RegisterCommand,
  timeoutOption,
  type WaitFlags,
  withQueues,
} from './shared.js';

function combine(app: string, results: RebuildResult[]) {
  return {
    app,
    containers: results.reduce((n, r) => n + r.containers, 0),
    configured: results.reduce((n, r) => n + r.configured, 0),
    failed: results.reduce((n, r) => n + r.failed, 0),
    results,
  };
}

/** `network:rebuild <app>` and `network:rebuildall`: exit with the number of failed containers (255 at most). */
export const registerRebuild: RegisterCommand = (program, ctx) => {
  program
    .command('network:rebuild')
    .description('rebuild the network config of an app')
    .argument('<app>', 'app name')
    .option('--no-wait', 'only enqueue; print the job id')
    .option('--host <host>', 'the host that runs the app (default: where it was last seen)')
    .addOption(formatOption())
    .addOption(timeoutOption())
    .action(async (app: string, flags: WaitFlags & { host?: string }) => {
      const problem = appNameProblem(app);
      if (problem) throw new BadInputError(`invalid app name ${quoteInput(app)}: ${problem}`);
      checkHost(flags.host);
      const config = ctx.getConfig();
      const { jobIds, results } = await withQueues(config, flags.timeout, (q) =>
        rebuildEverywhere(
          q,
          { app, ...(flags.host ? { host: flags.host } : {}) },
          {
            wait: flags.wait,
            timeoutMs: flags.timeout * 1000,
            // --no-wait requests come from deploy hooks in bursts: debounce them like Docker events
            ...(flags.wait ? {} : { delayMs: config.debounceMs }),
            onNoWorker: (host) =>
              process.stderr.write(
                ` !     no netq worker serves host ${host} right now: the rebuild waits for one (--timeout ${flags.timeout} s)\n`,
              ),
          },
        ),
      );
      if (!results) {
        print(flags.format === 'json' ? JSON.stringify({ jobIds }) : jobIds.join('\n'));
        return;
      }
      const failed = results.reduce((n, r) => n + r.failed, 0);
      if (flags.format === 'json') {
        // one host: the rebuild object; several: their sum with one object per host
        const [only] = results;
        print(JSON.stringify(results.length === 1 && only ? only : combine(app, results)));
      } else ctx.out.lines(results.map(formatRebuild).join('\n'));
      const code = exitCodeOf(failed);
      if (code) throw new ExitError(code);
    });

  program
    .command('network:rebuildall')
    .description('rebuild the network config of every app on every live host')
    .option('--no-wait', 'only enqueue; print the run id')
    .addOption(formatOption())
    .addOption(timeoutOption())
    .action(async (flags: WaitFlags) => {
      const config = ctx.getConfig();
      const bar = flags.wait ? rebuildallProgressBar() : undefined;
      const { jobId, result } = await withQueues(config, flags.timeout, (q) =>
        rebuildall(q, {
          wait: flags.wait,
          timeoutMs: flags.timeout * 1000,
          ...(bar ? { onProgress: (p) => bar.update(p) } : {}),
        }),
      ).finally(() => bar?.stop());
      if (!result) {
        print(flags.format === 'json' ? JSON.stringify({ jobId }) : jobId);
        return;
      }
      if (flags.format !== 'json' && result.apps === 0 && result.hostFailures.length === 0) {
        ctx.out.warn("You haven't deployed any applications yet"); // Dokku's CommandRebuildall, exit 0
        return;
      }
      if (flags.format === 'json') print(JSON.stringify(result));
      else ctx.out.lines(formatRebuildall(result));
      const code = exitCodeOf(result.failed, result.hostFailures.length);
      if (code) throw new ExitError(code);
    });
};
