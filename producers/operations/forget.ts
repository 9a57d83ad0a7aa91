import { forgetApp } from '../../src/store/appState.js';
import { checkApp } from './checks.js';
import type { OperationContext } from './context.js';

/**
 * `network:forget <app>` (POST /v1/apps/:app/forget): what Dokku's network plugin does in its `post-delete`
 * trigger. Drops everything netq stores of a deleted app (properties, network config, hosts, attach record), in
 * one Redis transaction under the app's lock; no job (the containers are Dokku's to remove).
 */

export interface ForgetInput {
  app: string;
}

export interface ForgetResult {
  app: string;
  /** false: nothing was stored */
  forgotten: boolean;
}

export async function forget(ctx: OperationContext, input: ForgetInput): Promise<ForgetResult> {
  checkApp(input.app);
  const q = await ctx.queues();
  const forgotten = await forgetApp(q.redis, q.keys, input.app);
  return { app: input.app, forgotten };
}
