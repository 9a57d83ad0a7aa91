import { describe, expect, it } from 'vitest';
import { bindingDrift } from '../../src/netconfig/bindings.js';
import { buildNetworkConfig, listenersOf, parseStaticListener } from '../../src/netconfig/buildNetworkConfig.js';
import { computeProperties } from '../../src/properties/properties.js';
import type { ContainerFacts } from '../../src/types.js';

const facts = (over: Partial<ContainerFacts> = {}): ContainerFacts => ({
  id: 'abc123abc123',
  name: 'app.web.1',
  labels: { 'com.dokku.dyno': 'web.1', 'com.dokku.process-type': 'web' },
  running: true,
  state: 'running',
  networkMode: 'bridge',
  networks: { bridge: '172.17.0.5' },
  exposedTcpPorts: [],
  aliases: {},
  published: [],
  fixedPorts: [],
  hostname: 'abc123abc123',
  startedAt: '',
  ...over,
});
const none = computeProperties({}, {});

describe('buildNetworkConfig', () => {
  it('takes PORT first, then the first exposed TCP port, then 5000', () => {
    const ok = (f: ContainerFacts) => {
      const r = buildNetworkConfig(f, 'app', none);
      if (!r.ok) throw new Error(r.failure.reason);
      return r.config.listener;
    };
    expect(ok(facts({ portEnv: '8080', exposedTcpPorts: [3000] }))).toBe('172.17.0.5:8080');
    expect(ok(facts({ exposedTcpPorts: [3000, 4000] }))).toBe('172.17.0.5:3000');
    expect(ok(facts())).toBe('172.17.0.5:5000');
  });

  it('fails a bad PORT, a stopped container, network mode none and a missing network, with reasons', () => {
    const reason = (f: ContainerFacts, props = none) => {
      const r = buildNetworkConfig(f, 'app', props);
      return r.ok ? 'ok' : r.failure.reason;
    };
    expect(reason(facts({ portEnv: 'http' }))).toBe('PORT="http" is not a TCP port');
    expect(reason(facts({ portEnv: '70000' }))).toBe('PORT="70000" is not a TCP port');
    expect(reason(facts({ running: false, state: 'exited' }))).toBe('container is exited, not running');
    expect(reason(facts({ networkMode: 'none', networks: { none: '' } }))).toMatch(/network mode is none/);
    expect(reason(facts(), computeProperties({ 'initial-network': 'private' }, {}))).toBe(
      'not attached to network private',
    );
    expect(reason(facts({ labels: {}, name: 'weird' }))).toMatch(/cannot tell process type/);
  });

  it('uses 127.0.0.1 in host mode, the initial network, and the static web listener for web only', () => {
    const listener = (f: ContainerFacts, props = none) => {
      const r = buildNetworkConfig(f, 'app', props);
      return r.ok ? r.config.listener : r.failure.reason;
    };
    expect(listener(facts({ networkMode: 'host', networks: {} }))).toBe('127.0.0.1:5000');
    const onPrivate = facts({ networks: { bridge: '172.17.0.5', private: '10.9.0.2' } });
    expect(listener(onPrivate, computeProperties({}, { 'initial-network': 'private' }))).toBe('10.9.0.2:5000');
    expect(listener(facts({ networkMode: 'private', networks: { private: '10.9.0.3' } }))).toBe('10.9.0.3:5000');
    const staticProps = computeProperties({ 'static-web-listener': '10.0.0.1:8080' }, {});
    expect(listener(facts(), staticProps)).toBe('10.0.0.1:8080');
    expect(listener(facts({ name: 'app.worker.1', labels: { 'com.dokku.dyno': 'worker.1' } }), staticProps)).toBe(
      '172.17.0.5:5000',
    );
    expect(parseStaticListener('10.0.0.9', 5000)).toEqual({ ip: '10.0.0.9', port: 5000 });
  });

  it('falls back to the container name for process type and index', () => {
    const r = buildNetworkConfig(facts({ labels: {}, name: 'my.app.worker.3' }), 'my.app', none);
    expect(r.ok && r.config).toMatchObject({ proc: 'worker', index: 3 });
  });

  it('orders listeners by index so that a reordering is no change', () => {
    const c = (proc: string, index: number) => ({
      container: `a.${proc}.${index}`,
      id: 'x',
      proc,
      index,
      ip: `10.0.0.${index}`,
      port: 5000,
      listener: `10.0.0.${index}:5000`,
    });
    expect(listenersOf([c('web', 10), c('worker', 1), c('web', 2)])).toEqual({
      web: ['10.0.0.2:5000', '10.0.0.10:5000'],
      worker: ['10.0.0.1:5000'],
    });
  });
});

describe('computeProperties', () => {
  it("follows Dokku's precedence: app, else global, else default", () => {
    expect(computeProperties({}, {})).toEqual({
      bindAllInterfaces: false,
      attachPostCreate: [],
      attachPostDeploy: [],
      initialNetwork: '',
      staticWebListener: '',
      tld: '',
    });
    const p = computeProperties(
      { tld: 'app.local', 'attach-post-create': 'a b' },
      { tld: 'svc.cluster.local', 'bind-all-interfaces': 'true', 'static-web-listener': 'ignored:1' },
    );
    expect(p).toMatchObject({
      tld: 'app.local',
      bindAllInterfaces: true,
      attachPostCreate: ['a', 'b'],
      staticWebListener: '',
    });
  });
});

describe('bindingDrift', () => {
  const bindAll = computeProperties({ 'bind-all-interfaces': 'true' }, {});
  const random = (port: number, hostPort: number) => ({ port, hostIp: '0.0.0.0', hostPort });

  it('publishes every exposed TCP port with bind-all-interfaces true, and unpublishes them with false', () => {
    expect(bindingDrift(facts({ exposedTcpPorts: [5000] }), 'web', bindAll)).toEqual({ publishAll: true });
    expect(
      bindingDrift(facts({ exposedTcpPorts: [5000], published: [random(5000, 32768)] }), 'web', bindAll),
    ).toBeUndefined();
    expect(bindingDrift(facts({ exposedTcpPorts: [5000], published: [random(5000, 32768)] }), 'web', none)).toEqual({
      publishAll: false,
    });
    expect(bindingDrift(facts({ exposedTcpPorts: [5000] }), 'web', none)).toBeUndefined();
  });

  it('leaves ports bound to a fixed host port (docker-options -p 2222:22) out of it either way', () => {
    const fixedSsh = { exposedTcpPorts: [22, 5000], fixedPorts: [22], published: [random(22, 2222)] };
    expect(bindingDrift(facts(fixedSsh), 'web', none)).toBeUndefined();
    expect(bindingDrift(facts(fixedSsh), 'web', bindAll)).toEqual({ publishAll: true });
    expect(
      bindingDrift(facts({ ...fixedSsh, published: [random(22, 2222), random(5000, 32768)] }), 'web', bindAll),
    ).toBeUndefined();
    expect(
      bindingDrift(facts({ ...fixedSsh, published: [random(22, 2222), random(5000, 32768)] }), 'web', none),
    ).toEqual({
      publishAll: false,
    });
  });

  it('publishes nothing for a process other than web, as Dokku does', () => {
    expect(bindingDrift(facts({ exposedTcpPorts: [5000] }), 'worker', bindAll)).toBeUndefined();
    expect(
      bindingDrift(facts({ exposedTcpPorts: [5000], published: [random(5000, 32768)] }), 'worker', none),
    ).toBeUndefined();
  });

  it('moves a container whose initial network is not the one asked for, and never one in host mode', () => {
    const net = computeProperties({ 'initial-network': 'backend' }, {});
    expect(bindingDrift(facts(), 'web', net)).toEqual({ networkMode: 'backend' });
    expect(bindingDrift(facts({ networkMode: 'default' }), 'web', none)).toBeUndefined();
    expect(bindingDrift(facts({ networkMode: 'host' }), 'web', net)).toBeUndefined();
  });
});
