import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { networkHelp } from '../../producers/commands/help.js';
import { buildProgram } from '../../producers/program.js';
import { loadConfig } from '../../src/config.js';

const program = buildProgram({
  getConfig: () => loadConfig({}),
  forceExit: (code) => {
    throw new Error(`exit ${code}`);
  },
});

describe('help', () => {
  it("network:help lists every network command as Dokku's help does (snapshot: update with vitest -u)", async () => {
    await expect(networkHelp(program)).toMatchFileSnapshot('./__snapshots__/network-help.txt');
  });

  it('the README documents every command', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const cmd of program.commands) {
      if (cmd.name() === 'network:help') continue;
      expect(readme, cmd.name()).toContain(`netq ${cmd.name()}`);
    }
  });
});
