import type { NetworkFacts } from '../src/types.js';
import type { DokkuOutput } from './dokkuOutput.js';

/**
 * Output of `network:info` and `network:list` as Dokku 0.38 prints it (plugins/network/subcommands.go
 * CommandInfo/CommandList, plugins/network/functions.go DockerNetwork/getNetworks).
 */

/** The label whose presence makes a network Dokku-managed (functions.go dokkuNetworkNameLabel). */
export const DOKKU_NETWORK_NAME_LABEL = 'com.dokku.network-name';

/**
 * Dokku's `CreatedAt`: getNetworks parses a constant string (`time.Parse(layout, "2024-02-25 01:55:24.275184461
 * +0000 UTC")`) instead of the network's own date, so every network Docker lists with a date (all of them) shows
 * this instant, marshalled as Go's time.Time does (RFC 3339 with nanoseconds).
 */
export const DOKKU_CREATED_AT = '2024-02-25T01:55:24.275184461Z';

/** Dokku's `DockerNetwork`, fields in the struct's order (json.Marshal writes them in that order). */
export interface DokkuNetwork {
  CreatedAt: string;
  DokkuManaged: boolean;
  Driver: string;
  ID: string;
  Internal: boolean;
  IPv6: boolean;
  /** a Map: label keys are the engine's (`__proto__` is a fine label key) */
  Labels: Map<string, string>;
  Name: string;
  Scope: string;
}

/** `docker network ls` shows ids as stringid.TruncateID does: after any `algo:` prefix, 12 characters. */
function truncateId(id: string): string {
  const at = id.indexOf(':');
  const bare = at >= 0 ? id.slice(at + 1) : id;
  return bare.length > 12 ? bare.slice(0, 12) : bare;
}

/** Go's string order (bytes of UTF-8), which json.Marshal uses for map keys. */
export function goCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Labels as getNetworks reads them: `docker network ls --format json` joins them into one `k=v,k=v` string,
 * Dokku splits it on `,` and each piece on the first `=`, dropping pieces without one. A value with a comma
 * therefore comes back cut (and its tail may become a label of its own), as in Dokku. Docker joins in Go's
 * random map order; netq joins in key order, which only matters when two pieces give the same key.
 */
function dokkuLabels(labels: Record<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  const joined = Object.entries(labels)
    .sort(([a], [b]) => goCompare(a, b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  for (const piece of joined.split(',')) {
    const at = piece.indexOf('=');
    if (at < 0) continue;
    out.set(piece.slice(0, at), piece.slice(at + 1));
  }
  return out;
}

/** A network as Dokku's getNetworks builds it from `docker network ls --format json`. */
export function dokkuNetwork(n: NetworkFacts): DokkuNetwork {
  const labels = dokkuLabels(n.labels);
  return {
    CreatedAt: DOKKU_CREATED_AT,
    DokkuManaged: labels.has(DOKKU_NETWORK_NAME_LABEL),
    Driver: n.driver,
    ID: truncateId(n.id),
    Internal: n.internal,
    IPv6: n.ipv6 === true,
    Labels: labels,
    Name: n.name,
    Scope: n.scope,
  };
}

/**
 * A string as Go's encoding/json writes it: JSON.stringify's escapes (the same: `\b \f \n \r \t`, other
 * control characters as lowercase `\u00xx`) plus Go's HTML escapes of `<`, `>`, `&` and U+2028/U+2029.
 */
export function goString(s: string): string {
  return JSON.stringify(s).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`,
  );
}

/** json.Marshal(DockerNetwork): one line, struct order, map keys sorted. */
export function goNetworkJson(n: DokkuNetwork): string {
  const labels = [...n.Labels.entries()]
    .sort(([a], [b]) => goCompare(a, b))
    .map(([k, v]) => `${goString(k)}:${goString(v)}`)
    .join(',');
  return (
    `{"CreatedAt":${goString(n.CreatedAt)},"DokkuManaged":${n.DokkuManaged},"Driver":${goString(n.Driver)},` +
    `"ID":${goString(n.ID)},"Internal":${n.Internal},"IPv6":${n.IPv6},"Labels":{${labels}},` +
    `"Name":${goString(n.Name)},"Scope":${goString(n.Scope)}}`
  );
}

/** A value from the engine on one line: anything with control characters is quoted (Dokku prints it raw). */
function oneLine(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find them
  return /[\u0000-\u001f\u007f]/.test(s) ? JSON.stringify(s) : s;
}

/** Go's common.RightPad. */
const rightPad = (s: string, length: number) => s + ' '.repeat(Math.max(0, length - s.length));

/**
 * CommandInfo's text: `=====> <net> network information` (LogInfo2Quiet), then five LogVerbose lines, keys
 * padded to 16 (printed even with --quiet).
 */
export function printNetworkInfo(out: DokkuOutput, name: string, n: DokkuNetwork): void {
  const length = 16;
  out.header(`${oneLine(name)} network information`);
  out.verbose(`${rightPad('ID:', length)}${oneLine(n.ID)}`);
  out.verbose(`${rightPad('Name:', length)}${oneLine(n.Name)}`);
  out.verbose(`${rightPad('Driver:', length)}${oneLine(n.Driver)}`);
  out.verbose(`${rightPad('Scope:', length)}${oneLine(n.Scope)}`);
  out.verbose(`${rightPad('Dokku managed:', length)}${n.DokkuManaged}`);
}

/**
 * The networks in the order netq lists them: by name (Go's byte order). Dokku ranges over a Go map, so its
 * order changes from one run to the next.
 */
export function sortNetworks(list: DokkuNetwork[]): DokkuNetwork[] {
  return [...list].sort((a, b) => goCompare(a.Name, b.Name));
}

/** CommandList's text: `=====> Networks` (LogInfo2Quiet), then each name as it is (fmt.Println). */
export function printNetworkList(out: DokkuOutput, list: DokkuNetwork[]): void {
  out.header('Networks');
  for (const n of list) out.log(oneLine(n.Name));
}

/** CommandList's json: json.Marshal([]DockerNetwork{…}), `[]` when empty. */
export function goNetworkListJson(list: DokkuNetwork[]): string {
  return `[${list.map(goNetworkJson).join(',')}]`;
}
