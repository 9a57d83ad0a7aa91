import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Job } from 'bullmq';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { runControl } from '../../producers/client.js';
import { dockerStatus } from '../../src/errors.js';
import { JOB } from '../../src/jobs.js';
import type { NetworkFacts } from '../../src/types.js';
import {
  appName,
  type CliResult,
  cleanupDocker,
  cleanupPrefix,
  closePools,
  configOf,
  countKeys,
  createAppContainer,
  docker,
  openPools,
  producer,
  ROOT,
  RUN_LABEL,
  runCli,
  runId,
  startPool,
  testEnv,
  until,
} from '../helpers.js';

const envs: Record<string, string>[] = [];
/** A test environment whose Redis keys are removed after the test. */
function env(extra: Record<string, string> = {}) {
  const e = testEnv(extra);
  envs.push(e);
  return e;
}

/** Every network these tests make is named with this prefix (and carries the run label). */
const NET_PREFIX = `netq-t${runId}-`;
const netName = (base: string) => `${NET_PREFIX}${base}`;

afterEach(async () => {
  await closePools();
  expect(openPools()).toBe(0);
  for (const e of envs.splice(0)) await cleanupPrefix(configOf(e));
});
afterAll(async () => {
  await cleanupDocker();
  // the CLI's create labels networks for Dokku (and the worker's scope label); remove by name too
  const left = await docker.listNetworks({ filters: { name: [NET_PREFIX] } });
  await Promise.all(
    left
      .filter((n) => n.Name.startsWith(NET_PREFIX))
      .map((n) =>
        docker
          .getNetwork(n.Id)
          .remove()
          .catch(() => {}),
      ),
  );
});

async function networkExists(name: string): Promise<boolean> {
  try {
    const info = await docker.getNetwork(name).inspect();
    return (info as { Name?: string }).Name === name;
  } catch (err) {
    if (dockerStatus(err) === 404) return false;
    throw err;
  }
}

/** Names of this run's networks on the engine, to check that a refused command made none. */
async function ourNetworks(): Promise<string[]> {
  const list = await docker.listNetworks({ filters: { name: [NET_PREFIX] } });
  return list
    .map((n) => n.Name)
    .filter((n) => n.startsWith(NET_PREFIX))
    .sort();
}

function oneLine(res: CliResult, what: string) {
  expect(res.code, what).toBe(1);
  expect(res.stdout, what).toBe('');
  expect(res.stderr.trim().split('\n'), what).toHaveLength(1);
  expect(res.stderr, what).toMatch(/^netq: /);
}

/** Runs the CLI on a pseudo-terminal (util-linux `script`), typing `input` at it. */
function runCliOnTty(args: string[], env: Record<string, string>, input: string): Promise<CliResult> {
  const cmd = ['node', path.join(ROOT, 'bin/netq.js'), ...args].map((a) => `'${a}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', cmd, '/dev/null'], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`netq ${args.join(' ')} on a tty did not finish\n${stdout}`));
    }, 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr: '' });
    });
    child.stdin.end(input);
  });
}

describe('network:create|exists|info|list|destroy', () => {
  it('goes through the life of a network as Dokku documents it', async () => {
    const e = env();
    await startPool(configOf(e));
    const net = netName('life');

    const created = await runCli(['network:create', net], e);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout).toBe(`=====> Creating network ${net}\n`);

    const exists = await runCli(['network:exists', net], e);
    expect(exists.code).toBe(0);
    expect(exists.stdout).toBe(`Network ${net} exists\n`);

    const info = await runCli(['network:info', net, '--format', 'json'], e);
    expect(info.code).toBe(0);
    const facts = JSON.parse(info.stdout) as NetworkFacts;
    expect(facts).toMatchObject({ name: net, driver: 'bridge', attachable: true, internal: false, containers: [] });
    expect(facts.labels['com.dokku.network-name']).toBe(net);
    expect(facts.labels[RUN_LABEL]).toBe(runId);
    const inspected = await docker.getNetwork(net).inspect();
    expect(facts.id).toBe(inspected.Id);

    const text = await runCli(['network:info', net], e);
    expect(text.code).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`=====> ${net} network information`);
    expect(lines).toContain('       Driver:     bridge');
    expect(lines).toContain('       Attachable: true');
    expect(lines).toContain(`       ID:         ${inspected.Id}`);
    expect(lines.find((l) => l.startsWith('       Labels:'))).toContain(`com.dokku.network-name=${net}`);

    const list = await runCli(['network:list'], e);
    expect(list.code).toBe(0);
    const names = list.stdout.trimEnd().split('\n');
    expect(names[0]).toBe('=====> Networks');
    expect(names).toEqual(expect.arrayContaining([net, 'bridge', 'host', 'none']));

    const managed = await runCli(['network:list', '--managed'], e);
    expect(managed.code).toBe(0);
    expect(managed.stdout.split('\n')).toContain(net);
    expect(managed.stdout.split('\n')).not.toContain('bridge');
    const managedJson = JSON.parse((await runCli(['network:list', '--managed', '--format', 'json'], e)).stdout);
    const managedNames = (managedJson as NetworkFacts[]).map((n) => n.name);
    expect(managedNames).toContain(net);
    expect(managedNames).not.toContain('bridge');
    expect((managedJson as NetworkFacts[]).every((n) => n.labels['com.dokku.network-name'] !== undefined)).toBe(true);

    // no --force and stdin is not a terminal: refused before anything is asked of the worker
    const unconfirmed = await runCli(['network:destroy', net], e);
    oneLine(unconfirmed, 'destroy without --force');
    expect(unconfirmed.stderr).toMatch(/--force/);
    expect(await networkExists(net)).toBe(true);

    // a container attached: refused, naming it
    const app = appName('attached');
    const c = await createAppContainer({ app });
    await docker.getNetwork(net).connect({ Container: c.id });
    const attached = JSON.parse((await runCli(['network:info', net, '--format', 'json'], e)).stdout) as NetworkFacts;
    expect(attached.containers).toHaveLength(1);
    expect(attached.containers[0]?.name).toBe(`${app}.web.1`);
    expect(attached.containers[0]?.ipv4).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const attachedText = await runCli(['network:info', net], e);
    expect(attachedText.stdout).toContain(`       Containers: ${app}.web.1 (${attached.containers[0]?.ipv4})`);

    const busy = await runCli(['network:destroy', net, '--force'], e);
    oneLine(busy, 'destroy while attached');
    expect(busy.stderr).toContain(`${app}.web.1`);
    expect(await networkExists(net)).toBe(true);

    await docker.getNetwork(net).disconnect({ Container: c.id, Force: true });
    const destroyed = await runCli(['network:destroy', net, '--force'], e);
    expect(destroyed.stderr).toBe('');
    expect(destroyed.code).toBe(0);
    expect(destroyed.stdout).toBe(`=====> Destroying network ${net}\n`);
    expect(await networkExists(net)).toBe(false);

    const gone = await runCli(['network:exists', net], e);
    expect(gone.code).toBe(1);
    expect(gone.stdout).toBe(`Network ${net} does not exist\n`);
    const goneJson = await runCli(['network:exists', net, '--format', 'json'], e);
    expect(goneJson.code).toBe(1);
    expect(JSON.parse(goneJson.stdout)).toEqual({ network: net, exists: false });

    const again = await runCli(['network:destroy', net, '--force'], e);
    oneLine(again, 'destroy of a missing network');
    expect(again.stderr).toContain(`network ${net} does not exist`);
    const missingInfo = await runCli(['network:info', net], e);
    oneLine(missingInfo, 'info of a missing network');
    expect(missingInfo.stderr).toContain(`network ${net} does not exist`);
  });

  it('creates with --format json, and takes a name as a name, never as an id prefix', async () => {
    const e = env();
    await startPool(configOf(e));
    const net = netName('json');
    const res = await runCli(['network:create', net, '--format', 'json', '--host', 'local'], e);
    expect(res.code).toBe(0);
    const facts = JSON.parse(res.stdout) as NetworkFacts;
    expect(facts).toMatchObject({ name: net, driver: 'bridge', attachable: true });
    expect(facts.labels['com.dokku.network-name']).toBe(net);

    // `docker network inspect <id prefix>` finds the network; network:exists must not
    const prefix = facts.id.slice(0, 12);
    expect(await networkExists(prefix)).toBe(false);
    expect((await runCli(['network:exists', prefix], e)).code).toBe(1);
    expect((await runCli(['network:exists', net], e)).code).toBe(0);

    const destroyed = await runCli(['network:destroy', net, '--force', '--format', 'json'], e);
    expect(destroyed.code).toBe(0);
    expect(JSON.parse(destroyed.stdout)).toEqual({ network: net, id: facts.id, removed: true });
  });

  it('refuses an existing name, Docker networks and invalid names with exit 1 and one line, and creates nothing', async () => {
    const e = env();
    await startPool(configOf(e));
    const net = netName('dup');
    expect((await runCli(['network:create', net], e)).code).toBe(0);
    const before = await ourNetworks();
    const idBefore = (await docker.getNetwork(net).inspect()).Id;

    const dup = await runCli(['network:create', net], e);
    oneLine(dup, 'create of an existing name');
    expect(dup.stderr).toContain(`network ${net} already exists`);
    expect((await docker.getNetwork(net).inspect()).Id).toBe(idBefore);

    for (const name of ['bridge', 'host', 'none']) {
      const res = await runCli(['network:create', name], e);
      oneLine(res, `create ${name}`);
      expect(res.stderr).toMatch(/Docker's own networks/);
      const destroy = await runCli(['network:destroy', name, '--force'], e);
      oneLine(destroy, `destroy ${name}`);
    }
    expect(await networkExists('bridge')).toBe(true);

    const ne = env();
    // every name against create, a few against the other commands; the CLI runs are independent
    const names = ['../x', '', 'a b', 'a/b', 'x'.repeat(65), `${NET_PREFIX}a..b`, 'caf\u00e9', 'a\nb'];
    const runs = [
      ...names.map((name) => ['network:create', name]),
      ...['../x', 'a b'].flatMap((name) => [
        ['network:destroy', name, '--force'],
        ['network:exists', name],
        ['network:info', name],
      ]),
    ];
    const results = await Promise.all(runs.map((args) => runCli(args, ne)));
    for (const [i, res] of results.entries()) {
      const what = JSON.stringify(runs[i]);
      oneLine(res, what);
      expect(res.stderr, what).toMatch(/invalid network name/);
    }
    const bad = [
      ['network:create', '-x'],
      ['network:create', 'ok', '--host', 'Bad Host'],
      ['network:list', '--format', 'yaml'],
      ['network:info', 'ok', '--timeout', '0'],
      ['network:create'],
    ];
    for (const [i, res] of (await Promise.all(bad.map((args) => runCli(args, ne)))).entries()) {
      oneLine(res, JSON.stringify(bad[i]));
    }
    // refused before connecting: nothing was written under this prefix
    expect(await countKeys(configOf(ne))).toBe(0);
    expect(await ourNetworks()).toEqual(before);
  });

  it('fails malformed control jobs at once, without retry, naming the field, and keeps serving', async () => {
    const e = env();
    const config = configOf(e);
    await startPool(config);
    const q = producer(config);
    try {
      const queue = q.controlQueue('local');
      const proto = netName('proto');
      const bad: { data: unknown; reason: RegExp }[] = [
        {
          data: { host: 'local', network: 5 },
          reason: /^bad network-create job: network: network name must be a string/,
        },
        {
          data: JSON.parse(`{"host":"local","network":"${proto}","__proto__":{"polluted":true}}`),
          reason: /Unrecognized key: "__proto__"/,
        },
        { data: { host: 'local', network: proto, extra: 1 }, reason: /Unrecognized key: "extra"/ },
        { data: { host: 'local', network: '../x' }, reason: /network: network name must match/ },
        { data: { host: 'BAD', network: proto }, reason: /host: host id must be/ },
        { data: { host: 'other', network: proto }, reason: /reached a worker of host local/ },
        { data: { host: 'local', network: 'bridge' }, reason: /Docker's own networks/ },
        { data: 'not an object', reason: /^bad network-create job: / },
      ];
      const jobs: Job[] = [];
      for (const b of bad) jobs.push(await queue.add(JOB.networkCreate, b.data, q.retryOptions()));
      for (const [i, job] of jobs.entries()) {
        const failed = await until(`job ${job.id} to fail`, async () => {
          const fresh = await queue.getJob(String(job.id));
          return (await fresh?.getState()) === 'failed' ? fresh : undefined;
        });
        expect(failed.attemptsMade, String(i)).toBe(1);
        expect(failed.failedReason, String(i)).toMatch(bad[i]?.reason ?? /never/);
      }
      expect(await networkExists(proto)).toBe(false);
      expect(Object.hasOwn(Object.prototype, 'polluted')).toBe(false);

      // the worker is still serving
      const wait = { wait: true, timeoutMs: 20_000 };
      const ok = await runControl<boolean>(q, 'local', JOB.networkExists, { host: 'local', network: 'bridge' }, wait);
      expect(ok.result).toBe(true);
      const list = await runControl<NetworkFacts[]>(
        q,
        'local',
        JOB.networkList,
        { host: 'local', oops: 1 },
        wait,
      ).catch((err: Error) => err);
      expect(String(list)).toMatch(/Unrecognized key: "oops"/);
    } finally {
      await q.close();
    }
  });

  it('asks on a terminal: the name or y destroys, anything else keeps the network', async () => {
    const e = env();
    await startPool(configOf(e));
    const net = netName('tty');
    expect((await runCli(['network:create', net], e)).code).toBe(0);

    const no = await runCliOnTty(['network:destroy', net], e, 'n\n');
    expect(no.code).toBe(1);
    expect(no.stdout).toContain('Potentially Destructive Action');
    expect(no.stdout).toMatch(/confirmation did not match/);
    expect(await networkExists(net)).toBe(true);

    const yes = await runCliOnTty(['network:destroy', net], e, `${net}\n`);
    expect(yes.code).toBe(0);
    expect(yes.stdout).toContain(`=====> Destroying network ${net}`);
    expect(await networkExists(net)).toBe(false);

    // a missing network fails before the question
    const missing = await runCliOnTty(['network:destroy', net], e, 'y\n');
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain(`network ${net} does not exist`);
    expect(missing.stdout).not.toContain('Potentially Destructive Action');
  });
});
