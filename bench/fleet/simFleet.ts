// SIMULATED: the process that runs the fleet bench's simulated Docker engines (bench/fleet/simEngine.ts), one
// per simulated host, each on its own unix socket; never used by the tests. The bench starts it as a child
// (bench/fleet/fleetEngines.ts) so that the engines' CPU is its own, measurable apart from netq's.
//
//   node --import tsx bench/fleet/simFleet.ts '<FleetSpec as JSON>'
//
// Prints one line `ready` once every engine listens. Then reads commands on stdin, one per line, and answers
// each with one JSON line on stdout: `calls` (each engine's call counts so far), `churn <n>` (restarts per
// minute per engine; 0 stops). Stdin closing, SIGTERM or SIGINT close the engines and end the process.
import { createInterface } from 'node:readline';
import { type FleetSpec, socketOf } from './fleetSpec.js';
import { SimEngine } from './simEngine.js';

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as FleetSpec;
  const engines = spec.hosts.map(
    (host) =>
      new SimEngine({ socketPath: socketOf(spec.dir, host), shape: { ...spec.shape, host }, latency: spec.latency }),
  );
  await Promise.all(engines.map((e) => e.listen()));
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= Promise.allSettled(engines.map((e) => e.close())).then(() => process.exit(0));
    return closing;
  };
  process.once('SIGTERM', close);
  process.once('SIGINT', close);
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const [cmd, arg] = line.trim().split(/\s+/);
    if (cmd === 'calls') {
      process.stdout.write(`${JSON.stringify(Object.fromEntries(engines.map((e) => [e.host.shape.host, e.calls])))}\n`);
    } else if (cmd === 'churn') {
      for (const e of engines) e.churn(Number(arg ?? 0));
      process.stdout.write('{"ok":true}\n');
    } else {
      process.stdout.write(`${JSON.stringify({ error: `unknown command ${cmd}` })}\n`);
    }
  });
  lines.on('close', close);
  process.stdout.write('ready\n');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
