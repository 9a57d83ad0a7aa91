import type { NetworkFacts } from '../src/types.js';

/** Text output of the network:* commands, in Dokku's style. */

/** A value from the engine on one line: anything with control characters is quoted. */
function oneLine(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find them
  return /[\u0000-\u001f\u007f]/.test(s) ? JSON.stringify(s) : s;
}

/** `=====> <net> network information` and aligned `Key: value` lines, like Dokku's reports. */
export function formatNetworkInfo(n: NetworkFacts): string {
  const labels = Object.entries(n.labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => oneLine(`${k}=${v}`));
  const containers = n.containers.map((c) => `${oneLine(c.name)}${c.ipv4 ? ` (${c.ipv4})` : ''}`);
  const rows: [string, string][] = [
    ['Driver', n.driver],
    ['Scope', n.scope],
    ['Internal', String(n.internal)],
    ['Attachable', String(n.attachable)],
    ['Labels', labels.join(' ')],
    ['Containers', containers.join(', ')],
    ['Created', n.created],
    ['ID', n.id],
  ];
  const width = Math.max(...rows.map(([k]) => k.length)) + 1;
  const lines = [`=====> ${oneLine(n.name)} network information`];
  for (const [k, v] of rows) lines.push(`       ${`${k}:`.padEnd(width)} ${oneLine(v)}`.trimEnd());
  return lines.join('\n');
}

/** `=====> Networks` then one name a line. */
export function formatNetworkList(list: NetworkFacts[]): string {
  return ['=====> Networks', ...list.map((n) => oneLine(n.name))].join('\n');
}
