import { ExitError } from '../../src/errors.js';
import type { SetResult } from '../../src/jobs.js';
import { GLOBAL_SCOPE } from '../../src/properties/properties.js';
import type { DokkuOutput } from '../dokkuOutput.js';
import { exitCodeOf, formatRebuild, formatRebuildall } from '../format.js';
import { type Applied, failuresOf, type SetOutcome, set, setAnswer } from '../operations/set.js';
import {
  formatOption,
  print,
  type RegisterCommand,
  timeoutOption,
  type WaitFlags,
  withOperations,
} from './commandContext.js';

interface SetFlags extends WaitFlags {
  global?: boolean;
  apply: boolean;
  host?: string;
}

/** Dokku's line for the change (`=====> Setting <key> to <value>` / `=====> Unsetting <key>`). */
const setLine = (out: DokkuOutput, r: { key: string; value: string }) =>
  out.header(r.value === '' ? `Unsetting ${r.key}` : `Setting ${r.key} to ${r.value}`);

/** What was queued to apply a set: `-----> Applying <key> to <app> [on <hosts>]: rebuild <job ids> queued`. */
function queuedLine(stored: SetResult): string | undefined {
  if (stored.applied === 'rebuildall') return `Applying ${stored.key} to every app: rebuildall ${stored.jobId} queued`;
  const rebuilds = stored.rebuilds ?? [];
  if (stored.applied === 'none' || rebuilds.length === 0) return undefined;
  const on = rebuilds.length > 1 ? ` on ${rebuilds.map((j) => j.host).join(', ')}` : '';
  return `Applying ${stored.key} to ${stored.scope}${on}: rebuild ${rebuilds.map((j) => j.jobId).join(', ')} queued`;
}

/** The applied rebuilds (one per host) or rebuildall, as `network:rebuild` and `network:rebuildall` print them. */
const appliedText = (applied: Applied) =>
  Array.isArray(applied) ? applied.map(formatRebuild).join('\n') : formatRebuildall(applied);

/** The text output: Dokku's line, the warnings, what was queued to apply it, and the applied rebuild. */
function printText(out: DokkuOutput, outcome: Exclude<SetOutcome, { state: 'queued' }>, apply: boolean): void {
  const stored = outcome.stored;
  setLine(out, stored);
  for (const w of stored.warnings ?? []) out.warn(w);
  const queued = outcome.state === 'stored' ? undefined : queuedLine(stored);
  if (outcome.state === 'stored' && apply) out.info1(`Nothing to apply: ${outcome.idle}`);
  if (queued) out.info1(queued);
  const applied = outcome.state === 'set' ? outcome.applied : undefined;
  if (applied) out.lines(appliedText(applied));
}

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
      'the one host that stores it and applies it (default: every live host where the app runs; with --global, every live host)',
    )
    .addOption(formatOption())
    .addOption(timeoutOption())
    .action(async (first: string, rest: string[], flags: SetFlags) => {
      const [scope, key, values] = flags.global ? [GLOBAL_SCOPE, first, rest] : [first, rest[0] ?? '', rest.slice(1)];
      const outcome = await withOperations(ctx.getConfig, flags.timeout, (ops) =>
        set(ops, {
          scope,
          key,
          values,
          apply: flags.apply,
          ...(flags.host === undefined ? {} : { host: flags.host }),
          wait: flags.wait,
          timeoutMs: flags.timeout * 1000,
        }),
      );
      if (outcome.state === 'queued') {
        print(flags.format === 'json' ? JSON.stringify({ jobId: outcome.jobId }) : outcome.jobId);
        return;
      }
      if (flags.format === 'json') print(JSON.stringify(setAnswer(outcome)));
      else printText(ctx.out, outcome, flags.apply);
      const applied = outcome.state === 'set' ? outcome.applied : undefined;
      if (applied) {
        const { failed, hostFailures } = failuresOf(applied);
        const code = exitCodeOf(failed, hostFailures);
        if (code) throw new ExitError(code);
      }
    });
};
