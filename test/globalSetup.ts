import Docker from 'dockerode';
import { Redis } from 'ioredis';

/** The suite needs the real services: scripts/services (run by `npm test`) starts them. */
export default async function setup() {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(`Redis is not answering (${(err as Error).message}): run scripts/services or npm test`);
  } finally {
    redis.disconnect();
  }
  const docker = new Docker();
  try {
    await docker.ping();
    await docker.getImage('local/busybox:latest').inspect();
  } catch (err) {
    throw new Error(`Docker or the local/busybox image is missing (${(err as Error).message}): run scripts/services`);
  }
}
