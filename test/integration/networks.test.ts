import type { Job } from 'bullmq';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { runControl } from '../../producers/client.js';
import { dockerStatus } from '../../src/errors.js';
import { JOB, type NetworkListJob } from '../../src/jobs.js';
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
  RUN_LABEL,
  runCli,
  runCliOnTty,
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

/** Dokku's `network:info --format json` object. */
interface DokkuNetworkJson {
  Name: string;
  ID: string;
  Driver: string;
  DokkuManaged: boolean;
  Internal: boolean;
  Labels: Record<string, string>;
}

/** A failure as Dokku prints it: one ` !     ` line on stderr, exit 1. */
function dokkuLine(res: CliResult, what: string) {
  expect(res.code, what).toBe(1);
  expect(res.stderr.trim().split('\n'), what).toHaveLength(1);
  expect(res.stderr, what).toMatch(/^ ! {5}/);
}

function oneLine(res: CliResult, what: string) {
  expect(res.code, what).toBe(1);
  expect(res.stdout, what).toBe('');
  expect(res.stderr.trim().split('\n'), what).toHaveLength(1);
  expect(res.stderr, what).toMatch(/^netq: /);
}

describe('network:create|exists|info|list|destroy', () => {
  it('goes through the life of a network as Dokku documents it', async () => {
    const e = env();
    await startPool(configOf(e));
    const net = netName('life');

    const created = await runCli(['network:create', net], e);
    expect(created).toEqual({ code: 0, stdout: `-----> Creating network ${net}\n`, stderr: '' });

    const exists = await runCli(['network:exists', net], e);
    expect(exists).toEqual({ code: 0, stdout: '-----> Network exists\n', stderr: '' });

    const inspected = await docker.getNetwork(net).inspect();
    expect(inspected).toMatchObject({ Driver: 'bridge', Attachable: true, Internal: false });
    const id12 = inspected.Id.slice(0, 12);

    // Dokku's DockerNetwork (compatNetworks.test.ts compares every byte)
    const info = await runCli(['network:info', net, '--format', 'json'], e);
    expect(info.code).toBe(0);
    const facts = JSON.parse(info.stdout) as DokkuNetworkJson;
    expect(facts).toMatchObject({ Name: net, Driver: 'bridge', ID: id12, DokkuManaged: true, Internal: false });
    expect(facts.Labels['com.dokku.network-name']).toBe(net);
    expect(facts.Labels[RUN_LABEL]).toBe(runId);

    const text = await runCli(['network:info', net], e);
    expect(text.code).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`=====> ${net} network information`);
    expect(lines).toContain('       Driver:         bridge');
    expect(lines).toContain(`       ID:             ${id12}`);
    expect(lines).toContain('       Dokku managed:  true');

    const list = await runCli(['network:list'], e);
    expect(list.code).toBe(0);
    const names = list.stdout.trimEnd().split('\n');
    expect(names[0]).toBe('=====> Networks');
    expect(names).toEqual(expect.arrayContaining([net, 'bridge', 'host', 'none']));

    for (const flag of ['--dokku-managed', '--managed']) {
      const managed = await runCli(['network:list', flag], e);
      expect(managed.code).toBe(0);
      expect(managed.stdout.split('\n')).toContain(net);
      expect(managed.stdout.split('\n')).not.toContain('bridge');
    }
    const managedJson = JSON.parse((await runCli(['network:list', '--dokku-managed', '--format', 'json'], e)).stdout);
    const managedNames = (managedJson as DokkuNetworkJson[]).map((n) => n.Name);
    expect(managedNames).toContain(net);
    expect(managedNames).not.toContain('bridge');
    expect((managedJson as DokkuNetworkJson[]).every((n) => n.DokkuManaged)).toBe(true);

    // no --force and nothing on stdin: Dokku's question, and fmt.Scanln's EOF
    const unconfirmed = await runCli(['network:destroy', net], e);
    expect(unconfirmed).toEqual({
      code: 1,
      stdout: '> ',
      stderr: ` !     WARNING: Potentially Destructive Action\n !     This command will destroy network ${net}.\n !     To proceed, type "${net}"\n !     EOF\n`,
    });
    expect(await networkExists(net)).toBe(true);

    // a container attached: the engine refuses, in its words
    const app = appName('attached');
    const c = await createAppContainer({ app });
    await docker.getNetwork(net).connect({ Container: c.id });
    const busy = await runCli(['network:destroy', net, '--force'], e);
    expect(busy.code).toBe(1);
    expect(busy.stdout).toBe(`-----> Destroying network ${net}\n`);
    expect(busy.stderr).toMatch(/^ ! {5}Unable to destroy network: Error response from daemon: .*active endpoints\n$/);
    expect(await networkExists(net)).toBe(true);

    await docker.getNetwork(net).disconnect({ Container: c.id, Force: true });
    const destroyed = await runCli(['network:destroy', net, '--force'], e);
    expect(destroyed).toEqual({ code: 0, stdout: `-----> Destroying network ${net}\n`, stderr: '' });
    expect(await networkExists(net)).toBe(false);

    const gone = await runCli(['network:exists', net], e);
    expect(gone).toEqual({ code: 1, stdout: '', stderr: ' !     Network does not exist\n' });
    const goneJson = await runCli(['network:exists', net, '--format', 'json'], e);
    expect(goneJson.code).toBe(1);
    expect(JSON.parse(goneJson.stdout)).toEqual({ network: net, exists: false });

    const again = await runCli(['network:destroy', net, '--force'], e);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(
      ` !     Unable to destroy network: Error response from daemon: network ${net} not found\n`,
    );
    const missingInfo = await runCli(['network:info', net], e);
    expect(missingInfo).toEqual({ code: 1, stdout: '', stderr: ' !     Network does not exist\n' });
  });

  it('creates with --format json, and takes a name as a name, never as an id prefix', async () => {
    const e = env();
    await startPool(configOf(e));
    const net = netName('json');
    const res = await runCli(['network:create', net, '--format', 'json', '--host', 'local'], e);
    expect(res.code).toBe(0);
    const facts = JSON.parse(res.stdout) as NetworkFacts;
    expect(facts).toMatchObject({ name: net, driver: 'bridge', attachable: true, ipv6: false });
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
    dokkuLine(dup, 'create of an existing name');
    expect(dup.stdout).toBe(`-----> Creating network ${net}\n`);
    expect(dup.stderr).toMatch(/^ ! {5}Unable to create network: Error response from daemon: .*already exists\n$/);
    expect((await docker.getNetwork(net).inspect()).Id).toBe(idBefore);

    for (const name of ['bridge', 'host', 'none']) {
      // netq's own refusal, before Dokku's `-----> Creating network` line
      const res = await runCli(['network:create', name], e);
      expect(res).toEqual({
        code: 1,
        stdout: '',
        stderr: ` !     cannot create network ${name}: it is one of Docker's own networks\n`,
      });
      // the engine's refusal, after Dokku's line
      const destroy = await runCli(['network:destroy', name, '--force'], e);
      dokkuLine(destroy, `destroy ${name}`);
      expect(destroy.stdout).toBe(`-----> Destroying network ${name}\n`);
      expect(destroy.stderr).toMatch(/^ ! {5}Unable to destroy network: Error response from daemon: /);
    }
    expect(await networkExists('bridge')).toBe(true);

    const ne = env();
    // every name against create, a few against the other commands; the CLI runs are independent
    const names = ['../x', '', 'a b', 'a/b', 'x'.repeat(65), `${NET_PREFIX}a..b`, 'caf\u00e9', 'a\nb'];
    const runs = [
      ...names.map((name) => ['network:create', name]),
      ...['../x', 'a b'].flatMap((name) => [
        ['network:destroy', name, '--force'],
        ['network:destroy', name],
        ['network:exists', name],
        ['network:info', name],
      ]),
    ];
    const results = await Promise.all(runs.map((args) => runCli(args, ne)));
    for (const [i, res] of results.entries()) {
      const what = JSON.stringify(runs[i]);
      // refused before anything is printed, asked or connected
      expect(res.stdout, what).toBe('');
      dokkuLine(res, what);
      expect(res.stderr, what).toMatch(/^ ! {5}invalid network name "/);
    }
    const bad = [
      ['network:create', '-x'],
      ['network:create', 'ok', '--host', 'Bad Host'],
      ['network:list', '--format', 'yaml'],
      ['network:info', 'ok', '--timeout', '0'],
      ['network:create'],
      ['network:destroy'],
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
      const ok = await runControl(q, 'local', JOB.networkExists, { host: 'local', network: 'bridge' }, wait);
      expect(ok.result).toBe(true);
      // a payload the producers' types would refuse, as anything else may write into Redis
      const unchecked = { host: 'local', oops: 1 } as unknown as NetworkListJob;
      const list = await runControl(q, 'local', JOB.networkList, unchecked, wait).catch((err: Error) => err);
      expect(String(list)).toMatch(/Unrecognized key: "oops"/);
    } finally {
      await q.close();
    }
  });

  it('asks on a terminal: only the network name destroys, anything else keeps the network', async () => {
    const e = env();
    await startPool(configOf(e));
    const net = netName('tty');
    expect((await runCli(['network:create', net], e)).code).toBe(0);

    for (const answer of ['n', 'y']) {
      const no = await runCliOnTty(['network:destroy', net], e, `${answer}\n`);
      expect(no.code).toBe(1);
      expect(no.stdout).toContain('Potentially Destructive Action');
      expect(no.stdout).toContain(`To proceed, type "${net}"`);
      expect(no.stdout).toContain('Confirmation did not match test. Aborted.');
      expect(await networkExists(net)).toBe(true);
    }

    const yes = await runCliOnTty(['network:destroy', net], e, `${net}\n`);
    expect(yes.code).toBe(0);
    expect(yes.stdout).toContain(`-----> Destroying network ${net}`);
    expect(await networkExists(net)).toBe(false);

    // like Dokku: the question comes first, then docker's refusal of a network that is not there
    const missing = await runCliOnTty(['network:destroy', net], e, `${net}\n`);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain('Potentially Destructive Action');
    expect(missing.stdout).toContain(`Unable to destroy network: Error response from daemon: network ${net} not found`);
  });
});
