import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DockerodeEngine } from '../../src/docker/dockerodeEngine.js';
import { DockerUnreachableError } from '../../src/errors.js';

// A Docker daemon that dies or stalls after it sent a response's headers (dockerd does this while it
// restarts; the chaos soak caught a job held for minutes by one such call). dockerode's own timeout only
// watches an idle socket and never settles such a call, so every call has a hard limit of its own. A real
// dockerd cannot be made to fail at that exact byte, hence this small server on a unix socket.

type Misbehaviour = 'close-mid-body' | 'stall-mid-body' | 'never-answer';

const servers: net.Server[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function badDaemon(how: Misbehaviour): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'netq-baddocker-'));
  dirs.push(dir);
  const path = join(dir, 'docker.sock');
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', () => {
      if (how === 'never-answer') return;
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"Id":');
      if (how === 'close-mid-body') setTimeout(() => socket.destroy(), 50);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return `unix://${path}`;
}

describe('a Docker call with no answer', () => {
  for (const how of ['close-mid-body', 'stall-mid-body', 'never-answer'] as const) {
    it(`fails as unreachable within its limit when the daemon does ${how}`, async () => {
      const engine = new DockerodeEngine(await badDaemon(how), undefined, 400);
      const started = Date.now();
      const err = await engine.inspectContainer('abc').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DockerUnreachableError);
      expect(String((err as Error).message)).toMatch(/container inspect/);
      // the limit, not for ever (a loose upper bound: this is a correctness check, not a timing one)
      expect(Date.now() - started).toBeLessThan(5_000);
    });
  }
});
