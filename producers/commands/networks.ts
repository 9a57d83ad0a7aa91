import { type Command, Option } from 'commander';
import { DokkuError, ExitError } from '../../src/errors.js';
import type { DokkuOutput } from '../dokkuOutput.js';
import { goNetworkJson, goNetworkListJson, printNetworkInfo, printNetworkList } from '../format-networks.js';
import { checkHost } from '../operations/checks.js';
import { checkNetworkCreate, networkCreate } from '../operations/networkCreate.js';
import { checkNetworkDestroy, networkDestroy } from '../operations/networkDestroy.js';
import { networkExists } from '../operations/networkExists.js';
import { networkInfo } from '../operations/networkInfo.js';
import { requireNetworkName } from '../operations/networkJob.js';
import { networkList } from '../operations/networkList.js';
import {
  formatOption,
  HOST_INPUT,
  print,
  type RegisterCommand,
  timeoutOption,
  withOperations,
} from './commandContext.js';

/**
 * `network:create|destroy|exists|info|list` as Dokku 0.38 prints them (plugins/network/subcommands.go), run as
 * jobs on the host's control queue and answered by its worker (producers/operations/network*.ts).
 */

interface NetworkFlags {
  host?: string;
  format: string;
  timeout: number;
}

/** The operations' input common to every network command. */
const common = (flags: NetworkFlags) => ({
  ...(flags.host === undefined ? {} : { host: flags.host }),
  timeoutMs: flags.timeout * 1000,
});

/** Go's fmt `isSpace` (fmt/scan.go), which Scanln uses to split words. */
function isGoSpace(c: string): boolean {
  const r = c.codePointAt(0) ?? 0;
  return (
    (r >= 0x09 && r <= 0x0d) ||
    r === 0x20 ||
    r === 0x85 ||
    r === 0xa0 ||
    r === 0x1680 ||
    (r >= 0x2000 && r <= 0x200a) ||
    r === 0x2028 ||
    r === 0x2029 ||
    r === 0x202f ||
    r === 0x205f ||
    r === 0x3000
  );
}

/**
 * What `fmt.Scanln(&response)` makes of a line (the input up to its first newline, or to the end): the first
 * word, or Go's error (`EOF` for no input, `unexpected newline` for an empty line, `expected newline` for a
 * second word).
 */
export function scanln(line: string): { value: string } | { error: string } {
  const runes = [...line];
  let i = 0;
  // SkipSpace: a newline before the word is an error; \r\n counts as the newline
  for (;;) {
    const c = runes[i];
    if (c === undefined) return { error: 'EOF' };
    if (c === '\r' && runes[i + 1] === '\n') {
      i++;
      continue;
    }
    if (c === '\n') return { error: 'unexpected newline' };
    if (!isGoSpace(c)) break;
    i++;
  }
  let value = '';
  for (let c = runes[i]; c !== undefined && !isGoSpace(c); c = runes[++i]) value += c;
  // Scanln: only spaces may follow the word before the newline (or the end)
  for (let c = runes[i]; c !== undefined && c !== '\n'; c = runes[++i]) {
    if (!isGoSpace(c)) return { error: 'expected newline' };
  }
  return { value };
}

/** One line of stdin (through its newline), or what there was before the end; no terminal needed. */
function readLine(input: NodeJS.ReadStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const cleanup = () => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', onError);
      input.pause();
    };
    const onData = (chunk: string) => {
      text += chunk;
      const nl = text.indexOf('\n');
      if (nl >= 0) {
        cleanup();
        resolve(text.slice(0, nl + 1));
      }
    };
    const onEnd = () => {
      cleanup();
      resolve(text);
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    input.setEncoding('utf8');
    input.on('data', onData);
    input.on('end', onEnd);
    input.on('error', onError);
    input.resume();
  });
}

/**
 * Dokku's common.AskForDestructiveConfirmation: three warnings on stderr, `> ` on stdout, one word read from
 * stdin with fmt.Scanln. Only the exact name confirms; anything else prints LogStderr's line and exits 1, and
 * Scanln's errors are Dokku's failure lines (` !     EOF` when stdin has nothing).
 */
async function askForDestructiveConfirmation(out: DokkuOutput, name: string, objectType: string): Promise<void> {
  out.warn('WARNING: Potentially Destructive Action');
  out.warn(`This command will destroy ${objectType} ${name}.`);
  out.warn(`To proceed, type "${name}"`);
  process.stdout.write('> ');
  const answer = scanln(await readLine(process.stdin));
  if ('error' in answer) throw new DokkuError(answer.error);
  if (answer.value !== name) {
    process.stderr.write('Confirmation did not match test. Aborted.\n');
    throw new ExitError(1);
  }
}

const networkCommand = (program: Command, name: string, description: string) =>
  program
    .command(name)
    .description(description)
    .option('--host <host>', 'the Docker host (default: the only live host)')
    .addOption(timeoutOption());

/** Dokku's `--format` of info: any word is taken here, and checked as Dokku checks it. */
const dokkuFormatOption = () => new Option('--format <format>', 'format: [ text | json ]').default('text');

/** `network:create|destroy|exists|info|list`: jobs on the host's control queue, answered by its worker. */
export const registerNetworks: RegisterCommand = (program, ctx) => {
  networkCommand(program, 'network:create', 'Creates an attachable docker network')
    .argument('<network>', 'network name')
    .addOption(formatOption())
    .action(async (network: string, flags: NetworkFlags) => {
      const input = { network, ...common(flags) };
      // the operation's checks, before anything is printed or connected
      checkNetworkCreate(input, HOST_INPUT);
      const json = flags.format === 'json';
      // Dokku says so before it runs `docker network create`
      if (!json) ctx.out.info1(`Creating network ${network}`);
      const facts = await withOperations(ctx.getConfig, flags.timeout, (ops) => networkCreate(ops, input));
      if (json) print(JSON.stringify(facts));
    });

  networkCommand(program, 'network:destroy', 'Destroys a docker network')
    .usage('<network> [--force]')
    .argument('<network>', 'network name')
    .option('-f, --force', 'force destroy without confirmation')
    .addOption(formatOption())
    .action(async (network: string, flags: NetworkFlags & { force?: boolean }) => {
      checkNetworkDestroy({ network, ...common(flags) }, HOST_INPUT);
      // `--force` after the command, `netq --force network:destroy` (Dokku's global flag), or Dokku's variable
      const force =
        flags.force === true ||
        program.opts<{ force?: boolean }>().force === true ||
        process.env.DOKKU_APPS_FORCE_DELETE === '1';
      if (!force) await askForDestructiveConfirmation(ctx.out, network, 'network');
      const json = flags.format === 'json';
      if (!json) ctx.out.info1(`Destroying network ${network}`);
      const result = await withOperations(ctx.getConfig, flags.timeout, (ops) =>
        networkDestroy(ops, { network, force, ...common(flags) }),
      );
      if (json) print(JSON.stringify(result));
    });

  networkCommand(program, 'network:exists', 'Checks if a docker network exists')
    .usage('<network>')
    .argument('[network]', 'network name')
    .addOption(formatOption())
    .action(async (network: string | undefined, flags: NetworkFlags) => {
      const found = await withOperations(ctx.getConfig, flags.timeout, (ops) =>
        networkExists(ops, { network, ...common(flags) }),
      );
      if (flags.format === 'json') {
        print(JSON.stringify({ network, exists: found }));
        if (!found) throw new ExitError(1);
        return;
      }
      if (!found) throw new DokkuError('Network does not exist');
      ctx.out.info1('Network exists');
    });

  networkCommand(program, 'network:info', 'Outputs information about a docker network')
    .usage('<network> [--format text|json]')
    .argument('[network]', 'network name')
    .addOption(dokkuFormatOption())
    .action(async (network: string | undefined, flags: NetworkFlags) => {
      checkHost(flags.host, HOST_INPUT);
      requireNetworkName(network);
      if (flags.format !== 'json' && flags.format !== 'text') {
        throw new DokkuError('Invalid format specified, use either text or json');
      }
      const n = await withOperations(ctx.getConfig, flags.timeout, (ops) =>
        networkInfo(ops, { network, ...common(flags) }),
      );
      if (!n) throw new DokkuError('Network does not exist');
      if (flags.format === 'json') ctx.out.log(goNetworkJson(n));
      else printNetworkInfo(ctx.out, network, n);
    });

  networkCommand(program, 'network:list', 'Lists all docker networks')
    .usage('[--format text|json] [--dokku-managed]')
    .addOption(formatOption())
    .option('--dokku-managed', 'show only dokku-managed networks')
    .addOption(new Option('--managed', 'the same as --dokku-managed').hideHelp())
    .action(async (flags: NetworkFlags & { dokkuManaged?: boolean; managed?: boolean }) => {
      const managed = flags.dokkuManaged === true || flags.managed === true;
      const shown = await withOperations(ctx.getConfig, flags.timeout, (ops) =>
        networkList(ops, { managed, ...common(flags) }),
      );
      if (flags.format === 'json') ctx.out.log(goNetworkListJson(shown));
      else printNetworkList(ctx.out, shown);
    });
};
