// The fleet bench's figures of one size (medians over its rounds, per app) and how the report writes numbers.
import { median } from '../stats.js';
import type { FleetSize } from './measureFleet.js';
import { POLL_MS } from './progressPoll.js';

/** One size's figures, medians over its rounds. */
export interface SizeFigures {
  apps: number;
  wallMs: number;
  wallMinMs: number;
  wallMaxMs: number;
  msPerApp: number;
  inQueueMsPerApp: number;
  enqueueMs: number;
  hostsMsPerApp: number;
  summaryRunMs: number;
  answerMs: number;
  scanListMs: number;
  appJobMs: number;
  appJobP95Ms: number;
  commandsPerApp: number;
  scriptsPerApp: number;
  redisCpuMsPerApp: number;
  workersCpuMsPerApp: number;
  enginesCpuMsPerApp: number;
  cliCpuS: number;
  dockerCallsPerApp: number;
  inspectsPerApp: number;
  listCalls: number;
  cliRssPeakMb: number;
  cliRssMedianMb: number;
  /** (used_memory − empty Redis) ÷ apps */
  bytesPerAppAfterRun: number;
  bytesPerAppAtRest: number;
  /** MEMORY USAGE of netq's keys at rest ÷ apps (what the data costs, without Redis's own overhead) */
  keyBytesPerAppAtRest: number;
  keysPerAppAtRest: number;
  /** of bytesPerAppAtRest: the clients' buffers (the workers' connections), and the queues' events streams */
  clientBytesPerAppAtRest: number;
  streamBytesPerAppAtRest: number;
  /** Redis's CPU over the rebuildall's wall time */
  redisBusyShare: number;
  /**
   * the round on a terminal (progress bar on): its progress polls (wall ÷ POLL_MS), what one costs Redis
   * (HGETALL of a hash with a field per app), and so what the bar costs Redis per app
   */
  tty: { wallMs: number; polls: number; pollUsec: number; barUsecPerApp: number; cliCpuS: number };
}

/** CPU of every process of the fleet per app: what the rebuildall costs whatever else the machine runs. */
export const cpuPerApp = (f: SizeFigures) =>
  f.workersCpuMsPerApp + f.redisCpuMsPerApp + f.enginesCpuMsPerApp + (f.cliCpuS * 1000) / f.apps;

export function figures(s: FleetSize): SizeFigures {
  const m = (f: (r: FleetSize['rounds'][number]) => number) => median(s.rounds.map(f));
  const walls = s.rounds.map((r) => r.wallMs);
  const docker = (r: FleetSize['rounds'][number]) => Object.values(r.docker).reduce((a, b) => a + b, 0);
  const keyBytes = s.memory.atRest.byKind.reduce((a, k) => a + k.bytes, 0);
  return {
    apps: s.apps,
    wallMs: median(walls),
    wallMinMs: Math.min(...walls),
    wallMaxMs: Math.max(...walls),
    msPerApp: median(walls) / s.apps,
    inQueueMsPerApp: m((r) => r.inQueueMs) / s.apps,
    enqueueMs: m((r) => r.steps.enqueueMs),
    hostsMsPerApp: m((r) => r.steps.hostsMs) / s.apps,
    summaryRunMs: m((r) => r.steps.summaryRunMs),
    answerMs: m((r) => r.steps.answerMs),
    scanListMs: m((r) => r.steps.scanListMs),
    appJobMs: m((r) => r.steps.appJobMs),
    appJobP95Ms: m((r) => r.steps.appJobP95Ms),
    commandsPerApp: m((r) => r.redis.calls) / s.apps,
    scriptsPerApp: m((r) => r.redis.scripts) / s.apps,
    redisCpuMsPerApp: (m((r) => r.cpuS.redis) * 1000) / s.apps,
    workersCpuMsPerApp: (m((r) => r.cpuS.workers) * 1000) / s.apps,
    enginesCpuMsPerApp: (m((r) => r.cpuS.engines) * 1000) / s.apps,
    cliCpuS: m((r) => r.cpuS.cli),
    dockerCallsPerApp: m(docker) / s.apps,
    inspectsPerApp: m((r) => r.docker['GET /containers/:id/json'] ?? 0) / s.apps,
    listCalls: m((r) => r.docker['GET /containers/json'] ?? 0),
    cliRssPeakMb: Math.max(...s.rounds.map((r) => r.cliRss.peakMb)),
    cliRssMedianMb: m((r) => r.cliRss.medianMb),
    bytesPerAppAfterRun: (s.memory.afterRun.usedMemory - s.memory.empty) / s.apps,
    bytesPerAppAtRest: (s.memory.atRest.usedMemory - s.memory.empty) / s.apps,
    keyBytesPerAppAtRest: keyBytes / s.apps,
    keysPerAppAtRest: s.memory.atRest.keys / s.apps,
    clientBytesPerAppAtRest: s.memory.atRest.memClients / s.apps,
    streamBytesPerAppAtRest:
      s.memory.atRest.byKind.filter((k) => k.kind.endsWith('events stream')).reduce((a, k) => a + k.bytes, 0) / s.apps,
    redisBusyShare: m((r) => r.cpuS.redis / (r.wallMs / 1000)),
    tty: {
      wallMs: s.ttyRound.wallMs,
      polls: s.ttyRound.wallMs / POLL_MS,
      pollUsec: s.progressPoll.usec,
      barUsecPerApp: ((s.ttyRound.wallMs / POLL_MS) * s.progressPoll.usec) / s.apps,
      cliCpuS: s.ttyRound.cpuS.cli,
    },
  };
}

export const f1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '-');
export const f2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '-');
export const f0 = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-');
export const kb = (bytes: number) => `${(bytes / 1024).toFixed(2)} KB`;
export const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
