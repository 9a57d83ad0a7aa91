import type { Command } from 'commander';
import { print, type RegisterCommand } from './shared.js';

/** The usage column of a command as Dokku writes it: `network:set <app> <key> (<value>...)`. */
export function usage(cmd: Command): string {
  return `${cmd.name()} ${cmd.usage().replace(/^\[options\]\s*/, '')}`.trimEnd();
}

/** Dokku's `network:help`, generated from the registered commands so it cannot drift from them. */
export function networkHelp(program: Command): string {
  const cmds = program.commands
    .filter((c) => c.name().startsWith('network:') && c.name() !== 'network:help')
    .sort((a, b) => a.name().localeCompare(b.name()));
  const width = Math.max(...cmds.map((c) => usage(c).length)) + 4;
  return [
    'Usage: netq network[:COMMAND]',
    '',
    'Manages network settings for an app',
    '',
    'Additional commands:',
    ...cmds.map((c) => `    ${usage(c).padEnd(width)}${c.description()}`),
  ].join('\n');
}

export const registerHelp: RegisterCommand = (program) => {
  program
    .command('network:help')
    .description("list the network commands, as Dokku's network:help does")
    .action(() => print(networkHelp(program)));
};
