import { appNameProblem } from '../../src/appName.js';
import { BadInputError, ExitError } from '../../src/errors.js';
import { rebuild, rebuildall } from '../client.js';
import { exitCodeOf, formatRebuild, formatRebuildall } from '../format.js';
import { rebuildallProgressBar } from '../progress.js';
import { formatOption, print, type RegisterCommand, timeoutOption, type WaitFlags, withQueues } from './shared.js';

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
      if (problem) throw new BadInputError(`invalid app name ${JSON.stringify(app)}: ${problem}`);
      const config = ctx.getConfig();
      const { jobId, result } = await withQueues(config, flags.timeout, (q) =>
        rebuild(
          q,
          { app, ...(flags.host ? { host: flags.host } : {}) },
          { wait: flags.wait, timeoutMs: flags.timeout * 1000 },
        ),
      );
      if (!result) {
        print(flags.format === 'json' ? JSON.stringify({ jobId }) : jobId);
        return;
      }
      print(flags.format === 'json' ? JSON.stringify(result) : formatRebuild(result));
      const code = exitCodeOf(result.failed);
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
      print(flags.format === 'json' ? JSON.stringify(result) : formatRebuildall(result));
      const code = exitCodeOf(result.failed, result.hostFailures.length);
      if (code) throw new ExitError(code);
    });
};
