import { appNameProblem } from '../../src/appName.js';
import { BadInputError, ExitError, NoWorkerError, quoteInput } from '../../src/errors.js';
import { JOB, networkJobSchema, type SetResult, setJobSchema } from '../../src/jobs.js';
import { GLOBAL_SCOPE, networksToCheck } from '../../src/properties/properties.js';
import { validateProperty } from '../../src/properties/validateProperty.js';
import type { NetqQueues } from '../../src/queue.js';
import type { RebuildallResult, RebuildResult } from '../../src/types.js';
import type { NetworkExistsResult } from '../../workers/control/networks.js';
import { hostForCommand, resolveHost, runControl, waitForJob } from '../client.js';
import { exitCodeOf, formatRebuild, formatRebuildall } from '../format.js';
import {
  checkHost,
  formatOption,
  print,
  type RegisterCommand,
  timeoutOption,
  type WaitFlags,
  withQueues,
} from './shared.js';

interface SetFlags extends WaitFlags {
  global?: boolean;
  apply: boolean;
  host?: string;
}

/** Refuses a value naming a network that does not exist on the host (asked of that host's worker). */
async function checkNetworksOn(q: NetqQueues, host: string, key: string, value: string, timeoutMs: number) {
  for (const network of networksToCheck(key, value)) {
    const data = networkJobSchema.parse({ host, network });
    const { result } = await runControl<NetworkExistsResult>(q, host, JOB.networkExists, data, {
      wait: true,
      timeoutMs,
    });
    if (!result) {
      throw new BadInputError(
        `network ${network} does not exist on host ${host} (create it with netq network:create ${network} --host ${host})`,
      );
    }
  }
}

/** `network:set <app>|--global <key> [<value>…]`: store a property, then (unless --no-apply) apply it. */
export const registerSet: RegisterCommand = (program, ctx) => {
  program
    .command('network:set')
    .usage('<app>|--global <key> [<value>...] [--no-apply]')
    .description('set (or, with no value, clear) a network property of an app or of --global')
    .argument('<app-or-key>', 'the app, or with --global the key')
    .argument('[key-and-values...]', 'the key and its values')
    .option('--global', 'set the global value')
    .option('--no-apply', 'only store; do not rebuild')
    .option('--no-wait', 'only enqueue; print the job id')
    .option(
      '--host <host>',
      'the host that checks the networks (default: where the app was last seen; with --global, every live host)',
    )
    .addOption(formatOption())
    .addOption(timeoutOption())
    .action(async (first: string, rest: string[], flags: SetFlags) => {
      const [scope, key, values] = flags.global ? [GLOBAL_SCOPE, first, rest] : [first, rest[0] ?? '', rest.slice(1)];
      if (!flags.global) {
        const problem = appNameProblem(scope);
        if (problem) throw new BadInputError(`invalid app name ${quoteInput(scope)}: ${problem}`);
        if (key === '') throw new BadInputError('missing the property key (network:set <app> <key> [<value>...])');
      }
      const { value } = validateProperty(flags.global ? 'global' : 'app', key, values);
      checkHost(flags.host);
      const config = ctx.getConfig();
      const timeoutMs = flags.timeout * 1000;
      const out = await withQueues(config, flags.timeout, async (q) => {
        let host: string;
        if (flags.global && flags.host === undefined) {
          // a global property applies on every host: its networks must exist on each; the first live host
          // stores it (checking its own engine again) and queues the rebuildall
          const live = (await q.liveHosts()).sort();
          const [first, ...others] = live;
          if (first === undefined) throw new NoWorkerError('no netq worker is running: start one with `netq worker`');
          for (const other of others) await checkNetworksOn(q, other, key, value, timeoutMs);
          host = first;
        } else {
          host = flags.global ? await hostForCommand(q, flags.host) : await resolveHost(q, scope, flags.host);
        }
        const data = setJobSchema.parse({ host, scope, key, values, apply: flags.apply });
        const { jobId, result } = await runControl<SetResult>(q, host, JOB.set, data, { wait: flags.wait, timeoutMs });
        if (!result || !flags.wait || !result.jobId || !result.queue) return { jobId, result };
        const applied = await waitForJob<RebuildResult | RebuildallResult>(q, result.queue, result.jobId, timeoutMs);
        return { jobId, result, applied };
      });
      if (!out.result) {
        print(flags.format === 'json' ? JSON.stringify({ jobId: out.jobId }) : out.jobId);
        return;
      }
      const r = out.result;
      const applied = 'applied' in out ? out.applied : undefined;
      if (flags.format === 'json') {
        print(JSON.stringify({ ...r, ...(applied ? { result: applied } : {}) }));
      } else {
        const what = r.value === '' ? `Unsetting ${r.key}` : `Setting ${r.key} to ${r.value}`;
        const queued = r.applied === 'none' ? 'not applied (--no-apply)' : `${r.applied} ${r.jobId} queued`;
        print(`=====> ${what} for ${r.scope === GLOBAL_SCOPE ? 'the global scope' : r.scope}: ${queued}`);
        if (applied) print('results' in applied ? formatRebuildall(applied) : formatRebuild(applied));
      }
      if (applied) {
        const code = exitCodeOf(applied.failed, 'hostFailures' in applied ? applied.hostFailures.length : 0);
        if (code) throw new ExitError(code);
      }
    });
};
