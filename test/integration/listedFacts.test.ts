import { afterAll, describe, expect, it } from 'vitest';
import { currentFacts } from '../../src/docker/currentFacts.js';
import { DockerodeEngine } from '../../src/docker/dockerodeEngine.js';
import { factsFromList, fixedFactsOf } from '../../src/docker/fixedFacts.js';
import { FixedFactsCache } from '../../src/docker/fixedFactsCache.js';
import type { ContainerFacts } from '../../src/types.js';
import {
  appName,
  cleanupDocker,
  createAppContainer,
  createTestNetwork,
  docker,
  freePort,
  IMAGE,
  RUN_LABEL,
  runId,
  scopeLabel,
} from '../helpers.js';

// What the per-app job takes from the engine's list call instead of an inspect (src/docker/fixedFacts.ts,
// src/docker/currentFacts.ts), checked on the real engine: for containers in every state and network mode netq
// meets, the list entry with the fixed facts of an earlier inspect gives exactly what an inspect gives now, but
// the aliases and the start time, which the list call does not carry.

afterAll(cleanupDocker);

const engine = new DockerodeEngine(undefined, scopeLabel);

/** An inspect's facts without the two the list call does not carry, published ports in one order. */
const comparable = (f: ContainerFacts) => ({
  ...f,
  aliases: {},
  startedAt: '',
  published: [...f.published].sort((a, b) => a.port - b.port || a.hostIp.localeCompare(b.hostIp)),
});

async function listedAndInspected(id: string) {
  const [listed] = await engine.listContainers([id]);
  const inspected = await engine.inspectContainer(id);
  if (!listed || !inspected) throw new Error(`container ${id} is neither listed nor inspected`);
  return { listed, inspected };
}

describe('the list call carries what can change of a container', () => {
  it('in every state and network mode, list entry + fixed facts = inspect (but aliases and start time)', async () => {
    const app = appName('listed');
    const net = await createTestNetwork(`netq-t${runId}-listed`);
    // published on ports Docker picks (as Dokku's deploy publishes web), IPv4 and IPv6; PORT set
    const web = await docker.createContainer({
      name: `${app}.web.1`,
      Image: IMAGE,
      Cmd: ['/bin/httpd', '-f', '-p', '5000'],
      Env: ['PORT=5000'],
      Labels: { 'com.dokku.app-name': app, 'com.dokku.container-type': 'deploy', [RUN_LABEL]: runId },
      ExposedPorts: { '5000/tcp': {}, '6000/tcp': {} },
      HostConfig: { NetworkMode: 'bridge', Init: true, PortBindings: { '5000/tcp': [{ HostIp: '', HostPort: '' }] } },
    });
    await web.start();
    const onNetwork = await createAppContainer({ app, proc: 'worker', index: 1, env: ['PORT='] });
    await net.connect({ Container: onNetwork.id, EndpointConfig: { Aliases: [`${app}.worker`] } });
    // one host port fixed by whoever made it (docker-options -p), one on 127.0.0.1 that Docker picks
    const fixed = await createAppContainer({ app, proc: 'ssh', index: 1, fixedPorts: { 22: await freePort(), 23: 0 } });
    const host = await createAppContainer({
      app,
      proc: 'clock',
      index: 1,
      networkMode: 'host',
      exposed: [await freePort()],
    });
    // in another container's network stack (no ports of its own: Docker refuses them there)
    const joined = await docker.createContainer({
      name: `${app}.side.1`,
      Image: IMAGE,
      Cmd: ['/bin/sleep', '600'],
      Labels: { 'com.dokku.app-name': app, 'com.dokku.container-type': 'deploy', [RUN_LABEL]: runId },
      HostConfig: { NetworkMode: `container:${web.id}`, Init: true },
    });
    await joined.start();
    const created = await createAppContainer({ app, proc: 'late', index: 1, start: false });
    const exited = await createAppContainer({ app, proc: 'done', index: 1 });
    await exited.stop({ t: 0 });
    const paused = await createAppContainer({ app, proc: 'nap', index: 1 });
    await paused.pause();
    try {
      const all = [web, onNetwork, fixed, host, joined, created, exited, paused].map((c) => c.id);
      for (const id of all) {
        const { listed, inspected } = await listedAndInspected(id);
        expect(factsFromList(listed, fixedFactsOf(inspected)), inspected.name).toEqual(comparable(inspected));
      }
      // the cases worth naming, as the inspect gives them
      const facts = new Map((await Promise.all(all.map((id) => engine.inspectContainer(id)))).map((f) => [f?.id, f]));
      expect(facts.get(web.id)?.published.some((p) => p.hostIp === '0.0.0.0' && p.port === 5000)).toBe(true);
      expect(facts.get(onNetwork.id)?.networks[`netq-t${runId}-listed`]).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(facts.get(fixed.id)?.fixedPorts).toEqual([22]); // 23's host port 0: left to Docker
      expect(
        facts
          .get(fixed.id)
          ?.published.map((p) => `${p.hostIp}:${p.port}`)
          .sort(),
      ).toEqual(['127.0.0.1:22', '127.0.0.1:23']);
      expect(facts.get(host.id)?.networkMode).toBe('host');
      expect(facts.get(paused.id)).toMatchObject({ running: true, state: 'paused' });
      expect(facts.get(exited.id)).toMatchObject({ running: false, state: 'exited' });
      expect(facts.get(created.id)).toMatchObject({ running: false, state: 'created' });

      // an app's list by label gives the same entries as the list by id
      const byLabel = await engine.listAppContainers(app);
      const byId = await engine.listContainers(all);
      expect(byLabel.map(({ app: _a, ...l }) => l).sort((a, b) => a.id.localeCompare(b.id))).toEqual(
        byId.sort((a, b) => a.id.localeCompare(b.id)),
      );

      // a warm read: one list call, no inspect, and what an inspect gives now
      const cache = new FixedFactsCache();
      await currentFacts(engine, cache, all);
      await onNetwork.restart({ t: 0 });
      const warm = await currentFacts(engine, cache, all);
      for (const [i, id] of all.entries()) {
        const now = await engine.inspectContainer(id);
        if (!now) throw new Error(`container ${id} vanished`);
        expect(warm[i]).toEqual(factsFromList((await engine.listContainers([id]))[0] ?? fail(id), fixedFactsOf(now)));
        expect(warm[i] && comparable(warm[i])).toEqual(comparable(now));
      }
    } finally {
      await paused.unpause().catch(() => {});
    }
  });

  it('leaves out an id the engine does not have, and never one it matches only in part', async () => {
    const app = appName('listed-id');
    const c = await createAppContainer({ app });
    expect(await engine.listContainers([c.id.slice(0, 12)])).toEqual([]);
    expect(await engine.listContainers(['0'.repeat(64)])).toEqual([]);
    expect((await engine.listContainers([c.id, '0'.repeat(64)])).map((l) => l.id)).toEqual([c.id]);
  });
});

function fail(id: string): never {
  throw new Error(`container ${id} is not listed`);
}
