import { hosts as hostsOperation } from '../operations/hosts.js';
import { formatOption, print, type RegisterCommand, withOperations } from './commandContext.js';

/** `netq hosts`: the Docker hosts netq knows, with their live workers, apps and last heartbeat. */
export const registerHosts: RegisterCommand = (program, ctx) => {
  program
    .command('hosts')
    .description('list the hosts with their live workers, apps and last heartbeat')
    .addOption(formatOption())
    .action(async (flags: { format: 'text' | 'json' }) => {
      // ages by Redis's clock, the one heartbeats are stamped with
      const { hosts, now } = await withOperations(ctx.getConfig, 30, hostsOperation);
      if (flags.format === 'json') {
        print(JSON.stringify(hosts));
        return;
      }
      if (hosts.length === 0) {
        process.stderr.write(' !     No host has sent a heartbeat yet: start `netq worker`\n');
        return;
      }
      const rows = [
        ['host', 'live', 'workers', 'apps', 'last heartbeat', 'event watchers'],
        ...hosts.map((h) => [
          h.host,
          h.live ? 'yes' : 'no',
          String(h.workers),
          String(h.apps),
          `${Math.round((now - h.lastHeartbeat) / 1000)}s ago`,
          h.watchers.join(' ') || '-',
        ]),
      ];
      const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
      print(
        [
          '=====> Hosts',
          ...rows.map(
            (r) =>
              `       ${r
                .map((c, i) => c.padEnd(widths[i] ?? 0))
                .join('  ')
                .trimEnd()}`,
          ),
        ].join('\n'),
      );
    });
};
