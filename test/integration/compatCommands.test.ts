import { stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureDokkuUser, useDokkuHosts } from '../dokkuHost.js';
import { appName, configOf, runCli, startPool, useTestEnvs } from '../helpers.js';

/**
 * `network:set`, `network:rebuild` and `network:rebuildall` against Dokku 0.38's own output, byte for byte,
 * in Dokku mode. The expected bytes come from Dokku's source: plugins/network/subcommands.go (CommandSet,
 * CommandRebuildall), plugins/common/properties.go (CommandPropertySet), plugins/common/common.go
 * (VerifyAppName, AppDoesNotExist: exit 20), plugins/common/log.go (LogInfo2Quiet `=====> `, LogFail ` !     `),
 * plugins/network/network.go (BuildConfig's LogInfo1 `-----> Ensuring …`).
 */
const env = useTestEnvs({ docker: true });
const dokkuHost = useDokkuHosts();

interface Row {
  args: string[];
  stdout: string;
  stderr: string;
  code: number;
}

const PROPS = 'attach-post-create, attach-post-deploy, bind-all-interfaces, initial-network, static-web-listener, tld';

describe("Dokku's network:set, rebuild and rebuildall, byte for byte", () => {
  it('network:set prints and refuses as Dokku does, and stores what Dokku stores', async () => {
    const { uid } = await ensureDokkuUser();
    const host = await dokkuHost();
    const e = env(host.env());
    const app = appName('set');
    const legacy = `${appName('legacy')}_old`;
    await host.createApp(app);
    await host.createApp(legacy);
    const missing = appName('missing');
    const rows: Row[] = [
      // CommandPropertySet: LogInfo2Quiet before the write
      {
        args: ['network:set', app, 'tld', 'svc.test', '--no-apply'],
        stdout: '=====> Setting tld to svc.test\n',
        stderr: '',
        code: 0,
      },
      { args: ['network:set', app, 'tld', '--no-apply'], stdout: '=====> Unsetting tld\n', stderr: '', code: 0 },
      // CommandSet joins attach networks with ",", and takes nothing but the first value of other keys
      {
        args: ['network:set', app, 'attach-post-create', 'net-a', 'net-b', '--no-apply'],
        stdout: '=====> Setting attach-post-create to net-a,net-b\n',
        stderr: '',
        code: 0,
      },
      {
        args: ['network:set', app, 'initial-network', 'net-c', 'net-d', '--no-apply'],
        stdout: '=====> Setting initial-network to net-c\n',
        stderr: '',
        code: 0,
      },
      {
        args: ['network:set', app, 'static-web-listener', '[::1]:8080', '--no-apply'],
        stdout: '=====> Setting static-web-listener to [::1]:8080\n',
        stderr: '',
        code: 0,
      },
      {
        args: ['network:set', legacy, 'tld', 'old.test', '--no-apply'],
        stdout: '=====> Setting tld to old.test\n',
        stderr: '',
        code: 0,
      },
      {
        args: ['network:set', '--global', 'tld', 'g.test', '--no-apply'],
        stdout: '=====> Setting tld to g.test\n',
        stderr: '',
        code: 0,
      },
      // the global --quiet silences the =====> line (DOKKU_QUIET_OUTPUT)
      {
        args: ['--quiet', 'network:set', app, 'bind-all-interfaces', 'true', '--no-apply'],
        stdout: '',
        stderr: '',
        code: 0,
      },
      // refusals, in CommandSet's order: VerifyAppName, attach names, then CommandPropertySet's checks
      {
        args: ['network:set', missing, 'tld', 'x.test'],
        stdout: '',
        stderr: ` !     App ${missing} does not exist\n`,
        code: 20,
      },
      {
        args: ['network:set', missing, 'bogus', 'x'],
        stdout: '',
        stderr: ` !     App ${missing} does not exist\n`,
        code: 20,
      },
      {
        args: ['network:set', app, 'attach-post-create', 'host'],
        stdout: '',
        stderr: ' !     Invalid network name specified for attach: host\n',
        code: 1,
      },
      {
        args: ['network:set', app, 'attach-post-deploy', 'bridge'],
        stdout: '',
        stderr: ' !     Invalid network name specified for attach: bridge\n',
        code: 1,
      },
      {
        args: ['network:set', '--global', 'static-web-listener', '10.0.0.1:80'],
        stdout: '',
        stderr: ' !     Property cannot be specified globally\n',
        code: 1,
      },
      { args: ['network:set', app], stdout: '', stderr: ' !     No property specified\n', code: 1 },
      {
        args: ['network:set', app, 'colour', 'red'],
        stdout: '',
        stderr: ` !     Invalid property specified, valid properties include: ${PROPS}\n`,
        code: 1,
      },
      {
        args: ['network:set', app, 'attach-post-deploy', 'net-b', '--no-apply'],
        stdout: '',
        stderr: ' !     Network name already associated with this app: net-b\n',
        code: 1,
      },
    ];
    for (const row of rows) {
      const res = await runCli(row.args, e);
      expect({ stdout: res.stdout, stderr: res.stderr, code: res.code }, row.args.join(' ')).toEqual({
        stdout: row.stdout,
        stderr: row.stderr,
        code: row.code,
      });
    }
    // --trace: the same output, and on stderr what netq runs with (the Redis password never shown)
    const traced = await runCli(['--trace', 'network:set', app, 'tld', 't.test', '--no-apply'], e);
    expect(traced.stdout).toBe('=====> Setting tld to t.test\n');
    expect(traced.stderr.split('\n')).toEqual([
      `+ netq --trace network:set ${app} tld t.test --no-apply`,
      expect.stringMatching(
        new RegExp(`^\\+ REDIS_URL=\\S+ NETQ_PREFIX=\\S+ NETQ_HOST_ID=local NETQ_DOKKU_ROOT=${host.root} `),
      ),
      '',
    ]);
    await runCli(['network:set', app, 'tld', '--no-apply'], e);
    // what Dokku's PropertyWrite leaves: the value without a newline, 0600, owned by dokku
    expect(await host.getProperty(app, 'attach-post-create')).toBe('net-a,net-b');
    expect(await host.getProperty(app, 'initial-network')).toBe('net-c');
    expect(await host.getProperty(app, 'static-web-listener')).toBe('[::1]:8080');
    expect(await host.getProperty(app, 'bind-all-interfaces')).toBe('true');
    expect(await host.getProperty(app, 'tld')).toBeUndefined();
    expect(await host.getProperty(legacy, 'tld')).toBe('old.test');
    expect(await host.getProperty('--global', 'tld')).toBe('g.test');
    const file = await stat(path.join(host.libRoot, 'config/network', app, 'attach-post-create'));
    expect({ uid: file.uid, mode: file.mode & 0o777 }).toEqual({ uid, mode: 0o600 });
    await expect(stat(path.join(host.libRoot, 'config/network', missing))).rejects.toThrow(/ENOENT/);
  });

  it("network:rebuild starts with Dokku's line for a deployed app; rebuildall with no app says so", async () => {
    const host = await dokkuHost();
    const e = env(host.env());
    await startPool(configOf(e));
    // no app at all: CommandRebuildall's warning, exit 0
    expect(await runCli(['network:rebuildall'], e)).toEqual({
      code: 0,
      stdout: '',
      stderr: " !     You haven't deployed any applications yet\n",
    });
    const app = appName('rb');
    await host.createApp(app);
    const idle = await runCli(['network:rebuild', app], e);
    expect(idle.code).toBe(0);
    expect(idle.stdout).not.toContain('----->'); // BuildConfig returns before its line: not deployed
    await host.deploy(app, { checksMs: 50, waitToRetireMs: 100 });
    const res = await runCli(['network:rebuild', app], e);
    expect(res.code).toBe(0);
    expect(res.stderr).toBe('');
    expect(res.stdout.split('\n')[0]).toBe(`-----> Ensuring network configuration is in sync for ${app}`);
    const all = await runCli(['--quiet', 'network:rebuildall'], e);
    expect(all.code).toBe(0);
    // LogInfo1 (not the Quiet variant): printed even with --quiet, once per deployed app; netq's own
    // =====> lines are quiet
    expect(all.stdout.split('\n').filter((l) => l.startsWith('----->'))).toEqual([
      `-----> Ensuring network configuration is in sync for ${app}`,
    ]);
    expect(all.stdout).not.toContain('=====>');
  });
});
