import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterEach, describe, expect, it } from 'vitest';
import { SimEngine } from '../../bench/fleet/simEngine.js';
import { ATTACH_NETWORK, type HostShape, SimHost } from '../../bench/fleet/simHost.js';
import { DockerodeEngine } from '../../src/docker/dockerodeEngine.js';

// The fleet bench's SIMULATED Docker engine (bench/fleet/simEngine.ts) is only as good as its answers: these
// check that dockerode and netq's own Docker adapter read them as they read a real engine's. No other test
// uses the simulated engine; netq's behaviour against a real engine is proven by test/integration.

const shape: HostShape = {
  host: 'h01',
  apps: 4,
  procs: ['web', 'worker'],
  seed: 7,
  publishedShare: 0.5,
  attachShare: 0,
  serviceShare: 1,
};
const fast = { medianMs: 0.05, sigma: 0.1, listPerContainerMs: 0 };

const engines: SimEngine[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function simEngine(): Promise<{ engine: SimEngine; socketPath: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'netq-simengine-'));
  dirs.push(dir);
  const socketPath = join(dir, 'docker.sock');
  const engine = new SimEngine({ socketPath, shape, latency: fast });
  engines.push(engine);
  await engine.listen();
  return { engine, socketPath };
}

describe('simulated Docker engine (fleet bench)', () => {
  it('generates the same host from the same seed', () => {
    const a = new SimHost(shape).listContainers(true, {});
    const b = new SimHost(shape).listContainers(true, {});
    expect(a).toEqual(b);
    expect(new SimHost({ ...shape, seed: 8 }).listContainers(true, {})).not.toEqual(a);
  });

  it('answers a label-filtered list the way dockerode asks for it', async () => {
    const { socketPath } = await simEngine();
    const docker = new Docker({ socketPath });
    const all = await docker.listContainers({ all: true });
    const deploy = await docker.listContainers({
      all: true,
      filters: { label: ['com.dokku.container-type=deploy', 'com.dokku.app-name=h01-app-00002'] },
    });
    // 4 apps × 2 processes, plus one service container per app that the label filter leaves out
    expect(all).toHaveLength(12);
    expect(deploy.map((c) => c.Names[0]).sort()).toEqual(['/h01-app-00002.web.1', '/h01-app-00002.worker.1']);
  });

  it('looks at every container for a label filter, only the named ones for an id filter (as dockerd)', () => {
    const host = new SimHost(shape);
    const [a, b] = host.listContainers(true, { label: ['com.dokku.app-name=h01-app-00003'] }) as { Id: string }[];
    expect(host.scanned({ label: ['com.dokku.app-name=h01-app-00003'] })).toBe(12);
    expect(host.scanned({ id: [a?.Id ?? '', b?.Id ?? ''] })).toBe(2);
    expect((host.listContainers(true, { id: [a?.Id ?? ''] }) as { Id: string }[]).map((c) => c.Id)).toEqual([a?.Id]);
  });

  it("is read by netq's adapter: dynos, bridge IPs, PORT, exposed and published ports", async () => {
    const { socketPath } = await simEngine();
    const netq = new DockerodeEngine(`unix://${socketPath}`);
    await netq.ping();
    const listed = await netq.listAppContainers();
    expect(listed).toHaveLength(8);
    const web = listed.find((c) => c.name.endsWith('.web.1'));
    const worker = listed.find((c) => c.name.endsWith('.worker.1'));
    const wf = await netq.inspectContainer(web?.id ?? '');
    const kf = await netq.inspectContainer(worker?.id ?? '');
    expect(wf).toMatchObject({ running: true, portEnv: '5000', exposedTcpPorts: [5000] });
    expect(wf?.networks.bridge).toMatch(/^172\.17\.\d+\.\d+$/);
    expect(kf).toMatchObject({ running: true, portEnv: '', exposedTcpPorts: [] });
    expect(await netq.inspectContainer('0'.repeat(64))).toBeUndefined();
  });

  it('keeps a connect, shows it in inspect and on the network, and streams its event', async () => {
    const { socketPath } = await simEngine();
    const netq = new DockerodeEngine(`unix://${socketPath}`);
    const [c] = await netq.listAppContainers('h01-app-00001');
    const stream = await netq.events();
    const lines: string[] = [];
    stream.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
    await netq.connect(ATTACH_NETWORK, c?.id ?? '', ['h01-app-00001.web']);
    const facts = await netq.inspectContainer(c?.id ?? '');
    expect(facts?.aliases[ATTACH_NETWORK]).toContain('h01-app-00001.web');
    expect((await netq.inspectNetwork(ATTACH_NETWORK))?.containers.map((x) => x.id)).toEqual([c?.id]);
    const deadline = Date.now() + 5000;
    while (!lines.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    (stream as NodeJS.ReadableStream & { destroy(): void }).destroy();
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({
      Type: 'network',
      Action: 'connect',
      Actor: { Attributes: { container: c?.id, name: ATTACH_NETWORK } },
    });
  });

  it("goes through netq's replacement: create, start, retire, the new one takes the old name", async () => {
    const { socketPath, engine } = await simEngine();
    const netq = new DockerodeEngine(`unix://${socketPath}`);
    const old = (await netq.listAppContainers('h01-app-00001')).find((c) => c.name.endsWith('.web.1'));
    const r = await netq.replaceContainer(
      old?.id ?? '',
      { publishAll: true },
      { tempName: 'h01-app-00001.web.1.netq-abcdef' },
    );
    await r.retire();
    expect(await netq.inspectContainer(old?.id ?? '')).toBeUndefined();
    const now = await netq.inspectContainer(r.newId);
    expect(now).toMatchObject({ name: 'h01-app-00001.web.1', running: true, portEnv: '5000' });
    expect(now?.published.map((p) => p.port)).toEqual([5000]);
    expect(engine.calls['POST /containers/create']).toBe(1);
  });
});
