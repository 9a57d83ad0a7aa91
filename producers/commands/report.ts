import type { Command } from 'commander';
import { DokkuError, ExitError } from '../../src/errors.js';
import {
  APP_REPORT_FLAGS,
  DRIFT_FLAG,
  GLOBAL_REPORT_FLAGS,
  goJson,
  goQuote,
  netqJsonObject,
  type ReportValues,
  reportJsonObject,
  reportStdout,
  toBytes,
} from '../../src/report/buildReport.js';
import { report } from '../operations/report.js';
import type { ReportSection } from '../reportData.js';
import { type RegisterCommand, withOperations } from './commandContext.js';

/**
 * `network:report [<app>|--global] [--format stdout|json] [<flag>]`, byte for byte as Dokku 0.38 prints it
 * (plugins/network/src/subcommands/subcommands.go case "report", plugins/network/subcommands.go CommandReport,
 * plugins/network/report.go and plugins/common/common.go ParseReportArgs / ReportSingleApp). netq's additions, which
 * Dokku's outputs never show: the info flag `--network-drift` (an app's drift), `--format text` (= stdout) and
 * `--format json-by-app` (one object keyed by app, with the drift: what GET /v1/report answers).
 */

const USAGE = 'Usage of network:report:\n      --format string   format: [ stdout | json ] (default "stdout")\n';
const JSON_BY_APP = 'json-by-app';

/** Go's %q of a rune that is one byte of the command line (pflag's unknown shorthand message). */
function quoteByteRune(s: string): string {
  const b = Buffer.from(s)[0] ?? 0;
  // pflag's NotExistError takes the first byte of string(byte): a byte >= 0x80 becomes U+00C2 or U+00C3
  if (b >= 0x80) return b < 0xc0 ? "'Â'" : "'Ã'";
  if (b === 0x27) return "'\\''";
  return `'${goQuote(String.fromCharCode(b)).slice(1, -1).replace('\\"', '"')}'`;
}

/** ParseReportArgs: `--format <value>` and the positional words to pflag, `--global` noted, every other `--x` an info flag. */
function parseReportArgs(args: string[]): { osArgs: string[]; infoFlags: string[]; isGlobal: boolean } {
  const osArgs: string[] = [];
  const infoFlags: string[] = [];
  let isGlobal = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === '--format') {
      // Go indexes arguments[i+1] unchecked: a trailing --format panics (exit 2)
      if (i + 1 >= args.length) {
        process.stderr.write(`panic: runtime error: index out of range [${i + 1}] with length ${args.length}\n`);
        throw new ExitError(2);
      }
      osArgs.push(a, args[++i] ?? '');
    } else if (a === '--global') isGlobal = true;
    else if (a.startsWith('--')) infoFlags.push(a);
    else osArgs.push(a);
  }
  return { osArgs, infoFlags, isGlobal };
}

/**
 * pflag's Parse of those (a FlagSet with only `--format`, ExitOnError): the last --format wins, `-h` prints the
 * usage and exits 0, any other short flag prints the usage and the error and exits 2; `--` ends the flags.
 */
function parsePflag(osArgs: string[]): { format: string; positional: string[] } {
  let format = 'stdout';
  const positional: string[] = [];
  const args = [...osArgs];
  while (args.length > 0) {
    const s = args.shift() ?? '';
    if (s.length <= 1 || s[0] !== '-') {
      positional.push(s);
    } else if (s === '--') {
      positional.push(...args.splice(0));
    } else if (s.startsWith('--')) {
      // only `--format <value>` gets here (parseReportArgs sends every other `--x` to the info flags)
      format = args.shift() ?? '';
    } else {
      const shorthands = s.slice(1);
      if (shorthands.startsWith('test.')) continue; // go test's flags are ignored
      process.stderr.write(USAGE);
      if (shorthands[0] === 'h') throw new ExitError(0);
      process.stderr.write(`unknown shorthand flag: ${quoteByteRune(shorthands)} in -${shorthands}\n`);
      throw new ExitError(2);
    }
  }
  return { format, positional };
}

/**
 * The arguments after the command word, as the user gave them: commander's root program takes `--quiet` and
 * `--trace` wherever they are (as Dokku's parse_args does, which still passes them on to the subcommand), so the
 * words are taken from the root's `rawArgs` (set by parse(), untyped).
 */
function commandArgs(command: Command, fallback: string[]): string[] {
  const raw = (command.parent as { rawArgs?: unknown } | null)?.rawArgs;
  if (!Array.isArray(raw) || !raw.every((a): a is string => typeof a === 'string')) return fallback;
  const names = [command.name(), ...command.aliases()];
  const at = raw.findIndex((a) => names.includes(a));
  return at < 0 ? fallback : raw.slice(at + 1);
}

/** `network:report`: read only, no job. */
export const registerReport: RegisterCommand = (program, ctx) => {
  program
    .command('network:report')
    .usage('[<app>|--global] [--format text|json] [<flag>]')
    .description('show the network properties and listeners of an app, of every app, or of --global')
    .argument(
      '[args...]',
      "an app or --global; --format stdout|json (netq's own: json-by-app, every app's object, with its drift, keyed " +
        "by app); optionally one flag, such as --network-tld (netq's own: --network-drift)",
    )
    // every argument is Dokku's to parse: --help is an (invalid) info flag there, -h pflag's help
    .helpOption(false)
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .action(async (given: string[], _opts: unknown, command: Command) => {
      const args = commandArgs(command, given);
      const parsed = parseReportArgs(args);
      // ParseReportArgs refuses two info flags, but subcommands.go drops that error: nothing printed, exit 0
      if (parsed.infoFlags.length > 1) return;
      const { format: asked, positional } = parsePflag(parsed.osArgs);
      const app = parsed.isGlobal ? '--global' : (positional[0] ?? '');
      const infoFlag = parsed.infoFlags[0] ?? '';
      const format = asked === '' || asked === 'text' ? 'stdout' : asked;

      const drift = format === JSON_BY_APP || (infoFlag === DRIFT_FLAG && app !== '--global');
      const target = app === '--global' ? { global: true } : app === '' ? {} : { app };
      await withOperations(ctx.getConfig, 30, (ops) =>
        commandReport(report(ops, { ...target, drift }), format, infoFlag, ctx.out.quiet),
      );
    });
};

const write = (text: string) => process.stdout.write(toBytes(text));

/** CommandReport: one app, `--global`, or every app in turn (stopping at the first error, as Dokku does). */
async function commandReport(
  sections: AsyncIterable<ReportSection>,
  format: string,
  infoFlag: string,
  quiet: boolean,
): Promise<void> {
  let apps = 0;
  const byApp: Record<string, Record<string, string>> = {};
  for await (const section of sections) {
    apps += 1;
    const out = reportSingleApp(section, format, infoFlag, quiet);
    if (typeof out === 'string') write(out);
    else byApp[section.title] = out;
  }
  if (apps === 0) {
    // DokkuApps' NoAppsExist: a warning, exit 0
    process.stderr.write(" !     You haven't deployed any applications yet\n");
    return;
  }
  if (format === JSON_BY_APP) write(`${goJson(byApp)}\n`);
}

/** report.go ReportSingleApp, then common.ReportSingleApp: what one app (or `--global`) prints. */
function reportSingleApp(
  section: ReportSection,
  format: string,
  infoFlag: string,
  quiet: boolean,
): string | Record<string, string> {
  const app = section.title;
  const global = app === '--global';
  const validFlags: readonly string[] = global ? GLOBAL_REPORT_FLAGS : APP_REPORT_FLAGS;
  // CollectReport: with an info flag, only that flag's value (none for an unknown flag)
  const values: ReportValues = {};
  for (const [k, v] of Object.entries(section.values)) if (infoFlag === '' || infoFlag === k) values[k] = v;

  // Validate
  if (format !== 'stdout' && format !== 'json' && format !== JSON_BY_APP) {
    throw new DokkuError(`Format must be "stdout" or "json": ${goQuote(format)}`);
  }
  if (format !== 'stdout' && infoFlag !== '') {
    throw new DokkuError('--format flag cannot be specified when specifying an info flag');
  }
  if (format === 'json') return `${goJson(reportJsonObject(values))}\n`;
  if (format === JSON_BY_APP) return netqJsonObject(values, section.drift);
  if (infoFlag === '') return reportStdout(app, values, quiet);
  if (Object.hasOwn(values, infoFlag)) return `${values[infoFlag]}\n`;
  if (infoFlag === DRIFT_FLAG && section.drift !== undefined) return `${section.drift}\n`;
  throw new DokkuError(`Invalid flag passed, valid flags: ${[...validFlags].sort().join(', ')}`);
}
