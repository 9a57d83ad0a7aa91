import { Command } from 'commander';
import { redactUrl } from '../src/config.js';
import { registerAppLifecycle } from './commands/appLifecycle.js';
import type { CommandContext, RegisterCommand } from './commands/commandContext.js';
import { registerHelp, usage } from './commands/help.js';
import { registerHosts } from './commands/hosts.js';
import { registerNetworks } from './commands/networks.js';
import { registerRebuild } from './commands/rebuild.js';
import { registerReport } from './commands/report.js';
import { registerServe } from './commands/serve.js';
import { registerSet } from './commands/set.js';
import { registerWorker } from './commands/worker.js';

/** Every command, in the order `netq --help` lists them. */
const COMMANDS: RegisterCommand[] = [
  registerWorker,
  registerServe,
  registerRebuild,
  registerReport,
  registerSet,
  registerNetworks,
  registerAppLifecycle,
  registerHosts,
  registerHelp,
];

/** The `netq` program: every command registered, errors as one line. Nothing here exits. */
export function buildProgram(ctx: CommandContext): Command {
  const program = new Command('netq')
    .description("Dokku's network plugin as a job queue: rebuild container network config through BullMQ workers")
    .showHelpAfterError(false)
    // commands listed as Dokku's help lists them: `network:set <app>|--global <key> [<value>...]`
    .configureHelp({ subcommandTerm: usage })
    .usage('COMMAND [<app>] [command-specific-options]')
    // Dokku's global flags, given before the command: `netq --quiet network:list`
    .option('--quiet', 'suppress the =====> and -----> lines, as Dokku does')
    .option('--trace', 'print what netq does on stderr (+ lines), as Dokku does')
    .option('--force', 'destroy without asking for confirmation (network:destroy), as Dokku does')
    .hook('preAction', (root) => {
      const g = root.opts<{ quiet?: boolean; trace?: boolean }>();
      if (g.quiet) ctx.out.quiet = true;
      if (g.trace) {
        // Dokku's --trace shows each step its shell runs; netq shows the command and the settings it runs with
        ctx.out.trace = true;
        // (commander keeps the command line as given in rawArgs, which its types leave out)
        ctx.out.traced(`netq ${(root as unknown as { rawArgs: string[] }).rawArgs.join(' ')}`);
        const c = ctx.getConfig();
        ctx.out.traced(
          `REDIS_URL=${redactUrl(c.redisUrl)} NETQ_PREFIX=${c.prefix} NETQ_HOST_ID=${c.hostId}` +
            (c.dokku ? ` NETQ_DOKKU_ROOT=${c.dokku.root} NETQ_DOKKU_LIB_ROOT=${c.dokku.libRoot}` : ' (without Dokku)'),
        );
      }
    })
    .exitOverride()
    .configureOutput({
      // commander's errors, as one line in netq's own form: `netq: unknown option '--x'`
      outputError: (str, write) => write(`netq: ${(str.split('\n')[0] ?? str).replace(/^error: /, '')}\n`),
    });
  for (const register of COMMANDS) register(program, ctx);
  return program;
}
