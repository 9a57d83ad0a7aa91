import { describe, expect, it } from 'vitest';
import type { BoundDyno } from '../../src/bindDynos.js';
import { appNetworkConfig } from '../../src/netconfig/appNetworkConfig.js';
import { computeProperties, type RawProperties } from '../../src/properties/properties.js';
import { type MemoryContainerSpec, MemoryEngine } from '../support/memoryEngine.js';

// The network config the per-app job builds for an app's bound dynos, and how it counts (pure:
// src/netconfig/appNetworkConfig.ts): IP on the initial network, PORT with Dokku's fallbacks, the listeners
// per process type, and which dynos are failures.

const APP = 'shop';
const props = (raw: RawProperties = {}) => computeProperties(raw, {});

/** Dynos on an in-memory engine, as the binding step hands them on. */
function bound(specs: (MemoryContainerSpec & { bindingFailure?: string })[], networks: string[] = []): BoundDyno[] {
  const engine = new MemoryEngine();
  for (const n of networks) engine.addNetwork(n);
  return specs.map(({ bindingFailure, ...spec }) => {
    const facts = engine.facts(engine.add({ app: APP, ...spec }));
    if (!facts) throw new Error('no such container');
    const dyno = { proc: spec.proc ?? 'web', index: spec.index ?? 1, facts };
    return bindingFailure === undefined ? { dyno } : { dyno, bindingFailure };
  });
}

describe('appNetworkConfig', () => {
  it('gives each dyno its IP on the bridge and its port, and the listeners per process type in index order', () => {
    const dynos = bound([
      { proc: 'web', index: 2, portEnv: '8080' },
      { proc: 'web', index: 1, portEnv: '8080' },
      { proc: 'worker', index: 1, exposed: [] },
    ]);
    const out = appNetworkConfig(APP, props(), dynos, []);
    const ip = (i: number) => dynos[i]?.dyno.facts.networks.bridge;
    expect(out.configs.map((c) => [c.container, c.proc, c.index, c.ip, c.port])).toEqual([
      ['shop.web.2', 'web', 2, ip(0), 8080],
      ['shop.web.1', 'web', 1, ip(1), 8080],
      ['shop.worker.1', 'worker', 1, ip(2), 5000],
    ]);
    expect(out.listeners).toEqual({ web: [`${ip(1)}:8080`, `${ip(0)}:8080`], worker: [`${ip(2)}:5000`] });
    expect(out).toMatchObject({ containers: 3, configured: 3, failed: 0, failures: [] });
  });

  it("takes PORT, then the first exposed TCP port, then 5000; an empty PORT= (Dokku's for non-web) is unset", () => {
    const dynos = bound([
      { proc: 'web', index: 1, portEnv: '3000', exposed: [4000] },
      { proc: 'worker', index: 1, portEnv: '', exposed: [7000, 6000] },
      { proc: 'clock', index: 1, portEnv: '  ', exposed: [] },
      { proc: 'mail', index: 1, exposed: [] },
    ]);
    const ports = appNetworkConfig(APP, props(), dynos, []).configs.map((c) => [c.proc, c.port]);
    expect(ports).toEqual([
      ['web', 3000],
      ['worker', 6000],
      ['clock', 5000],
      ['mail', 5000],
    ]);
  });

  it('uses the initial network, 127.0.0.1 in host mode, and the static web listener for web only', () => {
    const dynos = bound(
      [
        { proc: 'web', index: 1, networkMode: 'private' },
        { proc: 'worker', index: 1, networkMode: 'private' },
        { proc: 'host', index: 1, networkMode: 'host', portEnv: '9000' },
      ],
      ['private'],
    );
    const out = appNetworkConfig(
      APP,
      props({ 'initial-network': 'private', 'static-web-listener': '10.0.0.9:8443' }),
      dynos,
      [],
    );
    expect(out.listeners).toEqual({
      host: ['127.0.0.1:9000'],
      web: ['10.0.0.9:8443'],
      worker: [`${dynos[1]?.dyno.facts.networks.private}:5000`],
    });
  });

  it('counts dynos whose config cannot be built, whose binding failed (listener kept) and those the selection counted', () => {
    const dynos = bound(
      [
        { proc: 'web', index: 1, bindingFailure: 'cannot attach to front: (HTTP code 404) network front not found' },
        { proc: 'web', index: 2, portEnv: 'http' },
        { proc: 'worker', index: 1, networkMode: 'none' },
        { proc: 'clock', index: 1 },
      ],
      [],
    );
    const gone = { container: 'shop.web.3', reason: 'container is exited, not running' };
    const out = appNetworkConfig(APP, props(), dynos, [gone]);
    expect(out.failures).toEqual([
      { container: 'shop.web.1', reason: 'cannot attach to front: (HTTP code 404) network front not found' },
      { container: 'shop.web.2', reason: 'PORT="http" is not a TCP port' },
      gone,
      { container: 'shop.worker.1', reason: 'network mode is none: the container has no IP address' },
    ]);
    // the dyno whose binding failed still serves: its listener stays
    expect(out.listeners).toEqual({
      clock: [`${dynos[3]?.dyno.facts.networks.bridge}:5000`],
      web: [`${dynos[0]?.dyno.facts.networks.bridge}:5000`],
    });
    expect(out).toMatchObject({ containers: 5, configured: 1, failed: 4 });
  });

  it('counts a dyno not on its initial network, and one without an IP there', () => {
    const dynos = bound([{ proc: 'web', index: 1 }], ['private']);
    expect(appNetworkConfig(APP, props({ 'initial-network': 'private' }), dynos, []).failures).toEqual([
      { container: 'shop.web.1', reason: 'not attached to network private' },
    ]);
    const first = dynos[0];
    if (!first) throw new Error('no dyno');
    const noIp = { dyno: { ...first.dyno, facts: { ...first.dyno.facts, networks: { bridge: '' } } } };
    expect(appNetworkConfig(APP, props(), [noIp], []).failures).toEqual([
      { container: 'shop.web.1', reason: 'no IP address on network bridge' },
    ]);
  });

  it('an app with no dynos has nothing configured and nothing failed', () => {
    expect(appNetworkConfig(APP, props(), [], [])).toEqual({
      configs: [],
      failures: [],
      listeners: {},
      containers: 0,
      configured: 0,
      failed: 0,
    });
  });
});
