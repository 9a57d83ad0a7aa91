/** Redis keys netq keeps beside BullMQ's, all under the same hash-tagged prefix. */
export function netqKeys(prefix: string) {
  return {
    /** hash `<app>/<host>` -> JSON of the app's stored network config on that host */
    netconfig: `${prefix}:netconfig`,
    /** set of the hosts where an app had containers at its last rebuild there */
    appHosts: (app: string) => `${prefix}:app-hosts:${app}`,
    /** zset host -> last heartbeat (ms) */
    hosts: `${prefix}:hosts`,
    /** zset workerId -> last heartbeat (ms), per host */
    workers: (host: string) => `${prefix}:workers:${host}`,
    /** hash workerId -> JSON WorkerHealth, refreshed with every heartbeat */
    workerHealth: `${prefix}:worker-health`,
    /** set for a minute by the heartbeat that swept the worker-health entries of gone workers */
    healthSweep: `${prefix}:health-sweep`,
    /** the id of an app's rebuild job on a host that has not started yet (requests merge into it) */
    pending: (host: string, app: string) => `${prefix}:pending:${host}.${app}`,
    /** set for a debounce window after each debounced rebuild request of an app on a host (enqueue.ts: a burst) */
    burst: (host: string, app: string) => `${prefix}:burst:${host}.${app}`,
    /** counter that numbers an app's merged rebuild jobs on a host (jobId.rebuild) */
    generation: (host: string, app: string) => `${prefix}:generation:${host}.${app}`,
    /** per-app exclusion lock */
    appLock: (app: string) => `${prefix}:lock:${app}`,
    /** hash network -> JSON list of apps that netq attached to it (to detach what is no longer asked for) */
    attached: (app: string) => `${prefix}:attached:${app}`,
    /** hash host -> JSON list of the networks netq attached the app's containers to on that host */
    attachedOn: (app: string) => `${prefix}:attached-on:${app}`,
    /** hash app -> how many container events of the app this host's watcher has seen (a scan's list is stale when it moved) */
    appEvents: (host: string) => `${prefix}:app-events:${host}`,
    /** hash `<app>/<dyno>` -> JSON journal entry of a replacement under way on a host (replacementJournal.ts) */
    replacing: (host: string) => `${prefix}:replacing:${host}`,
    /** hash container id -> JSON of a replacement that failed, with its backoff (replacementFailures.ts) */
    replaceFailures: (host: string, app: string) => `${prefix}:replace-failures:${host}:${app}`,
    /**
     * hash app -> JSON of the app's NETQ_ON_CHANGE run on a host that failed or is under way (changeHook.ts;
     * kept until a run succeeds), and `#failures` -> how many runs failed on the host
     */
    changeHook: (host: string) => `${prefix}:change-hook:${host}`,
    /** hash of a rebuildall run's progress: one field per app done (runProgress.ts) */
    run: (runId: string) => `${prefix}:run:${runId}`,
    /** hash of a rebuildall run's progress: each host's app count and each failing app's count (runProgress.ts) */
    runTotals: (runId: string) => `${prefix}:run-totals:${runId}`,
    /** hash of one scope's properties (an app name or `--global`; propertyStore.ts) */
    props: (scope: string) => `${prefix}:props:${scope}`,
    /** set of the scopes (apps and `--global`) that ever had a property */
    propScopes: `${prefix}:prop-scopes`,
    /** the lease of the one worker that serves a dead host's queues (hostReaper.ts) */
    reaperLease: (host: string) => `${prefix}:reaper:${host}`,
  };
}
export type NetqKeys = ReturnType<typeof netqKeys>;
