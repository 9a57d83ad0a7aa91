// Before measuring anything, the fleet bench checks that dockerode and netq's own Docker adapter take the
// simulated engine's answers: a small simulated host, read the way a worker reads its engine.
import path from 'node:path';
import Docker from 'dockerode';
import { DockerodeEngine } from '../../src/docker/dockerodeEngine.js';
import { SimEngine } from './simEngine.js';
import { ATTACH_NETWORK } from './simHost.js';

export async function checkEngine(dir: string): Promise<string> {
  const socketPath = path.join(dir, 'check.sock');
  const engine = new SimEngine({
    socketPath,
    shape: {
      host: 'check',
      apps: 3,
      procs: ['web', 'worker'],
      seed: 1,
      publishedShare: 1,
      attachShare: 0,
      serviceShare: 1,
    },
  });
  await engine.listen();
  try {
    const docker = new Docker({ socketPath });
    await docker.ping();
    const raw = await docker.listContainers({ all: true, filters: { label: ['com.dokku.container-type=deploy'] } });
    if (raw.length !== 6) throw new Error(`simulated engine: ${raw.length} deploy containers listed, want 6`);
    const netq = new DockerodeEngine(`unix://${socketPath}`);
    const listed = await netq.listAppContainers();
    const facts = await netq.inspectContainer(listed[0]?.id ?? '');
    if (!facts?.running || !facts.networks.bridge || facts.portEnv !== '5000' || facts.published.length !== 1) {
      throw new Error(`simulated engine: netq read ${JSON.stringify(facts)}`);
    }
    await netq.connect(ATTACH_NETWORK, facts.id, ['check-app-00001.web']);
    const net = await netq.inspectNetwork(ATTACH_NETWORK);
    if (net?.containers.length !== 1) throw new Error('simulated engine: a connect did not show in the network');
    return `dockerode and netq's adapter read the simulated engine (${listed.length} app containers, inspect, connect)`;
  } finally {
    await engine.close();
  }
}
