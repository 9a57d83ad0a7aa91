import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { BadInputError, ExitError, quoteInput } from '../../src/errors.js';
import {
  describeZodError,
  JOB,
  type NetworkJob,
  type NetworkListJob,
  networkJobSchema,
  networkListJobSchema,
  networkNameSchema,
} from '../../src/jobs.js';
import type { NetqQueues } from '../../src/queue.js';
import type { NetworkFacts } from '../../src/types.js';
import {
  DOCKER_NETWORKS,
  type NetworkDestroyResult,
  type NetworkExistsResult,
} from '../../workers/control/networks.js';
import { hostForCommand, runControl } from '../client.js';
import { formatNetworkInfo, formatNetworkList } from '../format-networks.js';
import { checkHost, formatOption, print, type RegisterCommand, timeoutOption, withQueues } from './shared.js';

interface NetworkFlags {
  host?: string;
  format: 'text' | 'json';
  timeout: number;
}

/** Checks a network name before anything connects: one line, exit 1. */
function checkNetworkName(network: string): void {
  const parsed = networkNameSchema.safeParse(network);
  if (!parsed.success) {
    throw new BadInputError(`invalid network name ${quoteInput(network)}: ${describeZodError(parsed.error)}`);
  }
}

function refuseDockerNetwork(network: string, action: string): void {
  if (DOCKER_NETWORKS.includes(network)) {
    throw new BadInputError(`cannot ${action} ${network}: it is one of Docker's own networks`);
  }
}

/** Runs one network:* job on the host's control queue and returns its result. */
async function control<T>(q: NetqQueues, host: string, name: string, data: unknown, timeoutS: number): Promise<T> {
  const { result } = await runControl<T>(q, host, name, data, { wait: true, timeoutMs: timeoutS * 1000 });
  return result as T;
}

async function networkJob(q: NetqQueues, network: string, flags: NetworkFlags, force?: boolean): Promise<NetworkJob> {
  const host = await hostForCommand(q, flags.host);
  return networkJobSchema.parse({ host, network, ...(force === undefined ? {} : { force }) });
}

/**
 * Dokku's destructive-action prompt, on stderr so stdout stays the command's output: the network's
 * name or `y` confirms; anything else, end of input or Ctrl-C refuses.
 */
async function confirmDestroy(network: string): Promise<boolean> {
  process.stderr.write(
    ` !     WARNING: Potentially Destructive Action\n !     This command will destroy network ${network}.\n`,
  );
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.on('close', () => resolve(''));
      rl.on('SIGINT', () => {
        process.stderr.write('\n');
        resolve('');
      });
      rl.question(`Destroy network ${network}? Type its name or y to confirm [y/N] `, resolve);
    });
    const a = answer.trim();
    return a === network || a.toLowerCase() === 'y' || a.toLowerCase() === 'yes';
  } finally {
    rl.close();
  }
}

const networkCommand = (program: Command, name: string, description: string) =>
  program
    .command(name)
    .description(description)
    .option('--host <host>', 'the Docker host (default: the only live host)')
    .addOption(formatOption())
    .addOption(timeoutOption());

/** `network:create|destroy|exists|info|list`: jobs on the host's control queue, answered by its worker. */
export const registerNetworks: RegisterCommand = (program, ctx) => {
  networkCommand(program, 'network:create', 'create an attachable bridge network labelled for Dokku')
    .argument('<network>', 'network name')
    .action(async (network: string, flags: NetworkFlags) => {
      checkNetworkName(network);
      refuseDockerNetwork(network, 'create network');
      checkHost(flags.host);
      const facts = await withQueues(ctx.getConfig(), flags.timeout, async (q) => {
        const data = await networkJob(q, network, flags);
        return control<NetworkFacts>(q, data.host, JOB.networkCreate, data, flags.timeout);
      });
      print(flags.format === 'json' ? JSON.stringify(facts) : `=====> Creating network ${network}`);
    });

  networkCommand(program, 'network:destroy', 'destroy a network that no container is attached to')
    .usage('<network> [--force]')
    .argument('<network>', 'network name')
    .option('-f, --force', 'do not ask for confirmation')
    .action(async (network: string, flags: NetworkFlags & { force?: boolean }) => {
      checkNetworkName(network);
      refuseDockerNetwork(network, 'destroy network');
      checkHost(flags.host);
      const force = flags.force === true;
      if (!force && !process.stdin.isTTY) {
        throw new BadInputError(
          `network:destroy asks for confirmation and stdin is not a terminal: pass --force to destroy network ${network}`,
        );
      }
      const result = await withQueues(ctx.getConfig(), flags.timeout, async (q) => {
        const data = await networkJob(q, network, flags, force);
        if (!force) {
          // like Dokku: a missing network fails before the question is asked
          const found = await control<NetworkExistsResult>(
            q,
            data.host,
            JOB.networkExists,
            { host: data.host, network },
            flags.timeout,
          );
          if (!found) throw new BadInputError(`network ${network} does not exist`);
          if (!(await confirmDestroy(network))) {
            throw new BadInputError(`confirmation did not match ${network}: aborted`);
          }
        }
        return control<NetworkDestroyResult>(q, data.host, JOB.networkDestroy, data, flags.timeout);
      });
      print(flags.format === 'json' ? JSON.stringify(result) : `=====> Destroying network ${network}`);
    });

  networkCommand(program, 'network:exists', 'exit 0 when a network exists, 1 when it does not')
    .argument('<network>', 'network name')
    .action(async (network: string, flags: NetworkFlags) => {
      checkNetworkName(network);
      checkHost(flags.host);
      const found = await withQueues(ctx.getConfig(), flags.timeout, async (q) => {
        const data = await networkJob(q, network, flags);
        return control<NetworkExistsResult>(q, data.host, JOB.networkExists, data, flags.timeout);
      });
      if (flags.format === 'json') print(JSON.stringify({ network, exists: found }));
      else print(found ? `Network ${network} exists` : `Network ${network} does not exist`);
      if (!found) throw new ExitError(1);
    });

  networkCommand(program, 'network:info', "show a network's driver, labels and attached containers")
    .usage('<network> [--format text|json]')
    .argument('<network>', 'network name')
    .action(async (network: string, flags: NetworkFlags) => {
      checkNetworkName(network);
      checkHost(flags.host);
      const facts = await withQueues(ctx.getConfig(), flags.timeout, async (q) => {
        const data = await networkJob(q, network, flags);
        return control<NetworkFacts>(q, data.host, JOB.networkInfo, data, flags.timeout);
      });
      print(flags.format === 'json' ? JSON.stringify(facts) : formatNetworkInfo(facts));
    });

  networkCommand(program, 'network:list', 'list the networks of a host')
    .usage('[--format text|json] [--managed]')
    .option('--managed', 'only networks created for Dokku (labelled com.dokku.network-name)')
    .action(async (flags: NetworkFlags & { managed?: boolean }) => {
      checkHost(flags.host);
      const list = await withQueues(ctx.getConfig(), flags.timeout, async (q) => {
        const host = await hostForCommand(q, flags.host);
        const data: NetworkListJob = networkListJobSchema.parse({
          host,
          ...(flags.managed ? { managed: true } : {}),
        });
        return control<NetworkFacts[]>(q, host, JOB.networkList, data, flags.timeout);
      });
      print(flags.format === 'json' ? JSON.stringify(list) : formatNetworkList(list));
    });
};
