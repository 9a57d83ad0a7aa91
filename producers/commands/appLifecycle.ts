import { appNameProblem } from '../../src/appName.js';
import { BadInputError, quoteInput } from '../../src/errors.js';
import { forgetApp, renameApp } from '../../src/store/appState.js';
import { formatOption, print, type RegisterCommand, withQueues } from './shared.js';

function checkApp(app: string): void {
  const problem = appNameProblem(app);
  if (problem) throw new BadInputError(`invalid app name ${quoteInput(app)}: ${problem}`);
}

/**
 * What Dokku's network plugin does in its `post-delete` and `post-app-rename-setup` triggers, for the
 * hooks in hooks/: `network:forget <app>` drops everything netq stores of a deleted app;
 * `network:rename <old> <new>` moves the old app's properties to the new name and forgets the old one.
 * Both touch Redis only (the containers are Dokku's to remove), under the apps' locks.
 */
export const registerAppLifecycle: RegisterCommand = (program, ctx) => {
  program
    .command('network:forget')
    .usage('<app>')
    .description("forget a deleted app's network properties and config (the post-delete hook)")
    .argument('<app>', 'the deleted app')
    .addOption(formatOption())
    .action(async (app: string, flags: { format: 'text' | 'json' }) => {
      checkApp(app);
      const forgotten = await withQueues(ctx.getConfig(), 40, (q) => forgetApp(q.redis, q.keys, q.prefix, app));
      if (flags.format === 'json') print(JSON.stringify({ app, forgotten }));
      else print(forgotten ? `-----> Forgot the network settings of ${app}` : `-----> Nothing stored for ${app}`);
    });
  program
    .command('network:rename')
    .usage('<old-app> <new-app>')
    .description("move an app's network properties to its new name (the rename hook)")
    .argument('<old-app>', 'the app before the rename')
    .argument('<new-app>', 'the app after the rename')
    .addOption(formatOption())
    .action(async (from: string, to: string, flags: { format: 'text' | 'json' }) => {
      checkApp(from);
      checkApp(to);
      if (from === to) throw new BadInputError(`the old and the new app name are the same (${quoteInput(from)})`);
      const moved = await withQueues(ctx.getConfig(), 40, (q) => renameApp(q.redis, q.keys, q.prefix, from, to));
      if (flags.format === 'json') print(JSON.stringify({ from, to, properties: moved }));
      else print(`-----> Moved ${moved} network ${moved === 1 ? 'property' : 'properties'} from ${from} to ${to}`);
    });
};
