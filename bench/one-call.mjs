// Contender B of `npm run bench`: the one-call limit. A minimal Node program (plain `node`, no tsx start-up)
// that rebuilds every app of the host with ONE Docker API call: a label-filtered `listContainers` carries
// each container's labels, its IP on every network and its ports. It computes every listener, writes them
// with one Redis pipeline (netq's `netconfig` and `app-host` hashes) and writes Dokku's files as Dokku writes
// them: IP.<proc>.<n> for every process type, PORT.web.<n> for web only, without a trailing newline.
// The list response has no environment, so the port is the lowest exposed TCP port, else 5000 (netq also
// reads PORT from the environment; the bench's containers set none, so both give the same answer).
// Env: BENCH_LABEL (k=v, required), BENCH_ROOT (Dokku root, required), BENCH_PREFIX (Redis key prefix,
// required), REDIS_URL. Prints {"apps","containers","configured","failed"} as one JSON line.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Docker from 'dockerode';
import { Redis } from 'ioredis';

const need = (name) => {
  const v = process.env[name];
  if (!v) {
    process.stderr.write(`one-call: ${name} is required\n`);
    process.exit(2);
  }
  return v;
};
const label = need('BENCH_LABEL');
const root = need('BENCH_ROOT');
const prefix = `{${need('BENCH_PREFIX')}}`;
const host = 'local';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'); // connects while Docker answers
const docker = new Docker();
const list = await docker.listContainers({
  all: true,
  filters: { label: ['com.dokku.container-type=deploy', 'com.dokku.app-name', label] },
});

const apps = new Map();
let failed = 0;
for (const c of list) {
  const labels = c.Labels ?? {};
  const app = labels['com.dokku.app-name'];
  if (!app) continue;
  const entry = apps.get(app) ?? { listeners: {}, containers: [] };
  apps.set(app, entry);
  const dyno = /^([A-Za-z0-9_-]+)\.(\d+)$/.exec(labels['com.dokku.dyno'] ?? '');
  const ip = c.NetworkSettings?.Networks?.bridge?.IPAddress;
  if (c.State !== 'running' || !dyno || !ip) {
    failed += 1;
    continue;
  }
  const tcp = (c.Ports ?? [])
    .filter((p) => p.Type === 'tcp')
    .map((p) => p.PrivatePort)
    .sort((a, b) => a - b);
  const port = tcp[0] ?? 5000;
  const proc = dyno[1];
  const index = Number(dyno[2]);
  const listener = `${ip}:${port}`;
  const name = (c.Names?.[0] ?? c.Id).replace(/^\//, '');
  entry.containers.push({ container: name, id: c.Id, proc, index, ip, port, listener });
}

/** A dyno's files as Dokku writes them: its IP, and its port for web only. */
const dokkuFiles = (c) => [
  [`IP.${c.proc}.${c.index}`, c.ip],
  ...(c.proc === 'web' ? [[`PORT.${c.proc}.${c.index}`, c.port]] : []),
];

const pipeline = redis.pipeline();
const writes = [];
let configured = 0;
const updatedAt = new Date().toISOString();
for (const [app, entry] of apps) {
  entry.containers.sort((a, b) => a.proc.localeCompare(b.proc) || a.index - b.index);
  for (const c of entry.containers) {
    entry.listeners[c.proc] = [...(entry.listeners[c.proc] ?? []), c.listener];
  }
  configured += entry.containers.length;
  pipeline.hset(`${prefix}:netconfig`, app, JSON.stringify({ app, host, updatedAt, ...entry }));
  pipeline.hset(`${prefix}:app-host`, app, host);
  const dir = path.join(root, app);
  writes.push(
    mkdir(dir, { recursive: true }).then(() =>
      Promise.all(
        entry.containers.flatMap((c) =>
          dokkuFiles(c).map(async ([file, value]) => {
            const tmp = path.join(dir, `.${file}.${process.pid}.tmp`);
            await writeFile(tmp, String(value));
            await rename(tmp, path.join(dir, file)); // atomic, as netq's; no fsync (netq fsyncs each file)
          }),
        ),
      ),
    ),
  );
}
await Promise.all([pipeline.exec(), ...writes]);
process.stdout.write(`${JSON.stringify({ apps: apps.size, containers: configured + failed, configured, failed })}\n`);
redis.disconnect();
