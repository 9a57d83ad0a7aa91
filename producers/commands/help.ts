import type { Command } from 'commander';
import { print, type RegisterCommand } from './commandContext.js';

/** The usage column of a command as Dokku writes it: `network:set <app> <key> (<value>...)`. */
export function usage(cmd: Command): string {
  return `${cmd.name()} ${cmd.usage().replace(/^\[options\]\s*/, '')}`.trimEnd();
}

/**
 * Dokku 0.38's network help (plugins/network/src/commands/commands.go helpHeader and helpContent), word for
 * word, with `netq` in place of `dokku` in the first line.
 */
const HELP_HEADER = `Usage: netq network[:COMMAND]

Manage network settings for an app

Additional commands:`;

const HELP_CONTENT = `
    network:create <network>, Creates an attachable docker network
    network:destroy <network>, Destroys a docker network
    network:exists <network>, Checks if a docker network exists
    network:info <network> [--format text|json], Outputs information about a docker network
    network:list [--format text|json] [--dokku-managed], Lists all docker networks
    network:rebuild <app>, Rebuilds network settings for an app
    network:rebuildall, Rebuild network settings for all apps
    network:report [<app>] [<flag>], Displays a network report for one or more apps
    network:set <app> <property> (<value>...), Set or clear a network property for an app`;

/** The commands Dokku's help lists; netq's other commands follow in a block of their own. */
const DOKKU_COMMANDS = new Set(
  HELP_CONTENT.split('\n')
    .slice(1)
    .map((line) => line.trim().split(/[ ,]/)[0]),
);

/**
 * ryanuber/columnize as Dokku's common.CommandUsage configures it (Prefix four spaces, Glue two spaces), on
 * lines already split at its Delim (","): every column but the last padded to its widest field (in runes).
 */
export function columnize(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((field, i) => {
      widths[i] = Math.max(widths[i] ?? 0, [...field].length);
    });
  }
  return rows
    .map(
      (row) =>
        `    ${row.map((field, i) => (i === row.length - 1 ? field : field + ' '.repeat((widths[i] ?? 0) - [...field].length))).join('  ')}`,
    )
    .join('\n');
}

/** `dokku network:help` exactly (common.CommandUsage: the header, then the columnized commands). */
export function dokkuNetworkHelp(): string {
  const rows = HELP_CONTENT.split('\n')
    .slice(1)
    .map((line) => line.split(',').map((field) => field.trim()));
  return `${HELP_HEADER}\n${columnize(rows)}\n`;
}

/**
 * `netq network` and `netq network:help`: Dokku's help byte for byte (but for the program's name), then, after
 * a blank line, netq's own commands with their usage, generated from the registered commands.
 */
export function networkHelp(program: Command): string {
  const extras = program.commands
    .filter((c) => !DOKKU_COMMANDS.has(c.name()) && !['network', 'network:help', 'help'].includes(c.name()))
    .sort((a, b) => a.name().localeCompare(b.name()))
    .map((c) => [usage(c), c.description()]);
  return `${dokkuNetworkHelp()}\nnetq commands:\n${columnize(extras)}\n`;
}

export const registerHelp: RegisterCommand = (program) => {
  program
    .command('network')
    .description('Manage network settings for an app')
    .action(() => print(networkHelp(program)));
  program
    .command('network:help')
    .description('Manage network settings for an app')
    .action(() => print(networkHelp(program)));
};
