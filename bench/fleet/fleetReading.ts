// The reading of the fleet bench's figures, written out from them: how many hosts and apps one Redis serves
// (the arithmetic), what a Redis Cluster changes, and what grows with the apps or the runs.
import os from 'node:os';
import { HEARTBEAT_MS } from '../../src/liveness.js';
import { EVENTS_KEPT } from '../../src/queue.js';
import { ratio } from '../format.js';
import { f1, f2, kb, mb, type SizeFigures } from './fleetFigures.js';
import { heartbeatShare, workersAtShare } from './heartbeatScaling.js';
import type { FleetSize } from './measureFleet.js';
import { POLL_MS } from './progressPoll.js';

/** How much one Redis serves, from the largest size's figures: the arithmetic, written out. */
export function capacity(sizes: FleetSize[], figs: SizeFigures[]): string[] {
  const s = sizes.at(-1);
  const f = figs.at(-1);
  if (!s || !f) return [];
  const hb = sizes.find((x) => x.heartbeats)?.heartbeats;
  const cpuPerApp = f.redisCpuMsPerApp; // ms of Redis CPU per app per rebuild
  const appsPerCpuS = 1000 / cpuPerApp;
  const idlePerHost = s.idle.redisCpuShare / s.hosts; // share of a core per idle host, at this fleet size
  const idleCallsPerHost = s.idle.redisCallsPerS / s.hosts;
  const quarter = 0.25; // what idle hosts may take of one Redis core
  const hostsLinear = quarter / idlePerHost;
  const perDay = 10; // rebuilds per app per day from events (deploys, restarts, scale)
  const bytes = f.bytesPerAppAtRest;
  const n = (v: number) => v.toLocaleString('en-US', { maximumFractionDigits: 0 });
  const lines = [
    `- **Redis CPU per app rebuild**: ${f2(cpuPerApp)} ms at ${n(f.apps)} apps (Redis's CPU over a rebuildall ÷ apps; ${f1(f.commandsPerApp)} commands per app, inside scripts included). One Redis core absorbs about 1000 ÷ ${f2(cpuPerApp)} ≈ ${n(appsPerCpuS)} app rebuilds per second. Here Redis was busy ${(f.redisBusyShare * 100).toFixed(0)}% of the rebuildall's wall time: the bottleneck on this machine is the workers' CPU (${s.hosts} worker processes on ${os.availableParallelism()} shared cores, ${f2(f.workersCpuMsPerApp)} ms of worker CPU per app). On a real fleet every host's worker has its own CPU, and a rebuildall tends to Redis's bound: ${n(f.apps)} apps × ${f2(cpuPerApp)} ms ≈ ${f1((f.apps * cpuPerApp) / 1000)} s; 100,000 apps ≈ ${n((100_000 * cpuPerApp) / 1000)} s of Redis CPU.`,
    `- **An idle host costs** ${f1(idleCallsPerHost)} Redis commands/s and ${(idlePerHost * 100).toFixed(2)}% of a Redis core (the ${s.hosts}-host fleet at rest: ${n(s.idle.redisCallsPerS)} commands/s, ${(s.idle.redisCpuShare * 100).toFixed(1)}%: heartbeats, BullMQ's blocking waits and stalled-job checks of its 4 queue workers). Linear in the hosts, a quarter of a core would be reached at 25% ÷ ${(idlePerHost * 100).toFixed(2)}% ≈ ${n(hostsLinear)} hosts.`,
  ];
  // the sweep of worker-health runs once a minute since the fleet bench found it O(workers²) per beat: a cost
  // per extra entry within noise (≤ 0.01 µs) is no growth, and is said so rather than extrapolated
  const grows = hb !== undefined && hb.usecPerEntryPerBeat > 0.01;
  if (hb && !grows) {
    lines.push(
      `- **The heartbeat does not grow with the workers.** Measured on the idle fleet with ${n(hb.extraEntries)} more \`worker-health\` entries: ${f2(hb.usecPerEntryPerBeat)} µs per entry per beat (script time ${n(hb.scriptUsecPerS.without)} → ${n(hb.scriptUsecPerS.with)} µs/s), within noise: the sweep of stale entries runs once a minute per installation (workers/pool.ts), not on every beat.`,
    );
  }
  if (hb && grows) {
    const at = (w: number) => `${(heartbeatShare(w, hb.usecPerEntryPerBeat) * 100).toFixed(1)}%`;
    const wq = workersAtShare(quarter, hb.usecPerEntryPerBeat);
    lines.push(
      `- **But the heartbeat grows with the square of the workers.** Each worker's beat (every ${HEARTBEAT_MS / 1000} s) reads and JSON-decodes every entry of \`worker-health\` to drop stale ones (workers/pool.ts, HEARTBEAT_LUA). Measured on the idle fleet with ${n(hb.extraEntries)} more entries: ${f2(hb.usecPerEntryPerBeat)} µs per entry per beat (script time ${n(hb.scriptUsecPerS.without)} → ${n(hb.scriptUsecPerS.with)} µs/s). So W workers cost W ÷ ${HEARTBEAT_MS / 1000} beats/s × W entries × ${f2(hb.usecPerEntryPerBeat)} µs: ${at(100)} of a core at 100 workers, ${at(500)} at 500, ${at(1000)} at 1,000; a quarter of a core at √(0.25 × ${HEARTBEAT_MS / 1000} s ÷ ${f2(hb.usecPerEntryPerBeat)} µs) ≈ ${n(wq)} workers. This, not apps, is what first limits the hosts one Redis serves (the fix, in workers/pool.ts: sweep stale entries from a zset of beat times, \`ZRANGEBYSCORE\` over the stale ones only, or sweep once a minute instead of on every beat).`,
    );
  }
  lines.push(
    `- **Steady state**: at ${perDay} event-driven rebuilds per app per day (deploys, restarts, scaling), 100,000 apps make ${f1((100_000 * perDay) / 86_400)} rebuilds/s × ${f2(cpuPerApp)} ms ≈ ${f1((100_000 * perDay * cpuPerApp) / 86_400 / 10)}% of a core: events do not limit one Redis; fleet-wide rebuildalls (N × ${f2(cpuPerApp)} ms) and the hosts' own cost do.`,
    `- **Memory**: ${n(bytes)} bytes per app at rest at ${n(f.apps)} apps (${n(f.keyBytesPerAppAtRest)} of it in netq's keys, ${f2(f.keysPerAppAtRest)} keys per app); 100,000 apps ≈ ${mb(100_000 * bytes)}. Memory does not limit one Redis; between retentions the completed jobs kept for a day add ${kb(f.bytesPerAppAfterRun - f.bytesPerAppAtRest)} per app (after ${s.memory.rebuildalls} rebuildalls).`,
    `- **So**, on these figures one Redis serves ${hb ? `about ${n(grows ? Math.min(hostsLinear, workersAtShare(quarter, hb.usecPerEntryPerBeat)) : hostsLinear)} hosts (one worker each) before their own upkeep takes a quarter of its core` : `about ${n(hostsLinear)} hosts before their upkeep takes a quarter of its core`}, and any number of apps that a rebuildall may take N × ${f2(cpuPerApp)} ms of Redis CPU for: ${n(appsPerCpuS * 10)} apps per 10 s of rebuildall, ${n(appsPerCpuS * 60)} per minute.`,
    `- **A Redis Cluster** changes availability, not these bounds. netq puts every key of an installation under one hash tag (\`{NETQ_PREFIX}\`, src/keys.ts), so all of it lives in one slot on one master: a Cluster gives failover to a replica, but netq's whole load stays on one node and one core. That is by design: a rebuildall is one BullMQ flow (the summary parent with one scan child per host), and a flow's parent and children must share a slot. Spreading the load needs a prefix per group of hosts, that is separate netq installations (their own workers, CLI target and rebuildall), which netq does not do today.`,
  );
  return lines;
}

/** What grows with the apps or the runs, from the figures, and where it would change. */
export function findings(sizes: FleetSize[], figs: SizeFigures[]): string[] {
  const s = sizes.at(-1);
  const f = figs.at(-1);
  const f0s = figs[0];
  if (!s || !f || !f0s) return [];
  const kind = (k: string) => s.memory.atRest.byKind.find((x) => x.kind === k);
  const per = (k: string) => (kind(k)?.bytes ?? 0) / s.apps;
  const each = (k: string) => {
    const x = kind(k);
    return x?.entries ? x.bytes / x.entries : Number.NaN;
  };
  const bytesOf = (k: string) => kind(k)?.bytes ?? 0;
  const entriesOf = (k: string) => kind(k)?.entries ?? 0;
  const perRun =
    (bytesOf('summary queue: events stream') + bytesOf('scan queue: events stream')) / s.apps / s.memory.rebuildalls;
  const barGrowth = f.tty.barUsecPerApp / f0s.tty.barUsecPerApp;
  const appsGrowth = f.apps / f0s.apps;
  const out: string[] = [];
  out.push(
    `- **Events streams at rest.** Of the ${n0(f.keyBytesPerAppAtRest)} bytes per app in netq's keys at rest, ${n0(f.streamBytesPerAppAtRest)} are BullMQ's events streams, which job retention does not touch. netq caps each by its queue's kind (src/queue.ts \`EVENTS_KEPT\`: summary ${EVENTS_KEPT.summary}, scan ${EVENTS_KEPT.scan}, rebuild ${n0(EVENTS_KEPT.rebuild)}, control ${n0(EVENTS_KEPT.control)} events). A \`completed\` entry carries the job's return value, so every rebuildall adds its results to the summary stream (${mb(bytesOf('summary queue: events stream'))} after ${s.memory.rebuildalls} rebuildalls of ${n0(s.apps)} apps) and its hosts' results to the ${s.hosts} scan streams (${mb(bytesOf('scan queue: events stream'))}): about ${n0(perRun)} bytes per app per rebuildall while under the caps (${n0(entriesOf('summary queue: events stream'))} summary entries now; BullMQ trims approximately, \`MAXLEN ~\`, so a stream may run past its cap before it is cut). That, not the apps' own keys, is the most netq keeps at rest on a fleet that runs many rebuildalls; a smaller cap, or a summary job that returns counts only and leaves the per-app results to its children, would bound it. Each host's rebuild stream holds ${n0(entriesOf('rebuild queue: events stream') / s.hosts)} entries × ${n0(each('rebuild queue: events stream'))} bytes ≈ ${mb(bytesOf('rebuild queue: events stream') / s.hosts)}.`,
  );
  out.push(
    barGrowth < appsGrowth / 2
      ? `- **The progress bar does not grow with the apps.** On a terminal the CLI polls the run's counts every ${POLL_MS} ms (src/store/runProgress.ts: a count and a small hash per run, not one field per app): ${f2(f0s.tty.pollUsec / 1000)} ms of Redis per poll at ${n0(f0s.apps)} apps, ${f2(f.tty.pollUsec / 1000)} ms at ${n0(f.apps)}; per app ${f2(f0s.tty.barUsecPerApp)} → ${f2(f.tty.barUsecPerApp)} µs (${ratio(barGrowth)} over ${ratio(appsGrowth)} the apps, as a run's length grows), against ${f2(f.redisCpuMsPerApp * 1000)} µs for the rebuild itself. The CLI: ${f2(f.tty.cliCpuS)} s of CPU on a terminal, ${f2(f.cliCpuS)} s without.`
      : `- **The progress bar costs Redis O(apps) per poll, so O(apps²) per run**: ${f2(f0s.tty.pollUsec / 1000)} ms per poll at ${n0(f0s.apps)} apps, ${f2(f.tty.pollUsec / 1000)} ms at ${n0(f.apps)}; per app ${f2(f0s.tty.barUsecPerApp)} → ${f2(f.tty.barUsecPerApp)} µs (${ratio(barGrowth)} over ${ratio(appsGrowth)} the apps), against ${f2(f.redisCpuMsPerApp * 1000)} µs for the rebuild itself (src/store/runProgress.ts, producers/client.ts \`readProgress\`).`,
  );
  const attachedOn = kind('attached-on')?.keys ?? 0;
  out.push(
    `- **Keys per app at rest**: ${f2(f.keysPerAppAtRest)}. Besides its field in \`netconfig\` (${n0(per('netconfig'))} bytes per app), each app has an \`app-hosts:<app>\` set (${n0(per('app-hosts'))} bytes per app, read to find where an app lives)${attachedOn > s.attached * 1.5 ? `, and an \`attached-on:<app>\` hash (${n0(per('attached-on'))} bytes per app) written by every rebuild even when it holds \`[]\` (src/rebuildApp.ts): ${n0(attachedOn)} such keys for ${n0(s.attached)} apps with an attach network` : `; \`attached-on:<app>\` exists only for apps with an attach network (${n0(attachedOn)} keys, ${n0(s.attached)} such apps)`}.`,
  );
  return out;
}

const n0 = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-');
