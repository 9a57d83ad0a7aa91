import { beforeAll, describe, expect, it } from 'vitest';
import { type DokkuHost, useDokkuHosts } from '../dokkuHost.js';
import { appName, docker, runCli, runCliOnTty, useTestEnvs } from '../helpers.js';

/**
 * `netq network:report` against Dokku 0.38's `dokku network:report`, byte for byte: each row is a Dokku invocation
 * (from docs/networking/network.md and tests/unit/network.bats) run through netq in Dokku mode, beside a simulated
 * Dokku host (an app created and deployed, one created only, properties written as `dokku network:set` writes
 * them), with the stdout, stderr and exit code Dokku gives written out from a reading of its source. Paths in
 * comments are inside the dokku/dokku repository.
 */
const env = useTestEnvs({ docker: true });
const dokkuHost = useDokkuHosts();

/** the deployed app, and an app created but never deployed (sorted after it: Dokku's order of apps) */
const A = appName('alpha');
const B = appName('beta');
let host: DokkuHost;
/** `<ip>:5000` of A's web.1 (the IP.web.1 and PORT.web.1 files the deploy wrote) */
let listener = '';

beforeAll(async () => {
  host = await dokkuHost();
  await host.createApp(A);
  const { current } = await host.deploy(A, { checksMs: 50, waitToRetireMs: 100 });
  listener = `${(await docker.getContainer(current['web.1'] ?? '').inspect()).NetworkSettings.Networks.bridge?.IPAddress}:5000`;
  await host.createApp(B);
  // `dokku network:set` (plugins/network/subcommands.go CommandSet): lists stored comma-joined
  await host.setProperty('--global', 'tld', 'global.example');
  await host.setProperty('--global', 'initial-network', 'my-net');
  await host.setProperty(A, 'tld', 'svc.example');
  await host.setProperty(A, 'attach-post-create', ['net-a', 'net-b']);
  await host.setProperty(A, 'bind-all-interfaces', 'true');
  await host.setProperty(B, 'static-web-listener', '10.0.0.9:8080');
  await host.setProperty(B, 'tld', 'b&c.example'); // Dokku does not check a tld: `&` shows Go's JSON escaping
}, 120_000);

// ---- expected bytes ----------------------------------------------------------------------------------------------

/**
 * plugins/common/common.go ReportSingleApp (stdout): LogInfo2Quiet `=====> <app> network information`, then per
 * flag in sort.Strings order LogVerbose of RightPad(`<Key words>:`, 38) + value: 38 is the longest flag,
 * `--network-computed-bind-all-interfaces` (at least 31), and the value is appended as it is.
 */
const textOfA = () => [
  `=====> ${A} network information`,
  '       Network attach post create:           net-a,net-b',
  '       Network attach post deploy:           ',
  '       Network bind all interfaces:          true',
  '       Network computed attach post create:  net-a,net-b',
  '       Network computed attach post deploy:  ',
  '       Network computed bind all interfaces: true',
  '       Network computed initial network:     my-net',
  '       Network computed tld:                 svc.example',
  '       Network global attach post create:    ',
  '       Network global attach post deploy:    ',
  '       Network global bind all interfaces:   ',
  '       Network global initial network:       my-net',
  '       Network global tld:                   global.example',
  '       Network initial network:              ',
  '       Network static web listener:          ',
  '       Network tld:                          svc.example',
  `       Network web listeners:                ${listener}`,
];
// plugins/network/network.go GetListeners: the static-web-listener as it is, though B has no container
const textOfB = () => [
  `=====> ${B} network information`,
  '       Network attach post create:           ',
  '       Network attach post deploy:           ',
  '       Network bind all interfaces:          ',
  '       Network computed attach post create:  ',
  '       Network computed attach post deploy:  ',
  '       Network computed bind all interfaces: false',
  '       Network computed initial network:     my-net',
  '       Network computed tld:                 b&c.example',
  '       Network global attach post create:    ',
  '       Network global attach post deploy:    ',
  '       Network global bind all interfaces:   ',
  '       Network global initial network:       my-net',
  '       Network global tld:                   global.example',
  '       Network initial network:              ',
  '       Network static web listener:          10.0.0.9:8080',
  '       Network tld:                          b&c.example',
  '       Network web listeners:                10.0.0.9:8080',
];
// plugins/network/report.go: `--global` has the five computed-* and the five global-* flags only
const textOfGlobal = [
  '=====> --global network information',
  '       Network computed attach post create:  ',
  '       Network computed attach post deploy:  ',
  '       Network computed bind all interfaces: false',
  '       Network computed initial network:     my-net',
  '       Network computed tld:                 global.example',
  '       Network global attach post create:    ',
  '       Network global attach post deploy:    ',
  '       Network global bind all interfaces:   ',
  '       Network global initial network:       my-net',
  '       Network global tld:                   global.example',
];
const lines = (ls: string[]) => ls.map((l) => `${l}\n`).join('');

/**
 * ReportSingleApp (json): json.Marshal of a map[string]string, so keys sorted, no spaces, `&` `<` `>` as \u0026
 * \u003c \u003e; TrimPrefix and EmitLegacyPrefix give each `--network-<key>` as `<key>` and `network-<key>`.
 */
const jsonOfA = () =>
  `{"attach-post-create":"net-a,net-b","attach-post-deploy":"","bind-all-interfaces":"true","computed-attach-post-create":"net-a,net-b","computed-attach-post-deploy":"","computed-bind-all-interfaces":"true","computed-initial-network":"my-net","computed-tld":"svc.example","global-attach-post-create":"","global-attach-post-deploy":"","global-bind-all-interfaces":"","global-initial-network":"my-net","global-tld":"global.example","initial-network":"","network-attach-post-create":"net-a,net-b","network-attach-post-deploy":"","network-bind-all-interfaces":"true","network-computed-attach-post-create":"net-a,net-b","network-computed-attach-post-deploy":"","network-computed-bind-all-interfaces":"true","network-computed-initial-network":"my-net","network-computed-tld":"svc.example","network-global-attach-post-create":"","network-global-attach-post-deploy":"","network-global-bind-all-interfaces":"","network-global-initial-network":"my-net","network-global-tld":"global.example","network-initial-network":"","network-static-web-listener":"","network-tld":"svc.example","network-web-listeners":"${listener}","static-web-listener":"","tld":"svc.example","web-listeners":"${listener}"}\n`;
const jsonOfB =
  '{"attach-post-create":"","attach-post-deploy":"","bind-all-interfaces":"","computed-attach-post-create":"","computed-attach-post-deploy":"","computed-bind-all-interfaces":"false","computed-initial-network":"my-net","computed-tld":"b\\u0026c.example","global-attach-post-create":"","global-attach-post-deploy":"","global-bind-all-interfaces":"","global-initial-network":"my-net","global-tld":"global.example","initial-network":"","network-attach-post-create":"","network-attach-post-deploy":"","network-bind-all-interfaces":"","network-computed-attach-post-create":"","network-computed-attach-post-deploy":"","network-computed-bind-all-interfaces":"false","network-computed-initial-network":"my-net","network-computed-tld":"b\\u0026c.example","network-global-attach-post-create":"","network-global-attach-post-deploy":"","network-global-bind-all-interfaces":"","network-global-initial-network":"my-net","network-global-tld":"global.example","network-initial-network":"","network-static-web-listener":"10.0.0.9:8080","network-tld":"b\\u0026c.example","network-web-listeners":"10.0.0.9:8080","static-web-listener":"10.0.0.9:8080","tld":"b\\u0026c.example","web-listeners":"10.0.0.9:8080"}\n';
const jsonOfGlobal =
  '{"computed-attach-post-create":"","computed-attach-post-deploy":"","computed-bind-all-interfaces":"false","computed-initial-network":"my-net","computed-tld":"global.example","global-attach-post-create":"","global-attach-post-deploy":"","global-bind-all-interfaces":"","global-initial-network":"my-net","global-tld":"global.example","network-computed-attach-post-create":"","network-computed-attach-post-deploy":"","network-computed-bind-all-interfaces":"false","network-computed-initial-network":"my-net","network-computed-tld":"global.example","network-global-attach-post-create":"","network-global-attach-post-deploy":"","network-global-bind-all-interfaces":"","network-global-initial-network":"my-net","network-global-tld":"global.example"}\n';

/** ReportSingleApp's last error: the valid flags (InfoFlagKeys) sorted and joined by ", " */
const invalidAppFlag =
  ' !     Invalid flag passed, valid flags: --network-attach-post-create, --network-attach-post-deploy, --network-bind-all-interfaces, --network-computed-attach-post-create, --network-computed-attach-post-deploy, --network-computed-bind-all-interfaces, --network-computed-initial-network, --network-computed-tld, --network-global-attach-post-create, --network-global-attach-post-deploy, --network-global-bind-all-interfaces, --network-global-initial-network, --network-global-tld, --network-initial-network, --network-static-web-listener, --network-tld, --network-web-listeners\n';
const invalidGlobalFlag =
  ' !     Invalid flag passed, valid flags: --network-computed-attach-post-create, --network-computed-attach-post-deploy, --network-computed-bind-all-interfaces, --network-computed-initial-network, --network-computed-tld, --network-global-attach-post-create, --network-global-attach-post-deploy, --network-global-bind-all-interfaces, --network-global-initial-network, --network-global-tld\n';
/** pflag v1.0.10 FlagSet.PrintDefaults of network:report's only flag (`args.String("format", "stdout", …)`) */
const pflagUsage = 'Usage of network:report:\n      --format string   format: [ stdout | json ] (default "stdout")\n';

interface Row {
  args: () => string[];
  stdout: () => string;
  stderr?: string;
  code?: number;
}

const rows: [string, Row][] = [
  // -- plugins/network/report.go ReportSingleApp + plugins/common/common.go ReportSingleApp (stdout) --
  ['network:report <app>', { args: () => ['network:report', A], stdout: () => lines(textOfA()) }],
  ['--format stdout', { args: () => ['network:report', A, '--format', 'stdout'], stdout: () => lines(textOfA()) }],
  [
    '--format before the app',
    { args: () => ['network:report', '--format', 'stdout', B], stdout: () => lines(textOfB()) },
  ],
  ['--global', { args: () => ['network:report', '--global'], stdout: () => lines(textOfGlobal) }],
  // -- ReportSingleApp (json); tests/unit/network.bats "(network:report) --global --format json" --
  ['<app> --format json', { args: () => ['network:report', A, '--format', 'json'], stdout: jsonOfA }],
  ['--format json escapes &', { args: () => ['network:report', B, '--format', 'json'], stdout: () => jsonOfB }],
  [
    '--global --format json',
    { args: () => ['network:report', '--global', '--format', 'json'], stdout: () => jsonOfGlobal },
  ],
  // -- plugins/network/subcommands.go CommandReport: no app, every app of common.DokkuApps in turn --
  ['every app', { args: () => ['network:report'], stdout: () => lines([...textOfA(), ...textOfB()]) }],
  ['every app, json', { args: () => ['network:report', '--format', 'json'], stdout: () => jsonOfA() + jsonOfB }],
  // -- common.ReportSingleApp with an InfoFlag: fmt.Println of the bare value --
  [
    '--network-web-listeners',
    { args: () => ['network:report', A, '--network-web-listeners'], stdout: () => `${listener}\n` },
  ],
  [
    '--network-web-listeners of a static listener',
    { args: () => ['network:report', B, '--network-web-listeners'], stdout: () => '10.0.0.9:8080\n' },
  ],
  [
    '--network-computed-tld',
    { args: () => ['network:report', A, '--network-computed-tld'], stdout: () => 'svc.example\n' },
  ],
  [
    '--network-global-tld',
    { args: () => ['network:report', A, '--network-global-tld'], stdout: () => 'global.example\n' },
  ],
  [
    '--network-bind-all-interfaces',
    { args: () => ['network:report', A, '--network-bind-all-interfaces'], stdout: () => 'true\n' },
  ],
  ['an empty value', { args: () => ['network:report', A, '--network-initial-network'], stdout: () => '\n' }],
  [
    '--global --network-computed-bind-all-interfaces',
    { args: () => ['network:report', '--global', '--network-computed-bind-all-interfaces'], stdout: () => 'false\n' },
  ],
  [
    'a flag before the app',
    { args: () => ['network:report', '--network-static-web-listener', B], stdout: () => '10.0.0.9:8080\n' },
  ],
  [
    'a flag for every app',
    { args: () => ['network:report', '--network-tld'], stdout: () => 'svc.example\nb&c.example\n' },
  ],
  // -- ReportSingleApp: an unknown info flag, then LogFailWithError (plugins/common/log.go), exit 1 --
  [
    'an unknown flag',
    { args: () => ['network:report', A, '--tld'], stdout: () => '', stderr: invalidAppFlag, code: 1 },
  ],
  [
    'an app flag with --global',
    {
      args: () => ['network:report', '--global', '--network-tld'],
      stdout: () => '',
      stderr: invalidGlobalFlag,
      code: 1,
    },
  ],
  [
    '--help is an info flag',
    { args: () => ['network:report', A, '--help'], stdout: () => '', stderr: invalidAppFlag, code: 1 },
  ],
  // -- plugins/common/common.go ParseReportArgs refuses two flags, and subcommands.go case "report" drops the error --
  [
    'two flags: nothing, exit 0',
    { args: () => ['network:report', A, '--network-tld', '--network-computed-tld'], stdout: () => '' },
  ],
  // -- ReportSingleAppInput.Validate, after VerifyAppName and CollectReport --
  [
    '--format json with a flag',
    {
      args: () => ['network:report', A, '--format', 'json', '--network-tld'],
      stdout: () => '',
      stderr: ' !     --format flag cannot be specified when specifying an info flag\n',
      code: 1,
    },
  ],
  [
    '--format xml',
    {
      args: () => ['network:report', A, '--format', 'xml'],
      stdout: () => '',
      stderr: ' !     Format must be "stdout" or "json": "xml"\n',
      code: 1,
    },
  ],
  // -- plugins/common/common.go VerifyAppName: AppDoesNotExist (ExitCode 20), IsValidAppName's message (exit 1) --
  [
    'an app that does not exist',
    {
      args: () => ['network:report', 'no-such-app'],
      stdout: () => '',
      stderr: ' !     App no-such-app does not exist\n',
      code: 20,
    },
  ],
  [
    'an app that does not exist, with --format xml (checked first)',
    {
      args: () => ['network:report', 'no-such-app', '--format', 'xml'],
      stdout: () => '',
      stderr: ' !     App no-such-app does not exist\n',
      code: 20,
    },
  ],
  [
    'a legacy name (_) that does not exist',
    {
      args: () => ['network:report', 'old_app'],
      stdout: () => '',
      stderr: ' !     App old_app does not exist\n',
      code: 20,
    },
  ],
  [
    'an invalid name',
    {
      args: () => ['network:report', 'Bad.App'],
      stdout: () => '',
      stderr:
        ' !     App name must begin with lowercase alphanumeric character, and may only contain lowercase alphanumerics, dots, and hyphens\n',
      code: 1,
    },
  ],
  // -- `dokku --quiet` (plugins/common/functions parse_args: DOKKU_QUIET_OUTPUT=1): LogInfo2Quiet drops the header --
  ['--quiet', { args: () => ['--quiet', 'network:report', A], stdout: () => lines(textOfA().slice(1)) }],
  [
    '--quiet, every app',
    { args: () => ['--quiet', 'network:report'], stdout: () => lines([...textOfA().slice(1), ...textOfB().slice(1)]) },
  ],
  [
    '--quiet with json',
    { args: () => ['--quiet', 'network:report', '--global', '--format', 'json'], stdout: () => jsonOfGlobal },
  ],
  // parse_args sets quiet for a --quiet anywhere, and Dokku still passes it on: an info flag, then invalid
  [
    '--quiet after the command',
    { args: () => ['network:report', A, '--quiet'], stdout: () => '', stderr: invalidAppFlag, code: 1 },
  ],
  // -- pflag (ExitOnError) of the words ParseReportArgs leaves: a short flag prints the usage, then the error, exit 2 --
  [
    'a short flag',
    {
      args: () => ['network:report', A, '-x'],
      stdout: () => '',
      stderr: `${pflagUsage}unknown shorthand flag: 'x' in -x\n`,
      code: 2,
    },
  ],
  ['-h', { args: () => ['network:report', A, '-h'], stdout: () => '', stderr: pflagUsage, code: 0 }],
];

describe('network:report as Dokku 0.38 prints it (netq in Dokku mode)', () => {
  it.each(rows)('%s', async (_label, row) => {
    const res = await runCli(row.args(), env(host.env()));
    expect({ stdout: res.stdout, stderr: res.stderr, code: res.code }).toEqual({
      stdout: row.stdout(),
      stderr: row.stderr ?? '',
      code: row.code ?? 0,
    });
  });

  it('prints the report on a terminal as plain text, byte for byte what it prints into a pipe', async () => {
    // runCliOnTty's pseudo-terminal is a TTY for the CLI: hosts.test.ts sees the progress bar drawn on it
    const e = env(host.env());
    for (const [args, expected] of [
      [['network:report', A], lines(textOfA())],
      [['network:report'], lines([...textOfA(), ...textOfB()])],
      [['network:report', '--global'], lines(textOfGlobal)],
    ] as const) {
      const piped = await runCli([...args], e);
      expect({ ...piped, args }).toEqual({ code: 0, stdout: expected, stderr: '', args });
      const onTty = await runCliOnTty([...args], e);
      expect({ code: onTty.code, args }).toEqual({ code: 0, args });
      expect(onTty.stdout).not.toContain('\x1b');
      expect(onTty.stdout.replaceAll('\r\n', '\n')).toBe(piped.stdout);
    }
  });

  it("warns that no app is deployed on a host without apps, and exits 0 (common.DokkuApps' NoAppsExist)", async () => {
    const empty = await dokkuHost();
    for (const args of [
      ['network:report'],
      ['network:report', '--format', 'json'],
      ['network:report', '--network-tld'],
    ]) {
      const res = await runCli(args, env(empty.env()));
      expect({ stdout: res.stdout, stderr: res.stderr, code: res.code }).toEqual({
        stdout: '',
        stderr: " !     You haven't deployed any applications yet\n",
        code: 0,
      });
    }
    // the global report needs no app
    expect(
      (await runCli(['network:report', '--global', '--network-computed-bind-all-interfaces'], env(empty.env()))).stdout,
    ).toBe('false\n');
  });

  it("keeps netq's additions off Dokku's outputs: --network-drift and --format json-by-app", async () => {
    const e = env(host.env());
    // never rebuilt by netq: what is configured and not yet applied
    const drift = await runCli(['network:report', A, '--network-drift'], e);
    expect(drift).toMatchObject({ code: 0, stderr: '' });
    expect(drift.stdout).toMatch(/^.*tld.* not applied yet: the app has not been rebuilt; run network:rebuild\n$/);
    // not one of Dokku's flags for --global, and not listed among Dokku's valid flags
    expect(await runCli(['network:report', '--global', '--network-drift'], e)).toMatchObject({
      code: 1,
      stderr: invalidGlobalFlag,
    });
    // one object keyed by app, each Dokku's object plus the drift (what GET /v1/report answers)
    const byApp = await runCli(['network:report', '--format', 'json-by-app'], e);
    expect(byApp).toMatchObject({ code: 0, stderr: '' });
    expect(byApp.stdout.endsWith('}\n')).toBe(true);
    const parsed = JSON.parse(byApp.stdout) as Record<string, Record<string, string>>;
    expect(Object.keys(parsed)).toEqual([A, B]);
    expect(parsed[A]).toMatchObject({ tld: 'svc.example', 'network-tld': 'svc.example', 'web-listeners': listener });
    expect(parsed[A]?.drift).toBe(drift.stdout.slice(0, -1));
    expect(parsed[B]?.['network-drift']).toBe(parsed[B]?.drift);
    // `text` is an alias of stdout
    expect((await runCli(['network:report', A, '--format', 'text'], e)).stdout).toBe(lines(textOfA()));
  });
});
