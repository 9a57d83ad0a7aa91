// The chaos soak's figures (scripts/soak.ts): the JSON it writes with --json, the verdict of each invariant, and
// the summary table it prints.
import { FAULT_KINDS, FAULT_TITLES, type FaultKind, type FaultRecord } from './soak-faults.js';

export interface RssFigure {
  worker: string;
  /** median VmRSS (kB) over 20 s after warm-up, and over the last 20 s */
  warmKb: number;
  endKb: number;
  /** undefined when the process did not live long enough for both windows */
  ratio: number | undefined;
  note: string;
}

export interface SoakReport {
  minutes: number;
  seed: number;
  netq: string;
  startedAt: string;
  chaosS: number;
  totalS: number;
  apps: number;
  containers: number;
  faults: Record<FaultKind, { injected: number; survived: number; maxRecoveryMs: number | null; notes: string[] }>;
  producer: {
    rebuilds: number;
    sets: number;
    rebuildalls: number;
    deploys: number;
    /** deploys a fault cut short (then deployed again) */
    deploysCut: number;
    /** CLI calls that Redis being down refused, as they should (nothing queued) */
    refusedWhileRedisDown: number;
    /** CLI calls and deploys that failed with no fault to explain it */
    unexplained: string[];
  };
  jobs: {
    tracked: number;
    completed: number;
    failed: number;
    lost: string[];
    failedWithoutReason: string[];
    /** every queue at the end, after the drain: jobs not completed or failed */
    stuck: Record<string, Record<string, number>>;
    /** every job in the queues at the end, by queue and state */
    all: Record<string, Record<string, number>>;
    failedReasons: Record<string, number>;
  };
  files: {
    files: number;
    samples: number;
    checks: number;
    blindSamples: number;
    violations: number;
    violationDetails: string[];
    longestWrongOutsideMs: number;
    longestWrongInFaultMs: number;
    longestWrongInFault: string;
    /** after the drain: files that are still wrong */
    finalWrong: string[];
  };
  overlaps: { stretches: number; found: string[] };
  hooks: {
    runs: number;
    stalledRuns: number;
    maxWaitMs: number;
    limitMs: number;
    overLimit: string[];
    leftBehind: number;
  };
  rss: RssFigure[];
  redisKeys: {
    before: number;
    after: number;
    extra: string[];
    missing: string[];
    workerHealthBefore: number;
    workerHealthAfter: number;
  };
  workers: {
    started: number;
    unexpectedExits: string[];
    errorLines: number;
    firstErrors: string[];
    stopExit: string[];
    /** failed job attempts as the workers logged them (retried, or for good), by queue and reason */
    jobFailures: Record<string, number>;
    /** SIGKILLs that found the worker holding an app's lock or active job, and those apps in all */
    killsMidJob: number;
    appsHeldAtKills: number;
  };
  checks: { name: string; ok: boolean; detail: string }[];
  ok: boolean;
}

export function faultSummary(records: FaultRecord[]): SoakReport['faults'] {
  const out = {} as SoakReport['faults'];
  for (const kind of FAULT_KINDS) {
    const rs = records.filter((r) => r.kind === kind);
    const rec = rs.map((r) => r.recoveredMs).filter((m): m is number => m !== undefined);
    out[kind] = {
      injected: rs.length,
      survived: rs.filter((r) => r.survived).length,
      maxRecoveryMs: rec.length ? Math.max(...rec) : null,
      notes: rs.filter((r) => !r.survived).map((r) => r.note),
    };
  }
  return out;
}

/** The verdict of each invariant; the soak fails when one of them does. */
export function verdicts(r: Omit<SoakReport, 'checks' | 'ok'>, rssLimit: number): SoakReport['checks'] {
  const checks: SoakReport['checks'] = [];
  const add = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });
  add(
    'IP files right within 2 s',
    r.files.violations === 0 && r.files.finalWrong.length === 0,
    `${r.files.violations} violations in ${r.files.checks} checks; ${r.files.finalWrong.length} wrong after the drain`,
  );
  const stuck = Object.values(r.jobs.stuck).reduce((n, s) => n + Object.values(s).reduce((a, b) => a + b, 0), 0);
  add(
    'no job lost',
    r.jobs.lost.length === 0 && r.jobs.failedWithoutReason.length === 0 && stuck === 0,
    `${r.jobs.tracked} tracked: ${r.jobs.completed} completed, ${r.jobs.failed} failed with a reason, ` +
      `${r.jobs.lost.length} lost, ${r.jobs.failedWithoutReason.length} failed without one; ${stuck} stuck in the queues`,
  );
  add(
    'one app worked on by one job at a time',
    r.overlaps.found.length === 0,
    `${r.overlaps.found.length} overlaps in ${r.overlaps.stretches} stretches of work`,
  );
  const judged = r.rss.filter((x) => x.ratio !== undefined);
  add(
    `worker RSS at the end within ${Math.round((rssLimit - 1) * 100)}% of warm-up`,
    judged.length > 0 && judged.every((x) => (x.ratio ?? 0) <= rssLimit),
    r.rss.map((x) => `${x.worker} ${x.ratio === undefined ? 'n/a' : `x${x.ratio.toFixed(2)}`}`).join(', '),
  );
  add(
    'Redis keys back to baseline',
    r.redisKeys.after === r.redisKeys.before && r.redisKeys.extra.length === 0,
    `${r.redisKeys.before} before, ${r.redisKeys.after} after` +
      `${r.redisKeys.extra.length ? `; extra: ${r.redisKeys.extra.slice(0, 5).join(', ')}` : ''}`,
  );
  const kinds = FAULT_KINDS.map((k) => r.faults[k]);
  add(
    'every fault survived',
    kinds.every((f) => f.injected > 0 && f.survived === f.injected),
    FAULT_KINDS.map((k) => `${k} ${r.faults[k].survived}/${r.faults[k].injected}`).join(', '),
  );
  add(
    'no worker crashed; each stopped cleanly',
    r.workers.unexpectedExits.length === 0 && r.workers.stopExit.every((s) => s.endsWith('exit 0')),
    `${r.workers.started} worker processes; ${r.workers.unexpectedExits.length} unexpected exits; stop: ${r.workers.stopExit.join(', ')}`,
  );
  add(
    'every producer failure explained by a fault',
    r.producer.unexplained.length === 0,
    `${r.producer.unexplained.length} unexplained; ${r.producer.refusedWhileRedisDown} refused while Redis was down`,
  );
  return checks;
}

const pad = (s: string, n: number) => s.padEnd(n);
const secs = (ms: number | null | undefined) => (ms === null || ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);
const mb = (kb: number) => `${(kb / 1024).toFixed(1)} MB`;

/** The summary table. */
export function formatReport(r: SoakReport): string {
  const out: string[] = [];
  out.push(
    `netq chaos soak: ${r.minutes} min of chaos (${r.chaosS} s, ${r.totalS} s in all), ${r.apps} apps / ` +
      `${r.containers} containers, 2 worker processes, seed ${r.seed}, netq ${r.netq}`,
    '',
    `| ${pad('fault', 26)} | injected | survived | longest until files right |`,
    `| ${'-'.repeat(26)} | -------- | -------- | ------------------------- |`,
  );
  for (const k of FAULT_KINDS) {
    const f = r.faults[k];
    out.push(
      `| ${pad(FAULT_TITLES[k], 26)} | ${pad(String(f.injected), 8)} | ${pad(String(f.survived), 8)} | ${pad(secs(f.maxRecoveryMs), 25)} |`,
    );
  }
  const p = r.producer;
  const rows: [string, string][] = [
    [
      'producer',
      `${p.rebuilds} network:rebuild, ${p.sets} network:set tld, ${p.rebuildalls} network:rebuildall, ` +
        `${p.deploys} deploys (${p.deploysCut} cut by a fault and redone); ${p.refusedWhileRedisDown} CLI calls refused while Redis was down`,
    ],
    [
      'jobs',
      `${r.jobs.tracked} enqueued by the loop: ${r.jobs.completed} completed, ${r.jobs.failed} failed with a reason, ` +
        `${r.jobs.lost.length} lost; in all queues ${Object.entries(r.jobs.all)
          .map(([q, s]) => `${q} ${Object.values(s).reduce((a, b) => a + b, 0)}`)
          .join(', ')}; ${Object.values(r.workers.jobFailures).reduce((a, b) => a + b, 0)} failed attempts (below)`,
    ],
    [
      'worker kills mid-job',
      `${r.workers.killsMidJob} of ${r.faults['worker-kill'].injected} SIGKILLs found the worker holding apps ` +
        `(${r.workers.appsHeldAtKills} in all), their jobs handed back by BullMQ's stalled-job check`,
    ],
    [
      'IP file violations',
      `${r.files.violations} (a file wrong > 2 s outside a fault window) in ${r.files.checks} checks of ${r.files.files} ` +
        `files (${r.files.samples} samples); longest wrong: ${secs(r.files.longestWrongOutsideMs)} outside fault windows, ` +
        `${secs(r.files.longestWrongInFaultMs)} in one (${r.files.longestWrongInFault || '-'})`,
    ],
    ['lost jobs', String(r.jobs.lost.length + r.jobs.failedWithoutReason.length)],
    ['one app, two jobs at once', `${r.overlaps.found.length} in ${r.overlaps.stretches} stretches of work`],
    [
      'change hook',
      `${r.hooks.runs} runs, ${r.hooks.stalledRuns} stalled; longest wait by netq ${r.hooks.maxWaitMs} ms ` +
        `(limit ${r.hooks.limitMs} ms); ${r.hooks.leftBehind} hook processes left behind`,
    ],
    ...r.rss.map((x): [string, string] => [
      `RSS ${x.worker}`,
      `${mb(x.warmKb)} after warm-up, ${mb(x.endKb)} at the end` +
        `${x.ratio === undefined ? '' : ` (${x.ratio >= 1 ? '+' : ''}${((x.ratio - 1) * 100).toFixed(1)}%)`}; ${x.note}`,
    ]),
    [
      'Redis keys',
      `${r.redisKeys.before} before, ${r.redisKeys.after} after (keys without a TTL, once completed and failed jobs are ` +
        `cleaned as their retention would); worker-health entries ${r.redisKeys.workerHealthBefore} -> ${r.redisKeys.workerHealthAfter}`,
    ],
  ];
  out.push('', `| ${pad('figure', 26)} | value |`, `| ${'-'.repeat(26)} | ----- |`);
  for (const [k, v] of rows) out.push(`| ${pad(k, 26)} | ${v} |`);
  out.push('');
  for (const c of r.checks) out.push(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
  const details = [
    ...r.files.violationDetails.slice(0, 10).map((v) => `violation: ${v}`),
    ...r.overlaps.found.slice(0, 10).map((o) => `overlap: ${o}`),
    ...r.jobs.lost.slice(0, 10).map((j) => `lost: ${j}`),
    ...r.producer.unexplained.slice(0, 10).map((u) => `unexplained: ${u}`),
    ...r.hooks.overLimit.slice(0, 5).map((h) => `hook over limit: ${h}`),
    ...Object.entries(r.jobs.failedReasons).map(([why, n]) => `failed for good (${n}): ${why}`),
    ...Object.entries(r.workers.jobFailures)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([why, n]) => `failed attempts (${n}): ${why}`),
    ...FAULT_KINDS.flatMap((k) => r.faults[k].notes.map((n) => `${k} not survived: ${n}`)),
    ...r.workers.unexpectedExits.map((e) => `worker exit: ${e}`),
    ...(r.redisKeys.missing.length ? [`keys missing after: ${r.redisKeys.missing.join(', ')}`] : []),
    ...(r.redisKeys.extra.length ? [`keys extra after: ${r.redisKeys.extra.join(', ')}`] : []),
  ];
  if (details.length) out.push('', ...details);
  out.push('', `soak ${r.ok ? 'passed' : 'FAILED'}`);
  return out.join('\n');
}
