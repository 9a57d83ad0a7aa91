import { ExitError } from '../../src/errors.js';
import { exitCodeOf, formatRebuild, formatRebuildall } from '../format.js';
import { failedOf, rebuild, rebuildAnswer } from '../operations/rebuild.js';
import { rebuildall } from '../operations/rebuildall.js';
import { rebuildallProgressBar } from '../progress.js';
import {
  formatOption,
  print,
  type RegisterCommand,
  timeoutOption,
  type WaitFlags,
  withOperations,
} from './commandContext.js';

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
      const { jobs, results } = await withOperations(ctx.getConfig, flags.timeout, (ops) =>
        rebuild(ops, {
          app,
          ...(flags.host === undefined ? {} : { host: flags.host }),
          wait: flags.wait,
          timeoutMs: flags.timeout * 1000,
          onNoWorker: (host) =>
            process.stderr.write(
              ` !     no netq worker serves host ${host} right now: the rebuild waits for one (--timeout ${flags.timeout} s)\n`,
            ),
        }),
      );
      if (!results) {
        const jobIds = jobs.map((j) => j.jobId);
        print(flags.format === 'json' ? JSON.stringify({ jobIds }) : jobIds.join('\n'));
        return;
      }
      // one host: the rebuild object; several: their sum with one object per host
      if (flags.format === 'json') print(JSON.stringify(rebuildAnswer(app, results)));
      else ctx.out.lines(results.map(formatRebuild).join('\n'));
      const code = exitCodeOf(failedOf(results));
      if (code) throw new ExitError(code);
    });

  program
    .command('network:rebuildall')
    .description('rebuild the network config of every app on every live host')
    .option('--no-wait', 'only enqueue; print the run id')
    .addOption(formatOption())
    .addOption(timeoutOption())
    .action(async (flags: WaitFlags) => {
      const bar = flags.wait ? rebuildallProgressBar() : undefined;
      const { jobId, result } = await withOperations(ctx.getConfig, flags.timeout, (ops) =>
        rebuildall(ops, {
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
