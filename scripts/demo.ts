// The netq demo (npm run demo): three Dokku apps as busybox containers on a Dokku host laid out in a temp
// folder (app folders with CONTAINER files, scale and deployed marker, as Dokku's deploy leaves them), one app
// broken, a worker in Dokku mode, and one `netq network:rebuildall`. It checks the result, then cleans up
// whatever happens.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { Redis } from 'ioredis';
import type { RebuildallResult } from '../src/types.js';

// `broken`: created with NetworkMode 'none', so it has no IP and netq must report it as the one failure.
const DEMO: { app: string; proc: string; index: number; broken?: boolean }[] = [
  { app: 'demo-api', proc: 'web', index: 1 },
  { app: 'demo-api', proc: 'web', index: 2 },
  { app: 'demo-www', proc: 'web', index: 1 },
  { app: 'demo-www', proc: 'worker', index: 1 },
  { app: 'demo-broken', proc: 'web', index: 1, broken: true },
];
const EXPECTED_FAILURES = DEMO.filter((c) => c.broken).map((c) => `${c.app}.${c.proc}.${c.index}`);
const IMAGE = 'local/busybox:latest';
const REGISTER_DEADLINE_MS = 15_000;

const runId = randomBytes(4).toString('hex');
const demoLabel = `netq.demo-run=${runId}`;
const prefix = `demo-${runId}`;
const docker = new Docker();
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true });
let dokkuRoot: string | undefined;
let worker: ChildProcess | undefined;
let cli: ChildProcess | undefined;
let problems = 0;
/** set by SIGINT/SIGTERM: main stops at its next step, then the cleanup runs as usual */
let interrupted: NodeJS.Signals | undefined;
const live = () => {
  if (interrupted) throw new Error(`interrupted by ${interrupted}`);
};

const check = (ok: boolean, what: string) => {
  if (!ok) problems += 1;
  console.log(`  ${ok ? 'OK  ' : 'FAIL'} ${what}`);
};

/** What Dokku's deploy leaves on its host for these containers: app folders, CONTAINER files, scale, deployed marker. */
async function layOutDokku(root: string, lib: string, ids: Map<string, string>): Promise<void> {
  for (const app of new Set(DEMO.map((c) => c.app))) {
    const dynos = DEMO.filter((c) => c.app === app);
    await mkdir(path.join(root, app), { recursive: true });
    for (const c of dynos) {
      await writeFile(
        path.join(root, app, `CONTAINER.${c.proc}.${c.index}`),
        `${ids.get(`${app}.${c.proc}.${c.index}`)}\n`,
      );
    }
    const scale = new Map<string, number>();
    for (const c of dynos) scale.set(c.proc, Math.max(scale.get(c.proc) ?? 0, c.index));
    await mkdir(path.join(lib, 'config/ps', app), { recursive: true });
    await writeFile(path.join(lib, 'config/ps', app, 'scale'), [...scale].map(([p, n]) => `${p}=${n}\n`).join(''));
    await mkdir(path.join(lib, 'config/common', app), { recursive: true });
    await writeFile(path.join(lib, 'config/common', app, 'deployed'), 'true');
  }
}

async function createApps(): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  // allSettled: every create has ended before an error reaches the cleanup, so none is left behind
  const created = await Promise.allSettled(
    DEMO.map(async ({ app, proc, index, broken }) => {
      const name = `${app}.${proc}.${index}`;
      const container = await docker
        .createContainer({
          name,
          Image: IMAGE,
          Cmd: ['/bin/httpd', '-f', '-p', '5000'],
          Env: ['PORT=5000'],
          ExposedPorts: { '5000/tcp': {} },
          Labels: {
            'com.dokku.app-name': app,
            'com.dokku.container-type': 'deploy',
            'com.dokku.process-type': proc,
            'com.dokku.dyno': `${proc}.${index}`,
            'netq.demo-run': runId,
          },
          HostConfig: { NetworkMode: broken ? 'none' : 'bridge' },
        })
        .catch((err: { statusCode?: number }) => {
          if (err.statusCode !== 409) throw err;
          throw new Error(`${name} exists: from another demo? Remove it: docker rm -f ${name}`);
        });
      ids.set(name, container.id);
      await container.start();
    }),
  );
  for (const c of created) if (c.status === 'rejected') throw c.reason;
  return ids;
}

function exitOf(child: ChildProcess): Promise<number> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode ?? 1);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
}

async function waitForWorker(child: ChildProcess): Promise<void> {
  const deadline = Date.now() + REGISTER_DEADLINE_MS;
  while ((await redis.zscore(`{${prefix}}:hosts`, 'local')) === null) {
    live();
    if (child.exitCode !== null) throw new Error(`the worker exited with code ${child.exitCode} before it registered`);
    if (Date.now() > deadline) throw new Error(`the worker did not register within ${REGISTER_DEADLINE_MS} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A worker rebuilds its whole host by itself when its Docker event watcher connects (events it missed
 * while it was not running are lost): waits for that run's summary, so the rebuildall timed below is the
 * user's own, not one queued behind the start-up run.
 */
async function waitForStartupRun(child: ChildProcess): Promise<number> {
  const started = performance.now();
  const deadline = Date.now() + REGISTER_DEADLINE_MS;
  while ((await redis.zcard(`{${prefix}}:summary:completed`)) === 0) {
    live();
    if (child.exitCode !== null) throw new Error(`the worker exited with code ${child.exitCode}`);
    if (Date.now() > deadline)
      throw new Error(`the worker's start-up rebuild did not finish within ${REGISTER_DEADLINE_MS} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return performance.now() - started;
}

/** Runs `netq network:rebuildall --format json`, returning its output, exit code and duration. */
async function rebuildall(env: NodeJS.ProcessEnv): Promise<{ result: RebuildallResult; code: number; ms: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, ['bin/netq.js', 'network:rebuildall', '--format', 'json', '--timeout', '60'], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  cli = child;
  const chunks: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const code = await exitOf(child);
  live();
  const out = Buffer.concat(chunks).toString();
  if (!out.startsWith('{')) throw new Error(`rebuildall exited with ${code} and printed no JSON: ${out.trim()}`);
  return { result: JSON.parse(out) as RebuildallResult, code, ms: performance.now() - started };
}

async function answers(listener: string): Promise<string> {
  try {
    const res = await fetch(`http://${listener}/`, { signal: AbortSignal.timeout(3_000) });
    await res.body?.cancel();
    return res.status < 500 ? `HTTP ${res.status}` : `FAIL: HTTP ${res.status}`;
  } catch (err) {
    return `FAIL: ${String((err as Error).cause ?? err)}`;
  }
}

const read = async (dir: string, file: string) => (await readFile(path.join(dir, file), 'utf8')).trim();

async function main(): Promise<void> {
  console.log(`netq demo, run ${runId} (redis prefix {${prefix}}, label ${demoLabel})`);
  await redis.connect();
  dokkuRoot = await mkdtemp(path.join(os.tmpdir(), 'netq-demo-'));
  const [home, lib] = [path.join(dokkuRoot, 'home'), path.join(dokkuRoot, 'lib')];
  await layOutDokku(home, lib, await createApps());
  live();
  console.log(`created ${DEMO.length} containers: ${DEMO.map((c) => `${c.app}.${c.proc}.${c.index}`).join(', ')}`);

  const env = { ...process.env, NETQ_PREFIX: prefix, NETQ_SCOPE_LABEL: demoLabel, LOG_LEVEL: 'warn' };
  worker = spawn(process.execPath, ['bin/netq.js', 'worker'], {
    env: { ...env, NETQ_DOKKU_ROOT: home, NETQ_DOKKU_LIB_ROOT: lib },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await waitForWorker(worker);
  console.log(`worker ${worker.pid} registered as host "local"`);
  const startup = await waitForStartupRun(worker);
  console.log(
    `it rebuilt its host by itself on start (its event watcher connected): done ${startup.toFixed(0)} ms later\n`,
  );

  const { result, code, ms } = await rebuildall(env);
  console.log(`netq network:rebuildall took ${ms.toFixed(0)} ms, exit code ${code}`);
  for (const r of [...result.results].sort((a, b) => a.app.localeCompare(b.app))) {
    console.log(`  ${r.app} on ${r.host}: ${r.containers} running, ${r.configured} configured, ${r.failed} failed`);
    for (const [proc, listeners] of Object.entries(r.listeners)) console.log(`    ${proc}: ${listeners.join(' ')}`);
    for (const f of r.failures) console.log(`    failed ${f.container}: ${f.reason}`);
  }
  for (const h of result.hostFailures) console.log(`  host ${h.host} failed: ${h.reason}`);

  console.log('\nchecks');
  const failed = result.results.flatMap((r) => r.failures.map((f) => f.container)).sort();
  check(result.apps === 3 && result.containers === DEMO.length, `3 apps, ${DEMO.length} containers seen`);
  check(code === result.failed && code === EXPECTED_FAILURES.length, `exit code ${code} = failed containers`);
  check(failed.join() === EXPECTED_FAILURES.join(), `only the broken container failed (${failed.join(', ')})`);
  check(result.hostFailures.length === 0, 'no host failures');
  const listeners = result.results.flatMap((r) => Object.values(r.listeners).flat());
  check(listeners.length === DEMO.length - EXPECTED_FAILURES.length, `${listeners.length} listeners`);
  for (const l of listeners) {
    live();
    const status = await answers(l);
    check(!status.startsWith('FAIL'), `${l} answers (${status})`);
  }

  console.log(`\nDokku files in ${home}`);
  for (const r of result.results) {
    const dir = path.join(home, r.app);
    const files = (await readdir(dir).catch(() => [])).filter((f) => /^(IP|PORT)\./.test(f)).sort();
    const values = new Map(await Promise.all(files.map(async (f) => [f, await read(dir, f)] as const)));
    console.log(`  ${r.app}/ ${files.map((f) => `${f}=${values.get(f)}`).join(' ') || '(none)'}`);
    const fromFiles = files
      .filter((f) => f.startsWith('IP.'))
      // Dokku's GetListeners: PORT.<proc>.<n> (web only), else 5000
      .map((f) => `${values.get(f)}:${values.get(`PORT.${f.slice(3)}`) ?? 5000}`);
    const expected = Object.values(r.listeners).flat();
    check(fromFiles.sort().join() === expected.sort().join(), `${r.app}: the files match its listeners`);
  }
}

/** Each step runs even when an earlier one failed; a failed step fails the demo. */
async function cleanup(): Promise<void> {
  const step = (what: string, fn: () => Promise<string>) =>
    fn().then(
      (done) => check(true, `${what}: ${done}`),
      (err: Error) => check(false, `${what}: ${err.message}`),
    );
  console.log('\ncleanup');
  await step('worker', async () => {
    if (!worker) return 'not started';
    const exited = exitOf(worker);
    worker.kill('SIGTERM'); // it finishes its active jobs, then exits
    const timer = setTimeout(() => worker?.kill('SIGKILL'), 10_000);
    const code = await exited.finally(() => clearTimeout(timer));
    if (code !== 0 && !interrupted) throw new Error(`exited with code ${code}`);
    return `stopped (exit code ${code})`;
  });
  await step('containers', async () => {
    const list = await docker.listContainers({ all: true, filters: { label: [demoLabel] } });
    await Promise.all(list.map((c) => docker.getContainer(c.Id).remove({ force: true })));
    return `${list.length} removed`;
  });
  await step('redis keys', async () => {
    let keys = 0;
    if (redis.status !== 'ready') await redis.connect();
    for await (const batch of redis.scanStream({ match: `{${prefix}}*`, count: 500 })) {
      const found = batch as string[];
      if (found.length > 0) keys += await redis.unlink(...found);
    }
    await redis.quit();
    return `${keys} removed`;
  });
  await step('temp dir', async () => {
    if (dokkuRoot) await rm(dokkuRoot, { recursive: true, force: true });
    return dokkuRoot ? `${dokkuRoot} removed` : 'none';
  });
}

// `on`, not `once`: tsx forwards a Ctrl-C that the whole process group got already, so it comes twice.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = signal;
    console.error(`\n${signal}: stopping, then cleaning up`);
    cli?.kill('SIGTERM');
  });
}

try {
  await main();
} catch (err) {
  problems += 1;
  console.error(`demo failed: ${(err as Error).message}`);
} finally {
  await cleanup();
}
const verdict = interrupted ? 'interrupted' : problems === 0 ? 'passed' : `FAILED (${problems} problems)`;
console.log(`\ndemo ${verdict}`);
process.exitCode = interrupted ? 130 : problems === 0 ? 0 : 1;
