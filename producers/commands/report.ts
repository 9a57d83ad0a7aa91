import { appNameProblem } from '../../src/appName.js';
import { BadInputError, quoteInput } from '../../src/errors.js';
import { reportJson, reportText } from '../../src/report/buildReport.js';
import { reportData } from '../reportData.js';
import { print, type RegisterCommand, withQueues } from './shared.js';

interface ReportFlags {
  global?: boolean;
  format: string;
}

/** Report flags, Dokku style: `--network-tld`; the stripped form `--tld` is accepted too. */
function pickFlag(args: string[]): { app?: string; flag?: string } {
  const out: { app?: string; flag?: string } = {};
  for (const a of args) {
    if (a.startsWith('--')) {
      if (out.flag) throw new BadInputError(`only one report flag at a time (got ${out.flag} and ${a})`);
      out.flag = a.startsWith('--network-') ? a.slice(2) : `network-${a.slice(2)}`;
    } else {
      if (out.app !== undefined) throw new BadInputError(`unexpected argument ${JSON.stringify(a).slice(0, 80)}`);
      out.app = a;
    }
  }
  return out;
}

/** `network:report [<app>|--global] [--format text|json] [<flag>]`: read from Redis, no job. */
export const registerReport: RegisterCommand = (program, ctx) => {
  program
    .command('network:report')
    .usage('[<app>|--global] [--format text|json] [<flag>]')
    .description('show the network properties and listeners of an app, of every app, or of --global')
    .argument('[app-and-flag...]', 'an app, and optionally one report flag such as --network-web-listeners')
    .option('--global', 'show the global properties')
    .option('--format <format>', 'text or json', 'text')
    .allowUnknownOption(true)
    .action(async (args: string[], flags: ReportFlags) => {
      if (flags.format !== 'text' && flags.format !== 'json') {
        throw new BadInputError(`--format must be text or json, not ${JSON.stringify(flags.format).slice(0, 40)}`);
      }
      const { app, flag } = pickFlag(args);
      if (app !== undefined) {
        const problem = appNameProblem(app);
        if (problem) throw new BadInputError(`invalid app name ${quoteInput(app)}: ${problem}`);
      }
      const config = ctx.getConfig();
      const reports = await withQueues(config, 30, (q) => reportData(q, { global: flags.global, app }, config.dokku));
      if (reports.length === 0) {
        process.stderr.write(" !     You haven't deployed any applications yet\n");
        return;
      }
      if (flag !== undefined) {
        const known = reports[0]?.pairs.map(([k]) => k) ?? [];
        if (!known.includes(flag)) {
          throw new BadInputError(`invalid flag --${flag} (one of: ${known.map((k) => `--${k}`).join(', ')})`);
        }
        for (const r of reports) print(r.pairs.find(([k]) => k === flag)?.[1] ?? '');
        return;
      }
      if (flags.format === 'json') {
        const objs = reports.map((r) => reportJson(r.pairs));
        print(
          JSON.stringify(
            app !== undefined || flags.global ? objs[0] : Object.fromEntries(reports.map((r, i) => [r.title, objs[i]])),
          ),
        );
        return;
      }
      print(reports.map((r) => reportText(r.title, r.pairs)).join('\n'));
    });
};
