import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dokkuNetworkHelp, networkHelp } from '../../producers/commands/help.js';
import { DokkuOutput } from '../../producers/dokkuOutput.js';
import { buildProgram } from '../../producers/program.js';
import { loadConfig } from '../../src/config.js';

const program = buildProgram({
  getConfig: () => loadConfig({}),
  forceExit: (code) => {
    throw new Error(`exit ${code}`);
  },
  out: new DokkuOutput(),
});

describe('help', () => {
  it("network:help lists every network command as Dokku's help does (snapshot: update with vitest -u)", async () => {
    await expect(networkHelp(program)).toMatchFileSnapshot('./__snapshots__/network-help.txt');
  });

  it("network:help starts with Dokku 0.38's help byte for byte (commands.go through columnize), netq for dokku", () => {
    const dokku = [
      'Usage: netq network[:COMMAND]',
      '',
      'Manage network settings for an app',
      '',
      'Additional commands:',
      '    network:create <network>                             Creates an attachable docker network',
      '    network:destroy <network>                            Destroys a docker network',
      '    network:exists <network>                             Checks if a docker network exists',
      '    network:info <network> [--format text|json]          Outputs information about a docker network',
      '    network:list [--format text|json] [--dokku-managed]  Lists all docker networks',
      '    network:rebuild <app>                                Rebuilds network settings for an app',
      '    network:rebuildall                                   Rebuild network settings for all apps',
      '    network:report [<app>] [<flag>]                      Displays a network report for one or more apps',
      '    network:set <app> <property> (<value>...)            Set or clear a network property for an app',
      '',
    ].join('\n');
    expect(dokkuNetworkHelp()).toBe(dokku);
    const help = networkHelp(program);
    expect(help.startsWith(dokku)).toBe(true);
    // netq's own commands in a block of their own, after a blank line
    const extra = help.slice(dokku.length);
    expect(extra.startsWith('\nnetq commands:\n')).toBe(true);
    for (const name of ['hosts', 'network:forget', 'network:rename', 'serve', 'worker']) {
      expect(extra).toMatch(new RegExp(`^    ${name}[ <]`, 'm'));
    }
    for (const name of ['network:create', 'network:set', 'network:help', 'help']) {
      expect(extra).not.toMatch(new RegExp(`^    ${name} `, 'm'));
    }
  });

  it('netq --help lists every command with its usage as Dokku writes it', () => {
    const help = program.helpInformation();
    expect(help).toContain('network:set <app>|--global <key> [<value>...] [--no-apply]');
    expect(help).toContain('network:list [--format text|json] [--dokku-managed]');
    expect(help).not.toMatch(/\[options\]/);
    for (const cmd of program.commands) expect(help, cmd.name()).toContain(cmd.name());
  });

  it('the README documents every command', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const cmd of program.commands) {
      if (cmd.name() === 'network:help') continue;
      expect(readme, cmd.name()).toContain(`netq ${cmd.name()}`);
    }
  });
});
