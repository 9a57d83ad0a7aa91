import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { rebuild } from '../../producers/client.js';
import { DockerodeEngine } from '../../src/docker/dockerodeEngine.js';
import { NamespaceEngine } from '../engines.js';
import {
  appName,
  closePools,
  configOf,
  createAppContainer,
  docker,
  dokkuLayout,
  IMAGE,
  producer,
  RUN_LABEL,
  runId,
  scopeLabel,
  startPool,
  storedListeners,
  tempDir,
  until,
  useTestEnvs,
} from '../helpers.js';

const env = useTestEnvs({ docker: true });

const bridgeIp = async (id: string) =>
  (await docker.getContainer(id).inspect()).NetworkSettings.Networks.bridge?.IPAddress ?? '';

/** The time (ms) of the container's latest network connect event since `since`, as the engine stamped it. */
async function connectEventMs(containerId: string, since: string): Promise<number> {
  // the Engine API takes fractional Unix seconds here; dockerode's types say number
  const opts = {
    since,
    until: (Date.now() / 1000).toFixed(3),
    filters: { type: ['network'], event: ['connect'], network: ['bridge'] },
  } as unknown as { since: number; until: number };
  const stream = (await docker.getEvents(opts)) as unknown as NodeJS.ReadableStream;
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  // a network event names its container among the actor's attributes
  const times = text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { timeNano: number; Actor?: { Attributes?: { container?: string } } })
    .filter((ev) => ev.Actor?.Attributes?.container === containerId)
    .map((ev) => Number(ev.timeNano) / 1e6);
  const last = times.at(-1);
  if (last === undefined) throw new Error(`no connect event of ${containerId} since ${since}`);
  return last;
}

describe('the Docker event watcher', () => {
  it('follows a container whose IP changed, without any command', async () => {
    const files = await dokkuLayout();
    const e = env({ ...files.env, NETQ_DEBOUNCE_MS: '250' });
    const config = configOf(e);
    const app = appName('restart');
    const web = await createAppContainer({ app, proc: 'web', index: 1 });
    await files.register(app, { 'web.1': web.id });
    const pool = await startPool(config, { watchEvents: true });
    // the watcher's connect rebuilds the host: the app gets configured
    let ip = await bridgeIp(web.id);
    await until('first config', async () =>
      (await storedListeners(config, app))[0] === `${ip}:5000` ? true : undefined,
    );

    const bridge = docker.getNetwork('bridge');
    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      // the container moves to another address: off the bridge, a filler keeps the freed address, back on.
      // netq rebuilds at once on the disconnect, and the engine does not always hand the freed address to the
      // filler then: moved again until the address differs
      const since = (Date.now() / 1000 - 1).toFixed(3);
      let newIp = ip;
      for (let move = 0; move < 5 && newIp === ip; move++) {
        await bridge.disconnect({ Container: web.id, Force: true });
        const filler = await docker.createContainer({
          Image: IMAGE,
          Cmd: ['/bin/sleep', '3600'],
          Labels: { [RUN_LABEL]: runId },
          HostConfig: { Init: true },
        });
        await filler.start();
        await bridge.connect({ Container: web.id });
        newIp = await bridgeIp(web.id);
      }
      expect(newIp).not.toBe(ip);
      ip = newIp;
      await until(
        `listener ${ip}:5000`,
        async () => ((await storedListeners(config, app))[0] === `${ip}:5000` ? true : undefined),
        10_000,
      );
      const ipFile = path.join(files.root, app, 'IP.web.1');
      expect(await readFile(ipFile, 'utf8')).toBe(ip);
      // from the engine's own time of the connect event to the IP file's write
      latencies.push((await stat(ipFile)).mtimeMs - (await connectEventMs(web.id, since)));
    }
    latencies.sort((a, b) => a - b);
    const median = latencies[Math.floor(latencies.length / 2)] ?? 0;
    const worst = latencies[latencies.length - 1] ?? 0;
    console.log(
      `event-to-write latency (engine event time to IP file mtime) over ${latencies.length} restarts: median ${median.toFixed(0)} ms, worst ${worst.toFixed(0)} ms`,
    );
    expect(pool.health().watcher).toMatchObject({ state: 'connected', reconnects: 0 });
    expect(pool.health().watcher.lastEventAt).toBeGreaterThan(Date.now() - 60_000);
    await files.remove();
  });

  it('gives at most two rebuilds for a burst of 20 events of one app: one at once, one after the burst', async () => {
    // a window long enough for the burst on a loaded machine
    const e = env({ NETQ_DEBOUNCE_MS: '20000' });
    const config = configOf(e);
    const app = appName('burst');
    const web = await createAppContainer({ app, proc: 'web', index: 1 });
    const runs: { jobId: string; at: number }[] = [];
    await startPool(config, {
      watchEvents: true,
      onAppWork: (ev) => void (ev.phase === 'start' && runs.push({ jobId: ev.jobId, at: Date.now() })),
    });
    const q = producer(config);
    const idle = async () => {
      const c = await q.rebuildQueue('local').getJobCounts('active', 'waiting', 'delayed');
      return (c.active ?? 0) + (c.waiting ?? 0) + (c.delayed ?? 0) === 0 ? true : undefined;
    };
    try {
      // the host rebuild of the watcher's connect comes first; wait until it is done
      await until('host rebuild', async () => (runs.length === 1 ? true : undefined));
      await until('idle queue', idle);
      const burstStart = Date.now();
      // 5 restarts: each a disconnect, a die, a connect and a start (20 events)
      for (let i = 0; i < 5; i++) {
        await web.stop({ t: 0 });
        await web.start();
      }
      expect(Date.now() - burstStart).toBeLessThan(20_000); // the burst fits in the window
      await until('the run after the burst', async () => (runs.length >= 3 ? true : undefined), 60_000);
      await until('idle queue', idle);
      const burst = runs.slice(1);
      expect(burst).toHaveLength(2);
      expect(burst.every((r) => /^rb\.local\./.test(r.jobId))).toBe(true);
      // the leading edge: the first start ran at once, not after the 20 s window
      expect((burst[0]?.at ?? 0) - burstStart).toBeLessThan(10_000);
      // the trailing edge: the rest of the burst waited for the window to pass
      expect((burst[1]?.at ?? 0) - burstStart).toBeGreaterThanOrEqual(20_000);
    } finally {
      await q.close();
    }
  });

  it('rebuilds a restarted container at once: its die waits, its start takes the immediate run', async () => {
    const e = env({ NETQ_DEBOUNCE_MS: '20000' });
    const config = configOf(e);
    const app = appName('restarted');
    const web = await createAppContainer({ app, proc: 'web', index: 1 });
    const runs: number[] = [];
    await startPool(config, {
      watchEvents: true,
      onAppWork: (ev) => void (ev.phase === 'start' && ev.jobId.startsWith('rb.') && runs.push(Date.now())),
    });
    const q = producer(config);
    try {
      await until('idle queue', async () => {
        const c = await q.rebuildQueue('local').getJobCounts('active', 'waiting', 'delayed');
        return (c.active ?? 0) + (c.waiting ?? 0) + (c.delayed ?? 0) === 0 ? true : undefined;
      });
      await web.stop({ t: 0 });
      const started = Date.now();
      await web.start();
      // the die alone would have run at once and left the start to wait out the 20 s window
      await until('a rebuild after the start', async () => (runs.some((t) => t >= started) ? true : undefined), 60_000);
      expect((runs.find((t) => t >= started) ?? 0) - started).toBeLessThan(10_000);
    } finally {
      await q.close();
    }
  });

  it('keeps its event stream through a quiet spell longer than the Docker call timeout', async () => {
    // A call timeout on the event stream would end it after every quiet spell, and each reconnect
    // queues a rebuild of the whole host. The stream must have no such limit.
    const e = env({ NETQ_DOCKER_TIMEOUT_MS: '500' });
    const config = configOf(e);
    const app = appName('quiet');
    await createAppContainer({ app });
    const pool = await startPool(config, { watchEvents: true });
    await until('connected', async () => (pool.health().watcher.state === 'connected' ? true : undefined));
    const q = producer(config);
    try {
      await until('the connect host rebuild', async () =>
        (await q.summaryQueue().getJobCounts('completed')).completed === 1 ? true : undefined,
      );
      // quiet: no event on the scoped containers for 6 call timeouts; a Docker call still works meanwhile
      const quietUntil = Date.now() + 3_000;
      while (Date.now() < quietUntil) {
        expect((await rebuild(q, { app, host: 'local' }, { wait: true, timeoutMs: 20_000 })).result?.failed).toBe(0);
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(pool.health().watcher).toMatchObject({ state: 'connected', reconnects: 0, lastError: null });
      expect((await q.summaryQueue().getJobCounts('completed')).completed).toBe(1);
    } finally {
      await q.close();
    }
  });

  it('reconnects when dockerd restarts, rebuilds the host, and the config is right afterwards', async () => {
    const engine = new NamespaceEngine(`netq-ev-${runId}`);
    await engine.start();
    try {
      const e = env({ NETQ_DEBOUNCE_MS: '100' });
      const config = configOf(e);
      const app = appName('reboot');
      const c = await createAppContainer({ app, engine: engine.docker, restartAlways: true });
      const pool = await startPool(
        { ...config, dockerHost: engine.dockerHost },
        { watchEvents: true, docker: new DockerodeEngine(engine.dockerHost, scopeLabel) },
      );
      const ipOf = async () => (await c.inspect()).NetworkSettings.Networks.bridge?.IPAddress ?? '';
      const before = await ipOf();
      await until('config before', async () =>
        (await storedListeners(config, app))[0] === `${before}:5000` ? true : undefined,
      );

      await engine.stop();
      await until('watcher notices', async () => (pool.health().watcher.state !== 'connected' ? true : undefined));
      await engine.start();
      await until('reconnected', async () => (pool.health().watcher.reconnects >= 1 ? true : undefined), 30_000);
      expect(pool.health().watcher.state).toBe('connected');
      const after = await until('container back', async () => ((await ipOf()) !== '' ? ipOf() : undefined), 30_000);
      // the host rebuild on reconnect (and the container's start event) leave the config matching Docker
      await until(
        'config after',
        async () => ((await storedListeners(config, app))[0] === `${after}:5000` ? true : undefined),
        20_000,
      );
      const q = producer(config);
      try {
        // one host rebuild per connect: the first connect's, and the reconnect's (which may still be running
        // when the config above already matches, since the container may get its old address back)
        await until(
          'the host rebuild of the reconnect',
          async () => ((await q.summaryQueue().getJobs(['completed'])).length >= 2 ? true : undefined),
          30_000,
        );
        const direct = await rebuild(q, { app, host: 'local' }, { wait: true, timeoutMs: 20_000 });
        expect(direct.result?.listeners).toEqual({ web: [`${after}:5000`] });
      } finally {
        await q.close();
      }
      await c.remove({ force: true });
    } finally {
      await closePools();
      await engine.destroy();
    }
  });

  it('runs the change hook once per real change, never for an unchanged rebuild', async () => {
    const out = await tempDir();
    const log = path.join(out.dir, 'hook.log');
    // the app comes in the environment and, where an argument says {app}, in the arguments
    const script = `require('fs').appendFileSync(${JSON.stringify(log)}, process.env.NETQ_APP + ' ' + process.argv[1] + ' ' + process.env.NETQ_LISTENERS + '\\n')`;
    const e = env({ NETQ_ON_CHANGE: JSON.stringify([process.execPath, '-e', script, 'app={app}']) });
    const config = configOf(e);
    await startPool(config);
    const app = appName('hook');
    const web1 = await createAppContainer({ app, proc: 'web', index: 1 });
    const q = producer(config);
    const lines = async () => (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean);
    try {
      const again = () => rebuild(q, { app, host: 'local' }, { wait: true, timeoutMs: 20_000 });
      await again();
      await again();
      expect(await lines()).toEqual([`${app} app=${app} {"web":["${await bridgeIp(web1.id)}:5000"]}`]);
      const web2 = await createAppContainer({ app, proc: 'web', index: 2 });
      await again();
      await again();
      const all = await lines();
      expect(all).toHaveLength(2);
      expect(all[1]).toBe(
        `${app} app=${app} {"web":["${await bridgeIp(web1.id)}:5000","${await bridgeIp(web2.id)}:5000"]}`,
      );
    } finally {
      await q.close();
      await out.remove();
    }
  });
});
