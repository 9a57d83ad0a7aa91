import { forget } from '../operations/forget.js';
import { rename } from '../operations/rename.js';
import { formatOption, print, type RegisterCommand, withOperations } from './commandContext.js';

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
      const { forgotten } = await withOperations(ctx.getConfig, 40, (ops) => forget(ops, { app }));
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
      const { properties: moved } = await withOperations(ctx.getConfig, 40, (ops) => rename(ops, { from, to }));
      if (flags.format === 'json') print(JSON.stringify({ from, to, properties: moved }));
      else print(`-----> Moved ${moved} network ${moved === 1 ? 'property' : 'properties'} from ${from} to ${to}`);
    });
};
