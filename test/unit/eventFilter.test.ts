import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { DockerEventWatcher } from '../../workers/eventWatcher.js';
import { MemoryEngine } from '../support/memoryEngine.js';

// Which engine events ask for a rebuild of which app (workers/eventWatcher.ts), on the in-memory engine's
// event stream; the real stream and its reconnects are test/integration/events.test.ts.

/** Lets the stream deliver what was written (its `data` events come on the next ticks). */
const delivered = () => new Promise((resolve) => setImmediate(resolve));

async function watch(engine: MemoryEngine) {
  const apps: string[] = [];
  let connected!: () => void;
  const onConnect = new Promise<void>((resolve) => {
    connected = resolve;
  });
  const watcher = new DockerEventWatcher({
    docker: engine,
    logger: silentLogger(),
    scopeLabel: undefined,
    onApp: async (app) => {
      apps.push(app);
    },
    onConnect: async () => connected(),
  });
  watcher.start();
  await onConnect;
  await delivered();
  return { apps, watcher };
}

describe('the event watcher on an engine', () => {
  it("asks for a rebuild of the app whose dyno starts, stops, is renamed or joins a network, and of no one else's", async () => {
    const engine = new MemoryEngine();
    engine.addNetwork('front');
    const web = engine.add({ app: 'shop', proc: 'web', index: 1 });
    const { apps, watcher } = await watch(engine);
    try {
      await engine.stopContainer(web);
      await engine.startContainer(web);
      await engine.renameContainer(web, 'shop.web.1.1700000000');
      // network events carry no labels: the app of a container listed when the stream connected
      await engine.connect('front', web, ['shop.web']);
      // not a dyno: Dokku's container under check, netq's temporary one, a container of no app
      engine.add({ app: 'shop', proc: 'web', index: 2, name: 'shop.web.2.upcoming-1234' });
      engine.add({ app: 'shop', proc: 'web', index: 3, name: 'shop.web.3.netq-0a1b2c' });
      engine.add({ name: 'plain' });
      await delivered();
      expect(apps).toEqual(['shop', 'shop', 'shop', 'shop']);
    } finally {
      watcher.stop();
    }
  });
});
