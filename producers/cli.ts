import { Command, CommanderError } from 'commander';
import { type Config, loadConfig } from '../src/config.js';
import { BadInputError, ConfigError, coerceError, ExitError, NetqError } from '../src/errors.js';
import { registerHosts } from './commands/hosts.js';
import { registerNetworks } from './commands/networks.js';
import { registerRebuild } from './commands/rebuild.js';
import { registerReport } from './commands/report.js';
import { registerServe } from './commands/serve.js';
import { registerSet } from './commands/set.js';
import type { CommandContext, RegisterCommand } from './commands/shared.js';
import { registerWorker } from './commands/worker.js';

/**
 * The `netq` command. This file is the only place that exits: commands return or throw, and
 * `run` maps errors to exit codes (bad input and unreachable services 1; rebuilds: the number of
 * failed containers, 255 at most).
 */

/** Every command, in the order `netq --help` lists them. */
const COMMANDS: RegisterCommand[] = [
  registerWorker,
  registerServe,
  registerRebuild,
  registerReport,
  registerSet,
  registerNetworks,
  registerHosts,
];

export function buildProgram(ctx: CommandContext): Command {
  const program = new Command('netq')
    .description("Dokku's network plugin as a job queue: rebuild container network config through BullMQ workers")
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({
      // commander's errors, as one line in netq's own form: `netq: unknown option '--x'`
      outputError: (str, write) => write(`netq: ${(str.split('\n')[0] ?? str).replace(/^error: /, '')}\n`),
    });
  for (const register of COMMANDS) register(program, ctx);
  return program;
}

function forceExit(code: number): never {
  process.exit(code);
}

/** Runs the CLI and returns the exit code; never exits itself. */
export async function run(argv: string[]): Promise<number> {
  let config: Config | undefined;
  const getConfig = () => {
    config ??= loadConfig();
    return config;
  };
  try {
    await buildProgram({ getConfig, forceExit }).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (raw) {
    if (raw instanceof ExitError) return raw.code;
    if (raw instanceof CommanderError) return raw.exitCode === 0 ? 0 : 1;
    if (raw instanceof ConfigError) {
      for (const line of raw.lines) process.stderr.write(`netq: ${line}\n`);
      return 1;
    }
    const err = coerceError(raw);
    if (err instanceof BadInputError || err instanceof NetqError) {
      process.stderr.write(`netq: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`netq: internal error: ${err.stack ?? err.message}\nnetq: please report this as a bug\n`);
    return 1;
  }
}

const code = await run(process.argv.slice(2));
process.exitCode = code;
// Let pending writes flush, then leave even if a library still holds a handle open.
setTimeout(() => forceExit(code), 50).unref();
