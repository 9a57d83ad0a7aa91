import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance } from 'fastify';
import { coerceError } from '../../src/errors.js';
import type { NetqQueues } from '../../src/queue.js';
import { knownQueueNames, withDeadline } from './liveQueues.js';

/**
 * The BullMQ dashboard (bull-board) under /ui: every netq queue, the list refreshed as hosts come and go.
 * `readOnly` (a server without NETQ_API_TOKEN): bull-board hides its write buttons; the writes themselves
 * are refused by `dashboardWriteHook` (auth.ts) whatever bull-board does.
 */

export const DASHBOARD_PATH = '/ui';
const REFRESH_MS = 2_000;

export async function registerDashboard(
  app: FastifyInstance,
  queues: NetqQueues,
  { readOnly }: { readOnly: boolean },
): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(DASHBOARD_PATH);
  const board = createBullBoard({
    queues: [],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'netq' } },
  });

  let shown = '';
  let checkedAt = 0;
  const refresh = async () => {
    if (Date.now() - checkedAt < REFRESH_MS) return;
    checkedAt = Date.now();
    const names = await withDeadline(knownQueueNames(queues), 2_000, 'listing the known hosts');
    if (names.join(' ') === shown) return;
    board.replaceQueues(names.map((n) => new BullMQAdapter(queues.queue(n), { readOnlyMode: readOnly })));
    shown = names.join(' ');
  };

  await app.register(
    async (scope) => {
      // after the auth hook of the root: only an authorised request refreshes the list
      scope.addHook('onRequest', async (request) => {
        await refresh().catch((err: unknown) =>
          request.log.warn({ err: coerceError(err) }, 'dashboard: queue list not refreshed'),
        );
      });
      await scope.register(serverAdapter.registerPlugin());
    },
    { prefix: DASHBOARD_PATH },
  );
}
