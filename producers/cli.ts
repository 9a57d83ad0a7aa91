import { CommanderError } from 'commander';
import { type Config, loadConfig } from '../src/config.js';
import { BadInputError, ConfigError, coerceError, DokkuError, ExitError, NetqError } from '../src/errors.js';
import { DokkuOutput } from './dokkuOutput.js';
import { buildProgram } from './program.js';

/**
 * The `netq` command. This file is the only place that exits: commands return or throw, and
 * `run` maps errors to exit codes (bad input and unreachable services 1; rebuilds: the number of
 * failed containers, 255 at most).
 */

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
  // Dokku's DOKKU_QUIET_OUTPUT; the global --quiet and --trace flags are applied by the program
  const out = new DokkuOutput(Boolean(process.env.DOKKU_QUIET_OUTPUT));
  try {
    await buildProgram({ getConfig, forceExit, out }).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (raw) {
    if (raw instanceof ExitError) return raw.code;
    if (raw instanceof DokkuError) {
      out.warn(raw.message);
      return raw.exitCode;
    }
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

/** Resolves once everything written to the stream so far has been handed to the OS (a slow pipe reader included). */
const flushed = (stream: NodeJS.WriteStream) => new Promise<void>((resolve) => stream.write('', () => resolve()));

// A reader that stops reading (`netq network:report | head`) is not an error of netq's: leave quietly, as a
// Unix tool that gets SIGPIPE does, instead of dying on an unhandled EPIPE with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') forceExit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    throw err;
  });
}

const code = await run(process.argv.slice(2));
process.exitCode = code;
// Every byte of the output reaches its reader first (a large --format json through a slow pipe); then leave,
// even if a library still holds a handle open.
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
setTimeout(() => forceExit(code), 50).unref();
