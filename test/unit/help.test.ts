import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { networkHelp } from '../../producers/commands/help.js';
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

  it('netq --help lists every command with its usage as Dokku writes it', () => {
    const help = program.helpInformation();
    expect(help).toContain('network:set <app>|--global <key> [<value>...] [--no-apply]');
    expect(help).toContain('network:list [--format text|json] [--managed]');
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
