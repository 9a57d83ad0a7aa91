import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerStatus } from '../../src/errors.js';
import {
  appName,
  type CliResult,
  cleanupDocker,
  cleanupPrefix,
  closePools,
  configOf,
  createAppContainer,
  docker,
  RUN_LABEL,
  runCli,
  runId,
  scopeLabel,
  startPool,
  testEnv,
} from '../helpers.js';

/**
 * Dokku 0.38's `network:create|destroy|exists|info|list` and `network`/`network:help`, run through netq: each
 * row compares stdout, stderr and the exit code byte for byte with what Dokku prints. The expected bytes are
 * written here from Dokku's source (repository dokku/dokku, paths cited per group); values that vary (ids,
 * Docker's own error texts) are computed from the engine (`docker network inspect`, `docker network ls`, and
 * the `docker` CLI Dokku runs). Invocations come from docs/networking/network.md and tests/unit/network.bats.
 */

const execFileP = promisify(execFile);
const env = testEnv();
const NET_PREFIX = `netq-c${runId}-`;
const netName = (base: string) => `${NET_PREFIX}${base}`;

beforeAll(async () => {
  await startPool(configOf(env));
});
afterAll(async () => {
  await closePools();
  await cleanupPrefix(configOf(env));
  // every network here carries the run label: those netq made (the worker's scope label) and the test's own
  await cleanupDocker();
});

/** The built `netq` as Dokku's user runs `dokku`: stdin piped (`input`, else empty), stdout and stderr apart. */
function netq(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return runCli(args, { ...env, ...opts.env }, 60_000, opts.input ?? '');
}

/** What the `docker` CLI prints on stderr (trimmed, as common.ExecCommandResponse.StderrContents does). */
async function dockerCliError(args: string[]): Promise<string> {
  const res = await execFileP('docker', args).then(
    () => undefined,
    (err: { stderr?: string }) => err.stderr ?? '',
  );
  if (res === undefined) throw new Error(`docker ${args.join(' ')} succeeded; the test expected a refusal`);
  // Docker CLI 28 ends `network rm` failures with its StatusError (`exit status 1`), which Dokku passes on as
  // a second line; netq talks to the engine's API and has no CLI status to print (a difference it documents)
  return res.trim().replace(/\nexit status \d+$/, '');
}

/** A network made by the test itself (not by netq): labelled with the run label, so cleanupDocker removes it. */
async function testNetwork(name: string, labels: Record<string, string> = {}): Promise<void> {
  await docker.createNetwork({ Name: name, Driver: 'bridge', Labels: { ...labels, [RUN_LABEL]: runId } });
}

async function inspectId(name: string): Promise<string> {
  return ((await docker.getNetwork(name).inspect()) as { Id: string }).Id;
}

async function exists(name: string): Promise<boolean> {
  try {
    return ((await docker.getNetwork(name).inspect()) as { Name: string }).Name === name;
  } catch (err) {
    if (dockerStatus(err) === 404) return false;
    throw err;
  }
}

const ok = (stdout: string): CliResult => ({ code: 0, stdout, stderr: '' });
const fail = (stderr: string, stdout = ''): CliResult => ({ code: 1, stdout, stderr });

// ---- Dokku's JSON, from `docker network ls --format json` (plugins/network/functions.go getNetworks) ----

interface LsLine {
  CreatedAt: string;
  Driver: string;
  ID: string;
  IPv6: string;
  Internal: string;
  Labels: string;
  Name: string;
  Scope: string;
}

/** `docker network ls --format json`, which is what Dokku reads. */
async function dockerLs(): Promise<LsLine[]> {
  const { stdout } = await execFileP('docker', ['network', 'ls', '--format', 'json'], { maxBuffer: 64 << 20 });
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as LsLine);
}

/** Go's json string: HTML characters and U+2028/9 escaped as \u00xx (encoding/json's default). */
const goQuote = (s: string) =>
  JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);
const goOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * One network as getNetworks builds it and json.Marshal writes it: CreatedAt is always the constant getNetworks
 * parses (it ignores the network's own date), IPv6/Internal parsed from "true"/"false", Labels from the
 * `k=v,k=v` string split on commas and first `=`, DokkuManaged when com.dokku.network-name is among them.
 */
function dokkuJson(l: LsLine): string {
  const labels = new Map<string, string>();
  for (const piece of l.Labels.split(',')) {
    const at = piece.indexOf('=');
    if (at >= 0) labels.set(piece.slice(0, at), piece.slice(at + 1));
  }
  const createdAt = l.CreatedAt !== '' ? '2024-02-25T01:55:24.275184461Z' : '0001-01-01T00:00:00Z';
  const labelJson = [...labels]
    .sort(([a], [b]) => goOrder(a, b))
    .map(([k, v]) => `${goQuote(k)}:${goQuote(v)}`)
    .join(',');
  return (
    `{"CreatedAt":"${createdAt}","DokkuManaged":${labels.has('com.dokku.network-name')},"Driver":${goQuote(l.Driver)},` +
    `"ID":${goQuote(l.ID)},"Internal":${l.Internal === 'true'},"IPv6":${l.IPv6 === 'true'},"Labels":{${labelJson}},` +
    `"Name":${goQuote(l.Name)},"Scope":${goQuote(l.Scope)}}`
  );
}
const isManaged = (l: LsLine) => l.Labels.split(',').some((p) => p.startsWith('com.dokku.network-name='));
/** Dokku ranges over a Go map (a random order); netq lists by name. */
const byName = (ls: LsLine[]) => [...ls].sort((a, b) => goOrder(a.Name, b.Name));

/** Drops from a list's output (text or json) the networks not named in `keep`, leaving every other byte. */
function onlyNetworks(stdout: string, json: boolean, keep: Set<string>): string {
  if (!json) {
    return stdout
      .split('\n')
      .filter((line, i, all) => line === '=====> Networks' || i === all.length - 1 || keep.has(line))
      .join('\n');
  }
  const body = stdout.replace(/^\[/, '').replace(/\]\n$/, '');
  // objects never contain an unescaped `},{"CreatedAt":` inside their strings
  const items = body === '' ? [] : body.split(/(?<=\}),(?=\{"CreatedAt":)/);
  return `[${items.filter((item) => keep.has((JSON.parse(item) as { Name: string }).Name)).join(',')}]\n`;
}

/**
 * Runs a list command on the shared engine, where other test runs make and remove networks at the same time:
 * the engine's list is read before and after, and the run repeated until both agree. If they never do, the
 * networks that came or went meanwhile are left out of both sides, and every other byte is compared.
 */
async function listRun(args: string[], expected: (ls: LsLine[]) => CliResult): Promise<void> {
  const json = args.includes('json');
  for (let attempt = 0; ; attempt++) {
    const before = await dockerLs();
    const res = await netq(args);
    const after = await dockerLs();
    const key = (l: LsLine) => JSON.stringify(l);
    const afterKeys = new Set(after.map(key));
    const stable = before.filter((l) => afterKeys.has(key(l)));
    if (stable.length === before.length && stable.length === after.length) {
      expect(res, args.join(' ')).toEqual(expected(before));
      return;
    }
    if (attempt < 4) continue;
    const keep = new Set(stable.map((l) => l.Name));
    expect({ ...res, stdout: onlyNetworks(res.stdout, json, keep) }, args.join(' ')).toEqual(expected(stable));
    return;
  }
}

describe('Dokku compatibility: network:* byte for byte', () => {
  const net = netName('main');
  let id12 = '';

  beforeAll(async () => {
    // plugins/network/subcommands.go CommandCreate: LogInfo1Quiet before `docker network create`
    expect(await netq(['network:create', net])).toEqual(ok(`-----> Creating network ${net}\n`));
    id12 = (await inspectId(net)).slice(0, 12);
  });

  it('network:create makes what Dokku makes, and fails as Dokku does (CommandCreate)', async () => {
    // `docker network create --attachable --label com.dokku.network-name=<net> <net>`: a bridge network
    const made = (await docker.getNetwork(net).inspect()) as {
      Driver: string;
      Attachable: boolean;
      Internal: boolean;
      EnableIPv6: boolean;
      Labels: Record<string, string>;
    };
    expect(made).toMatchObject({ Driver: 'bridge', Attachable: true, Internal: false, EnableIPv6: false });
    // Dokku's label, and netq's own two (its creator, and the worker's scope label)
    expect(made.Labels).toEqual({
      'com.dokku.network-name': net,
      'com.dokku.network-created-by': 'netq',
      [RUN_LABEL]: runId,
    });

    // tests/unit/network.bats "network management": a second create fails; `Unable to create network: ` + docker's stderr
    const docker409 = await dockerCliError([
      'network',
      'create',
      '--attachable',
      '--label',
      `com.dokku.network-name=${net}`,
      '--label',
      scopeLabel,
      net,
    ]);
    expect(await netq(['network:create', net])).toEqual(
      fail(` !     Unable to create network: ${docker409}\n`, `-----> Creating network ${net}\n`),
    );
    // --quiet (DOKKU_QUIET_OUTPUT): LogInfo1Quiet says nothing; LogFailWithError still does
    expect(await netq(['--quiet', 'network:create', net])).toEqual(
      fail(` !     Unable to create network: ${docker409}\n`),
    );
  });

  it('network:exists answers as Dokku does (CommandExists)', async () => {
    const rows: [string[], CliResult][] = [
      [['network:exists', net], ok('-----> Network exists\n')],
      [['network:exists', 'bridge'], ok('-----> Network exists\n')],
      [['--quiet', 'network:exists', net], ok('')],
      [['network:exists', netName('nonexistent-network')], fail(' !     Network does not exist\n')],
      [['--quiet', 'network:exists', netName('nonexistent-network')], fail(' !     Network does not exist\n')],
      [['network:exists'], fail(' !     No network name specified\n')],
      [['network:exists', ''], fail(' !     No network name specified\n')],
      // by name only: the first 12 characters of the id are not a network's name
      [['network:exists', id12], fail(' !     Network does not exist\n')],
    ];
    const results = await Promise.all(rows.map(([args]) => netq(args)));
    for (const [i, [args, expected]] of rows.entries()) expect(results[i], args.join(' ')).toEqual(expected);
  });

  it('network:info prints what Dokku prints (CommandInfo, DockerNetwork, common.RightPad)', async () => {
    const json = `{"CreatedAt":"2024-02-25T01:55:24.275184461Z","DokkuManaged":true,"Driver":"bridge","ID":"${id12}","Internal":false,"IPv6":false,"Labels":{"com.dokku.network-created-by":"netq","com.dokku.network-name":"${net}","${RUN_LABEL}":"${runId}"},"Name":"${net}","Scope":"local"}\n`;
    const text = [
      `=====> ${net} network information`,
      `       ID:             ${id12}`,
      `       Name:           ${net}`,
      '       Driver:         bridge',
      '       Scope:          local',
      '       Dokku managed:  true',
      '',
    ].join('\n');
    const bridgeId = (await inspectId('bridge')).slice(0, 12);
    const rows: [string[], CliResult][] = [
      [['network:info', net], ok(text)],
      // LogInfo2Quiet is silenced, LogVerbose is not
      [['--quiet', 'network:info', net], ok(text.slice(text.indexOf('\n') + 1))],
      [['network:info', net, '--format', 'text'], ok(text)],
      [['network:info', net, '--format', 'json'], ok(json)],
      [['network:info', '--format', 'json', net], ok(json)],
      [['--quiet', 'network:info', net, '--format', 'json'], ok(json)],
      [
        ['network:info', 'bridge', '--format', 'json'],
        ok(
          `{"CreatedAt":"2024-02-25T01:55:24.275184461Z","DokkuManaged":false,"Driver":"bridge","ID":"${bridgeId}","Internal":false,"IPv6":false,"Labels":{},"Name":"bridge","Scope":"local"}\n`,
        ),
      ],
      // the checks in Dokku's order: a name, then the format, then the network
      [['network:info', net, '--format', 'yaml'], fail(' !     Invalid format specified, use either text or json\n')],
      [
        ['network:info', netName('missing'), '--format', 'yaml'],
        fail(' !     Invalid format specified, use either text or json\n'),
      ],
      [['network:info', netName('missing')], fail(' !     Network does not exist\n')],
      [['network:info', netName('missing'), '--format', 'json'], fail(' !     Network does not exist\n')],
      [['network:info'], fail(' !     No network name specified\n')],
      [['network:info', '--format', 'yaml'], fail(' !     No network name specified\n')],
    ];
    const results = await Promise.all(rows.map(([args]) => netq(args)));
    for (const [i, [args, expected]] of rows.entries()) expect(results[i], args.join(' ')).toEqual(expected);
  });

  it("network:info writes labels as Dokku reads them and escapes as Go's json.Marshal does", async () => {
    const odd = netName('odd');
    // a value with a comma: `docker network ls` joins labels with commas, Dokku splits on them
    await testNetwork(odd, { 'html<&>': 'a<b>&c', 'com.dokku.network-name': odd, list: 'x,y=z' });
    const oddId = (await inspectId(odd)).slice(0, 12);
    expect(await netq(['network:info', odd, '--format', 'json'])).toEqual(
      ok(
        `{"CreatedAt":"2024-02-25T01:55:24.275184461Z","DokkuManaged":true,"Driver":"bridge","ID":"${oddId}","Internal":false,"IPv6":false,"Labels":{"com.dokku.network-name":"${odd}","html\\u003c\\u0026\\u003e":"a\\u003cb\\u003e\\u0026c","list":"x","${RUN_LABEL}":"${runId}","y":"z"},"Name":"${odd}","Scope":"local"}\n`,
      ),
    );
    // the same bytes as Dokku's getNetworks makes of the engine's `docker network ls` line
    const line = (await dockerLs()).find((l) => l.Name === odd);
    expect(line).toBeDefined();
    expect((await netq(['network:info', odd, '--format', 'json'])).stdout).toBe(`${dokkuJson(line as LsLine)}\n`);
  });

  it('network:list prints what Dokku prints (CommandList), in name order', async () => {
    const text = (ls: LsLine[]) =>
      ok(
        `=====> Networks\n${byName(ls)
          .map((l) => `${l.Name}\n`)
          .join('')}`,
      );
    const json = (ls: LsLine[]) => ok(`[${byName(ls).map(dokkuJson).join(',')}]\n`);
    const managed = (ls: LsLine[]) => ls.filter(isManaged);
    // docs/networking/network.md "Listing networks"
    await listRun(['network:list'], text);
    await listRun(['--quiet', 'network:list'], (ls) =>
      ok(
        byName(ls)
          .map((l) => `${l.Name}\n`)
          .join(''),
      ),
    );
    await listRun(['network:list', '--format', 'text'], text);
    await listRun(['network:list', '--format', 'json'], json);
    await listRun(['--quiet', 'network:list', '--format', 'json'], json);
    // tests/unit/network.bats "--dokku-managed filters to dokku-created networks"
    await listRun(['network:list', '--dokku-managed'], (ls) => text(managed(ls)));
    await listRun(['network:list', '--dokku-managed', '--format', 'json'], (ls) => json(managed(ls)));
    // netq's older spelling
    await listRun(['network:list', '--managed'], (ls) => text(managed(ls)));

    const list = await netq(['network:list', '--format', 'json']);
    const parsed = JSON.parse(list.stdout) as { Name: string; DokkuManaged: boolean }[];
    expect(parsed.find((n) => n.Name === 'bridge')?.DokkuManaged).toBe(false);
    expect(parsed.find((n) => n.Name === net)?.DokkuManaged).toBe(true);
  });

  it('network:destroy asks as Dokku does, on piped stdin (CommandDestroy, common.AskForDestructiveConfirmation)', async () => {
    const warn = (name: string) =>
      ` !     WARNING: Potentially Destructive Action\n !     This command will destroy network ${name}.\n !     To proceed, type "${name}"\n`;
    const target = netName('ask');
    expect((await netq(['network:create', target])).code).toBe(0);

    // a mismatch: LogStderr's line, exit 1, nothing destroyed
    const mismatches: [string, CliResult][] = [
      ['nope\n', fail(`${warn(target)}Confirmation did not match test. Aborted.\n`, '> ')],
      [`${target}x\n`, fail(`${warn(target)}Confirmation did not match test. Aborted.\n`, '> ')],
      // only the name confirms: `y` is a mismatch
      ['y\n', fail(`${warn(target)}Confirmation did not match test. Aborted.\n`, '> ')],
      // fmt.Scanln's own errors, as LogFailWithError prints them
      ['', fail(`${warn(target)} !     EOF\n`, '> ')],
      ['\n', fail(`${warn(target)} !     unexpected newline\n`, '> ')],
      [`${target} extra\n`, fail(`${warn(target)} !     expected newline\n`, '> ')],
    ];
    for (const [input, expected] of mismatches) {
      expect(await netq(['network:destroy', target], { input }), JSON.stringify(input)).toEqual(expected);
    }
    expect(await exists(target)).toBe(true);

    // the name, with spaces around it as Scanln allows: destroyed
    expect(await netq(['network:destroy', target], { input: `  ${target}  \r\n` })).toEqual({
      code: 0,
      stdout: `> -----> Destroying network ${target}\n`,
      stderr: warn(target),
    });
    expect(await exists(target)).toBe(false);

    // --quiet: the question still shows, the info1 line does not
    expect((await netq(['network:create', target])).code).toBe(0);
    expect(await netq(['--quiet', 'network:destroy', target], { input: target })).toEqual({
      code: 0,
      stdout: '> ',
      stderr: warn(target),
    });
    expect(await exists(target)).toBe(false);

    // no question asked of a network that does not exist first: Dokku asks, then docker refuses
    const missing = netName('nonexistent-network');
    const docker404 = await dockerCliError(['network', 'rm', missing]);
    expect(await netq(['network:destroy', missing], { input: `${missing}\n` })).toEqual(
      fail(
        `${warn(missing)} !     Unable to destroy network: ${docker404}\n`,
        `> -----> Destroying network ${missing}\n`,
      ),
    );
  });

  it('network:destroy --force, dokku --force and DOKKU_APPS_FORCE_DELETE=1 skip the question', async () => {
    const a = netName('force-a');
    const b = netName('force-b');
    const c = netName('force-c');
    const d = netName('force-d');
    for (const n of [a, b, c, d]) expect((await netq(['network:create', n])).code).toBe(0);
    // tests/unit/network.bats and docs/networking/network.md: `dokku --force network:destroy <net>`
    expect(await netq(['--force', 'network:destroy', a])).toEqual(ok(`-----> Destroying network ${a}\n`));
    expect(await netq(['network:destroy', b, '--force'])).toEqual(ok(`-----> Destroying network ${b}\n`));
    expect(await netq(['network:destroy', c], { env: { DOKKU_APPS_FORCE_DELETE: '1' } })).toEqual(
      ok(`-----> Destroying network ${c}\n`),
    );
    expect(await netq(['--quiet', '--force', 'network:destroy', d])).toEqual(ok(''));
    for (const n of [a, b, c, d]) expect(await exists(n), n).toBe(false);

    // destroyed twice, and a network that never was: `docker network rm`'s refusal after Dokku's prefix
    const docker404 = await dockerCliError(['network', 'rm', a]);
    expect(await netq(['--force', 'network:destroy', a])).toEqual(
      fail(` !     Unable to destroy network: ${docker404}\n`, `-----> Destroying network ${a}\n`),
    );
  });

  it('network:destroy of a network in use fails with docker network rm’s words', async () => {
    const busy = netName('busy');
    expect((await netq(['network:create', busy])).code).toBe(0);
    const container = await createAppContainer({ app: appName('busy') });
    await docker.getNetwork(busy).connect({ Container: container.id });
    const refusal = await dockerCliError(['network', 'rm', busy]);
    expect(refusal).toMatch(/active endpoints/);
    expect(await netq(['--force', 'network:destroy', busy])).toEqual(
      fail(` !     Unable to destroy network: ${refusal}\n`, `-----> Destroying network ${busy}\n`),
    );
    expect(await exists(busy)).toBe(true);
    await container.remove({ force: true });
  });

  it('honours DOKKU_QUIET_OUTPUT as Dokku does (common.LogInfo1Quiet, LogInfo2Quiet)', async () => {
    const quiet = { env: { DOKKU_QUIET_OUTPUT: '1' } };
    expect(await netq(['network:exists', net], quiet)).toEqual(ok(''));
    expect(await netq(['network:exists', netName('nonexistent-network')], quiet)).toEqual(
      fail(' !     Network does not exist\n'),
    );
    expect((await netq(['network:info', net], quiet)).stdout).toBe(
      `       ID:             ${id12}\n       Name:           ${net}\n       Driver:         bridge\n       Scope:          local\n       Dokku managed:  true\n`,
    );
  });

  it('differs from Dokku only where netq says so', async () => {
    const rows: [string[], CliResult][] = [
      // names outside [a-zA-Z0-9][a-zA-Z0-9_.-]* (Docker takes `a b`): refused before anything is printed or asked
      [
        ['network:exists', 'a b'],
        fail(' !     invalid network name "a b": network name must match ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$\n'),
      ],
      [
        ['network:destroy', 'a b'],
        fail(' !     invalid network name "a b": network name must match ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$\n'),
      ],
      // Docker's own networks: netq refuses to create them itself (Dokku passes on docker's refusal)
      [['network:create', 'bridge'], fail(" !     cannot create network bridge: it is one of Docker's own networks\n")],
      // a --format other than text or json: refused (Dokku's network:list prints the text)
      [
        ['network:list', '--format', 'yaml'],
        fail("netq: option '--format <format>' argument 'yaml' is invalid. Allowed choices are text, json.\n"),
      ],
      // no name, or two: commander's usage errors (Dokku runs docker with an empty name, or ignores the second)
      [['network:create'], fail("netq: missing required argument 'network'\n")],
      [
        ['network:destroy', 'x', 'y'],
        fail("netq: too many arguments for 'network:destroy'. Expected 1 argument but got 2.\n"),
      ],
    ];
    const results = await Promise.all(rows.map(([args]) => netq(args)));
    for (const [i, [args, expected]] of rows.entries()) expect(results[i], args.join(' ')).toEqual(expected);
  });

  it('network and network:help print Dokku’s help (commands.go, common.CommandUsage with columnize)', async () => {
    // Dokku's text byte for byte, `netq` in place of `dokku`; netq's own commands follow after a blank line
    const dokku = `Usage: netq network[:COMMAND]

Manage network settings for an app

Additional commands:
    network:create <network>                             Creates an attachable docker network
    network:destroy <network>                            Destroys a docker network
    network:exists <network>                             Checks if a docker network exists
    network:info <network> [--format text|json]          Outputs information about a docker network
    network:list [--format text|json] [--dokku-managed]  Lists all docker networks
    network:rebuild <app>                                Rebuilds network settings for an app
    network:rebuildall                                   Rebuild network settings for all apps
    network:report [<app>] [<flag>]                      Displays a network report for one or more apps
    network:set <app> <property> (<value>...)            Set or clear a network property for an app
`;
    const [bare, help, quiet] = await Promise.all([
      netq(['network']),
      netq(['network:help']),
      netq(['--quiet', 'network:help']),
    ]);
    for (const res of [bare, help, quiet]) {
      expect(res.code).toBe(0);
      expect(res.stderr).toBe('');
      expect(res.stdout.startsWith(dokku)).toBe(true);
      expect(res.stdout.slice(dokku.length)).toMatch(/^\nnetq commands:\n( {4}\S.*\n)+$/);
    }
    // tests/unit/network.bats "network:help": `network` and `network:help` print the same
    expect(help.stdout).toBe(bare.stdout);
    expect(quiet.stdout).toBe(bare.stdout);
  });
});
