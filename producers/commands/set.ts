import { appNameProblem } from '../../src/appName.js';
import type { Config } from '../../src/config.js';
import { appExists, isDeployed } from '../../src/dokku/dokkuState.js';
import { readDokkuProperties, writePropertyFile } from '../../src/dokku/propertyFiles.js';
import { AppDoesNotExistError, BadInputError, ExitError, NoWorkerError, quoteInput } from '../../src/errors.js';
import { JOB, networkJobSchema, type SetResult, setJobSchema } from '../../src/jobs.js';
import { GLOBAL_SCOPE, networksToCheck, type PropertyKey } from '../../src/properties/properties.js';
import { attachConflict, OTHER_PHASE, validateProperty } from '../../src/properties/validateProperty.js';
import type { NetqQueues } from '../../src/queue.js';
import { readProperties, writeProperty } from '../../src/store/propertyStore.js';
import type { RebuildallResult, RebuildResult } from '../../src/types.js';
import type { NetworkExistsResult } from '../../workers/control/networks.js';
import { hostForCommand, resolveHost, runControl, waitForJob } from '../client.js';
import type { DokkuOutput } from '../dokkuOutput.js';
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

interface Request {
  scope: string;
  key: PropertyKey;
  value: string;
  /** the values as given (the worker validates them again) */
  values: string[];
}

/** The warning for each network of the value that another live host does not have yet (asked of its worker). */
async function missingNetworksOn(q: NetqQueues, host: string, r: Request, timeoutMs: number): Promise<string[]> {
  const warnings: string[] = [];
  for (const network of networksToCheck(r.key, r.value)) {
    const data = networkJobSchema.parse({ host, network });
    const { result } = await runControl<NetworkExistsResult>(q, host, JOB.networkExists, data, {
      wait: true,
      timeoutMs,
    });
    if (!result) {
      warnings.push(
        `Network ${network} does not exist on host ${host} yet: create it (netq network:create ${network}) before it is applied`,
      );
    }
  }
  return warnings;
}

/**
 * Stores a property without a worker (`--no-apply`, or nothing to apply): in Dokku mode in Dokku's files (the
 * truth) and Redis's mirror, else in Redis. The other attach phase is checked first, as the worker does.
 */
async function storeHere(config: Config, q: NetqQueues, r: Request): Promise<void> {
  const stored = config.dokku
    ? await readDokkuProperties(config.dokku, r.scope)
    : await readProperties(q.redis, q.prefix, r.scope);
  if (r.value !== '' && (r.key === 'attach-post-create' || r.key === 'attach-post-deploy')) {
    const other = OTHER_PHASE[r.key];
    const own = r.scope === GLOBAL_SCOPE ? stored.global : stored.app;
    attachConflict(r.key, r.value, own[other] || stored.global[other] || '');
  }
  if (config.dokku) await writePropertyFile(config.dokku, r.scope, r.key, r.value);
  await writeProperty(q.redis, q.prefix, r.scope, r.key, r.value);
}

/**
 * Why a set needs no rebuild: an app Dokku has not deployed (nothing runs), or a global value with no worker
 * anywhere (the next rebuild of each app applies it). Anything else is applied by a worker.
 */
async function nothingToApply(config: Config, q: NetqQueues, r: Request): Promise<string | undefined> {
  if (r.scope === GLOBAL_SCOPE) return (await q.liveHosts()).length === 0 ? 'no netq worker is running' : undefined;
  if (config.dokku && !(await isDeployed(config.dokku, r.scope))) return `${r.scope} is not deployed`;
  return undefined;
}

/** Dokku's line for the change (`=====> Setting <key> to <value>` / `=====> Unsetting <key>`). */
const setLine = (out: DokkuOutput, r: { key: string; value: string }) =>
  out.header(r.value === '' ? `Unsetting ${r.key}` : `Setting ${r.key} to ${r.value}`);

/** `network:set <app>|--global <key> [<value>…]`: store a property as Dokku does, then (unless --no-apply) apply it. */
export const registerSet: RegisterCommand = (program, ctx) => {
  program
    .command('network:set')
    .usage('<app>|--global <key> [<value>...] [--no-apply]')
    .description('set (or, with no value, clear) a network property of an app or of --global')
    .argument('<app-or-key>', 'the app, or with --global the key')
    .argument('[key-and-values...]', 'the key and its values')
    .option('--global', 'set the global value')
    .option('--no-apply', 'only store, as Dokku does; do not rebuild')
    .option('--no-wait', 'only enqueue; print the job id')
    .option(
      '--host <host>',
      'the host that checks the networks (default: where the app was last seen; with --global, every live host)',
    )
    .addOption(formatOption())
    .addOption(timeoutOption())
    .action(async (first: string, rest: string[], flags: SetFlags) => {
      const [scope, key, values] = flags.global ? [GLOBAL_SCOPE, first, rest] : [first, rest[0] ?? '', rest.slice(1)];
      const config = ctx.getConfig();
      if (!flags.global) {
        const problem = appNameProblem(scope);
        if (problem) throw new BadInputError(`invalid app name ${quoteInput(scope)}: ${problem}`);
        // Dokku's VerifyAppName comes first: a missing app is exit 20 whatever else is wrong
        if (config.dokku && !(await appExists(config.dokku, scope))) throw new AppDoesNotExistError(scope);
      }
      const { key: k, value } = validateProperty(flags.global ? 'global' : 'app', key, values);
      const r: Request = { scope, key: k, value, values };
      checkHost(flags.host);
      const timeoutMs = flags.timeout * 1000;
      const out = await withQueues(config, flags.timeout, async (q) => {
        const idle = flags.apply ? await nothingToApply(config, q, r) : 'not applied (--no-apply)';
        if (idle !== undefined) {
          await storeHere(config, q, r);
          return { stored: { scope, key: k, value, applied: 'none' } as SetResult, idle };
        }
        let host: string;
        const warnings: string[] = [];
        if (flags.global && flags.host === undefined) {
          // a global property applies on every host: the first live host stores it (checking its own engine)
          // and queues the rebuildall; the others are asked whether they have its networks
          const [firstHost, ...others] = (await q.liveHosts()).sort();
          if (firstHost === undefined)
            throw new NoWorkerError('no netq worker is running: start one with `netq worker`');
          for (const other of others) warnings.push(...(await missingNetworksOn(q, other, r, timeoutMs)));
          host = firstHost;
        } else {
          host = flags.global ? await hostForCommand(q, flags.host) : await resolveHost(q, scope, flags.host);
        }
        const data = setJobSchema.parse({ host, scope, key, values, apply: true });
        const { jobId, result } = await runControl<SetResult>(q, host, JOB.set, data, { wait: flags.wait, timeoutMs });
        if (!result) return { jobId };
        const stored = { ...result, warnings: [...(result.warnings ?? []), ...warnings] };
        if (!flags.wait || !result.jobId || !result.queue) return { jobId, stored };
        const applied = await waitForJob<RebuildResult | RebuildallResult>(q, result.queue, result.jobId, timeoutMs);
        return { jobId, stored, applied };
      });
      if (!out.stored) {
        print(flags.format === 'json' ? JSON.stringify({ jobId: out.jobId }) : (out.jobId ?? ''));
        return;
      }
      const r2 = out.stored;
      const applied = 'applied' in out ? out.applied : undefined;
      if (flags.format === 'json') {
        print(JSON.stringify({ ...r2, ...(applied ? { result: applied } : {}) }));
      } else {
        setLine(ctx.out, r2);
        for (const w of r2.warnings ?? []) ctx.out.warn(w);
        if ('idle' in out && out.idle !== undefined) {
          if (flags.apply) ctx.out.info1(`Nothing to apply: ${out.idle}`);
        } else if (r2.applied !== 'none') {
          ctx.out.info1(
            `Applying ${r2.key} to ${r2.scope === GLOBAL_SCOPE ? 'every app' : r2.scope}: ${r2.applied} ${r2.jobId} queued`,
          );
        }
        if (applied) ctx.out.lines('results' in applied ? formatRebuildall(applied) : formatRebuild(applied));
      }
      if (applied) {
        const code = exitCodeOf(applied.failed, 'hostFailures' in applied ? applied.hostFailures.length : 0);
        if (code) throw new ExitError(code);
      }
    });
};
