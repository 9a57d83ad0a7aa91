import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config.js';
import { dockerOptions } from '../../src/docker/dockerodeEngine.js';

describe('dockerOptions', () => {
  it("takes the local socket from config.ts's DEFAULTS when DOCKER_HOST is not set", () => {
    expect(DEFAULTS.dockerSocket).toBe('/var/run/docker.sock');
    expect(dockerOptions(undefined, 1_000)).toEqual({ socketPath: DEFAULTS.dockerSocket, timeout: 1_000 });
    expect(dockerOptions('unix:///tmp/d.sock')).toEqual({ socketPath: '/tmp/d.sock' });
    expect(dockerOptions('tcp://10.0.0.1:2375')).toEqual({ host: '10.0.0.1', port: 2375, protocol: 'http' });
  });
});
