import { BadInputError, quoteInput } from '../../src/errors.js';
import { renameApp } from '../../src/store/appState.js';
import { checkApp } from './checks.js';
import type { OperationContext } from './context.js';

/**
 * `network:rename <old-app> <new-app>` (POST /v1/apps/:app/rename): what Dokku's network plugin does in its
 * `post-app-rename-setup` trigger. Moves the old app's properties to the new name and forgets the old one, in one
 * Redis transaction under both apps' locks; no job.
 */

export interface RenameInput {
  from: string;
  to: string;
}

export interface RenameResult {
  from: string;
  to: string;
  /** how many properties moved */
  properties: number;
}

export async function rename(ctx: OperationContext, input: RenameInput): Promise<RenameResult> {
  checkApp(input.from);
  checkApp(input.to);
  if (input.from === input.to) {
    throw new BadInputError(`the old and the new app name are the same (${quoteInput(input.from)})`);
  }
  const q = await ctx.queues();
  const properties = await renameApp(q.redis, q.keys, input.from, input.to);
  return { from: input.from, to: input.to, properties };
}
