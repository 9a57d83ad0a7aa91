import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { hostIdSchema } from '../../src/hostId.js';
import { parseQueueName, queueName } from '../../src/jobs.js';

/** One host-id rule: NETQ_HOST_ID, the payloads' host and the queue names take and refuse the same ids. */

const GOOD = ['local', 'h1', '0', 'web-2', 'a'.repeat(63)];
const BAD = ['', 'Local', 'a.b', '-a', 'a_b', 'a b', 'ü', 'a'.repeat(64), 'a/b'];

const configTakes = (id: string) => {
  try {
    return loadConfig({ NETQ_HOST_ID: id }).hostId === id;
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect(String((err as Error).message)).toMatch(/NETQ_HOST_ID: expected lowercase letters, digits and "-"/);
    return false;
  }
};

describe('host ids', () => {
  it('are taken or refused alike by the config, the payload schemas and the queue names', () => {
    for (const id of [...GOOD, ...BAD]) {
      const good = GOOD.includes(id);
      expect(configTakes(id), id).toBe(good);
      expect(hostIdSchema.safeParse(id).success, id).toBe(good);
      expect(parseQueueName(queueName.rebuild(id))?.host, id).toBe(good ? id : undefined);
    }
  });
});
