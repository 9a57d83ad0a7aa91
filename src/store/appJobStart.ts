import type { NetqKeys } from '../keys.js';
import type { RawProperties } from '../properties/properties.js';
import { AttachRecord } from './attachRecord.js';
import { type KeyCommand, stringOf } from './keyCommands.js';
import { parsePropertyReplies, readPropertyCommands } from './propertyStore.js';

/**
 * What the per-app job reads from Redis as it takes the app's lock, in the same script (src/store/appLock.ts
 * `acquireWith`): nothing of it changes while the job holds the lock, as only a job holding it writes these.
 */
export interface AppJobStart {
  /** the host's replacement journal (HGETALL reply), for ReplacementJournal.prime */
  journal: unknown;
  /** the attach record as stored (src/store/attachRecord.ts), and the networks it names */
  attachedRaw: string | undefined;
  attached: string[];
  /** the containers with a replacement failure record (HKEYS reply), for ReplacementFailures.keepOnlyCommands */
  failureIds: unknown;
  /** NETQ_ON_CHANGE: the app's hook record on this host, as stored (src/changeHook.ts) */
  hookRecord: string | undefined;
  /** without Dokku: the app's and the global properties (Dokku mode reads Dokku's files instead) */
  properties: { app: RawProperties; global: RawProperties } | undefined;
  /** how many container events of the app this host's watcher has seen (workers/scan.ts) */
  eventSeq: number;
}

export interface AppJobReads {
  commands: KeyCommand[];
  parse(replies: unknown[]): AppJobStart;
}

/** The reads of AppJobStart, as commands for acquireWith, and the parser of their replies (in the same order). */
export function appJobReads(
  keys: NetqKeys,
  host: string,
  app: string,
  want: { properties: boolean; hook: boolean },
): AppJobReads {
  const commands: KeyCommand[] = [
    ['hgetall', keys.replacing(host)],
    new AttachRecord(keys, host, app).readCommand(),
    ['hkeys', keys.replaceFailures(host, app)],
    ['hget', keys.appEvents(host), app],
  ];
  if (want.hook) commands.push(['hget', keys.changeHook(host), app]);
  if (want.properties) commands.push(...readPropertyCommands(keys, app));
  return {
    commands,
    parse(replies) {
      const [journal, attached, failureIds, events, ...rest] = replies;
      const hookRecord = want.hook ? stringOf(rest.shift()) : undefined;
      const attachedRaw = stringOf(attached);
      return {
        journal,
        attachedRaw,
        attached: AttachRecord.parse(attachedRaw),
        failureIds,
        hookRecord,
        properties: want.properties ? parsePropertyReplies(rest[0], rest[1]) : undefined,
        eventSeq: Number(stringOf(events) ?? 0),
      };
    },
  };
}
