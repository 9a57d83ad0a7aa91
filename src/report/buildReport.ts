import {
  type ComputedProperties,
  computeProperties,
  type PropertyKey,
  type RawProperties,
} from '../properties/properties.js';
import type { StoredNetworkConfig } from '../store/networkConfigStore.js';

/**
 * `network:report`, pure: Dokku's keys and values (plugins/network/report.go), the two forms of
 * common.ReportSingleApp (plugins/common/common.go: the stdout lines and Go's json.Marshal), and netq's drift.
 * Text that came from files keeps its bytes: `fromBytes` maps each byte Go would see as invalid UTF-8 to a lone
 * surrogate (U+DC80–U+DCFF), which `toBytes` writes back as that byte and `goJson` escapes as Go does (`\ufffd`).
 */

// ---- drift (netq's own: never in Dokku's outputs) -------------------------------------------------------------

const show = (p: ComputedProperties) => ({
  'attach-post-create': p.attachPostCreate.join(' '),
  'attach-post-deploy': p.attachPostDeploy.join(' '),
  'bind-all-interfaces': String(p.bindAllInterfaces),
  'initial-network': p.initialNetwork,
  tld: p.tld,
});

/** Where the configured (computed) properties and the last applied rebuild disagree. */
export function driftOf(computed: ComputedProperties, stored: StoredNetworkConfig | undefined): string {
  if (!stored) {
    // never rebuilt: whatever differs from the defaults has not been applied yet
    const defaults = show(computeProperties({}, {}));
    const want = show(computed);
    const set = (Object.keys(want) as (keyof typeof want)[]).filter((k) => want[k] !== defaults[k]);
    if (computed.staticWebListener !== '') set.push('static-web-listener' as keyof typeof want);
    return set.length ? `${set.join(', ')} not applied yet: the app has not been rebuilt; run network:rebuild` : '';
  }
  const problems: string[] = [];
  const want = show(computed);
  const have = show(stored.applied);
  for (const k of Object.keys(want) as (keyof typeof want)[]) {
    if (want[k] !== have[k])
      problems.push(`${k} is ${JSON.stringify(want[k])} but ${JSON.stringify(have[k])} is applied`);
  }
  if (computed.staticWebListener !== stored.applied.staticWebListener)
    problems.push('static-web-listener not applied yet');
  if (problems.length) problems.push('run network:rebuild to apply');
  if (stored.failures.length) {
    problems.push(
      `${stored.failures.length} container(s) failed at the last rebuild: ${stored.failures.map((f) => `${f.container}: ${f.reason}`).join('; ')}`,
    );
  }
  if (stored.hook) {
    const { failing, attempts, nextAt } = stored.hook;
    problems.push(
      `the change hook (NETQ_ON_CHANGE) has not succeeded for the current listeners: ${attempts} run(s) failed, ` +
        `the last: ${failing}; next try at ${new Date(nextAt).toISOString()}`,
    );
  }
  return problems.join('; ');
}

// ---- Dokku's keys and values (plugins/network/report.go) ------------------------------------------------------

/** An app's report flags (ReportSingleApp's `flags` map), sorted as the report prints them. */
export const APP_REPORT_FLAGS = [
  '--network-attach-post-create',
  '--network-attach-post-deploy',
  '--network-bind-all-interfaces',
  '--network-computed-attach-post-create',
  '--network-computed-attach-post-deploy',
  '--network-computed-bind-all-interfaces',
  '--network-computed-initial-network',
  '--network-computed-tld',
  '--network-global-attach-post-create',
  '--network-global-attach-post-deploy',
  '--network-global-bind-all-interfaces',
  '--network-global-initial-network',
  '--network-global-tld',
  '--network-initial-network',
  '--network-static-web-listener',
  '--network-tld',
  '--network-web-listeners',
] as const;

/** `--global`'s report flags: the five computed and the five global ones. */
export const GLOBAL_REPORT_FLAGS = APP_REPORT_FLAGS.filter(
  (f) => f.startsWith('--network-computed-') || f.startsWith('--network-global-'),
);

/** netq's extra info flag (an app's drift): accepted, but never listed among Dokku's valid flags. */
export const DRIFT_FLAG = '--network-drift';

/** A report as Dokku collects it: flag (`--network-tld`) -> value. */
export type ReportValues = Record<string, string>;

const COMPUTED_KEYS = [
  'attach-post-create',
  'attach-post-deploy',
  'bind-all-interfaces',
  'initial-network',
  'tld',
] as const satisfies readonly PropertyKey[];

/** PropertyGet: the stored value as it is ('' when unset). */
const get = (p: RawProperties, k: PropertyKey) => p[k] ?? '';

/**
 * The computed and global values of a scope (report.go reportComputed* and reportGlobal*): the scope's raw value,
 * else the global one, as strings (so lists stay comma-joined, as stored); `bind-all-interfaces` defaults to
 * `false` in its computed form only. For `--global` the scope is the global one itself.
 */
function computedAndGlobal(scope: RawProperties, global: RawProperties): ReportValues {
  const out: ReportValues = {};
  for (const k of COMPUTED_KEYS) {
    const computed = get(scope, k) || get(global, k);
    out[`--network-computed-${k}`] = k === 'bind-all-interfaces' ? computed || 'false' : computed;
    out[`--network-global-${k}`] = get(global, k);
  }
  return out;
}

/** An app's 17 values; `webListeners` is GetListeners(app, "web") space-joined. */
export function appReportValues(app: RawProperties, global: RawProperties, webListeners: string): ReportValues {
  const out: ReportValues = { ...computedAndGlobal(app, global) };
  for (const k of [...COMPUTED_KEYS, 'static-web-listener'] as const) out[`--network-${k}`] = get(app, k);
  out['--network-web-listeners'] = webListeners;
  return out;
}

/** `--global`'s 10 values. */
export function globalReportValues(global: RawProperties): ReportValues {
  return computedAndGlobal(global, global);
}

// ---- common.ReportSingleApp's two forms --------------------------------------------------------------------------

/** Go's sort.Strings (byte order; JavaScript's default sort agrees on the ASCII flags). */
const sorted = (keys: string[]) => [...keys].sort();

/** UcFirst: the first character upper-cased. */
const ucFirst = (s: string) => (s === '' ? s : (s[0] ?? '').toUpperCase() + s.slice(1));

/**
 * The stdout form: `=====> <title> network information` (LogInfo2Quiet: left out when quiet), then per flag,
 * sorted, `       <Key words>:<padding><value>`, the key right-padded to the longest flag's length (`--`
 * included), at least 31, and the value appended as it is (trailing spaces kept).
 */
export function reportStdout(title: string, values: ReportValues, quiet = false): string {
  const flags = sorted(Object.keys(values));
  const width = Math.max(31, ...flags.map((f) => f.length));
  const lines = quiet ? [] : [`=====> ${title} network information`];
  for (const k of flags) {
    const key = ucFirst(k.replace(/^--/, '').replaceAll('-', ' ').replaceAll('.', ' '));
    lines.push(`       ${`${key}:`.padEnd(width)}${values[k]}`);
  }
  return lines.map((l) => `${l}\n`).join('');
}

/**
 * The JSON form's map (TrimPrefix and EmitLegacyPrefix): each `--network-<key>` twice, as `<key>` and as the
 * legacy `network-<key>`.
 */
export function reportJsonObject(values: ReportValues): Record<string, string> {
  const data: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) {
    const legacy = k.replace(/^--/, '');
    if (k.startsWith('--network-')) data[k.slice('--network-'.length)] = v;
    data[legacy] = v;
  }
  return data;
}

/** netq's JSON of an app (HTTP API, `--format json-by-app`): Dokku's map plus the drift, under both names. */
export function netqJsonObject(values: ReportValues, drift?: string): Record<string, string> {
  const data = reportJsonObject(values);
  if (drift !== undefined) Object.assign(data, { drift, 'network-drift': drift });
  return data;
}

const HEX = '0123456789abcdef';

/**
 * A string as Go's encoding/json writes it (HTML-safe, as json.Marshal is): `"` `\` and the short escapes
 * \b \f \n \r \t, other bytes below 0x20 and `<` `>` `&` as \u00XX, U+2028 and U+2029 escaped, a byte that is not
 * UTF-8 as \ufffd; everything else as it is.
 */
export function goJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) out += goAsciiEscape(s[i] ?? '', c);
    else if (c >= 0xd800 && c <= 0xdbff && isLowSurrogate(s.charCodeAt(i + 1))) {
      out += s.slice(i, i + 2);
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) out += '\\ufffd';
    else if (c === 0x2028 || c === 0x2029) out += `\\u202${HEX[c & 0xf]}`;
    else out += s[i];
  }
  return `${out}"`;
}

/** Go's json escape of one ASCII character `ch` (code `c`). */
function goAsciiEscape(ch: string, c: number): string {
  const short = GO_SHORT_ESCAPES[ch];
  if (short !== undefined) return short;
  if (c < 0x20 || ch === '<' || ch === '>' || ch === '&') return `\\u00${HEX[c >> 4]}${HEX[c & 0xf]}`;
  return ch;
}

const GO_SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

/** json.Marshal of a map: keys sorted, no spaces; values are strings or maps of strings. */
export function goJson(obj: Record<string, string | Record<string, string>>): string {
  const parts = sorted(Object.keys(obj)).map((k) => {
    const v = obj[k] ?? '';
    return `${goJsonString(k)}:${typeof v === 'string' ? goJsonString(v) : goJson(v)}`;
  });
  return `{${parts.join(',')}}`;
}

// ---- bytes as Go sees them ---------------------------------------------------------------------------------------

const isLowSurrogate = (c: number) => c >= 0xdc00 && c <= 0xdfff;

/**
 * The second byte's range of a UTF-8 sequence by its lead byte (as Go's utf8.DecodeRune: no overlong forms, no
 * surrogates, nothing above U+10FFFF), and the sequence's length; undefined for a byte that cannot lead one.
 */
function utf8Lead(x: number): { length: number; lo: number; hi: number } | undefined {
  if (x >= 0xc2 && x <= 0xdf) return { length: 2, lo: 0x80, hi: 0xbf };
  if (x === 0xe0) return { length: 3, lo: 0xa0, hi: 0xbf };
  if (x === 0xed) return { length: 3, lo: 0x80, hi: 0x9f };
  if (x >= 0xe1 && x <= 0xef) return { length: 3, lo: 0x80, hi: 0xbf };
  if (x === 0xf0) return { length: 4, lo: 0x90, hi: 0xbf };
  if (x === 0xf4) return { length: 4, lo: 0x80, hi: 0x8f };
  if (x >= 0xf1 && x <= 0xf3) return { length: 4, lo: 0x80, hi: 0xbf };
  return undefined;
}

/** Length of the UTF-8 sequence at b[i] as Go's utf8.DecodeRune accepts it, 0 when it is invalid there. */
function utf8Length(b: Uint8Array, i: number): number {
  const x = b[i] ?? 0;
  if (x < 0x80) return 1;
  const lead = utf8Lead(x);
  if (!lead) return 0;
  const inRange = (j: number, lo: number, hi: number) => j < b.length && (b[j] ?? 0) >= lo && (b[j] ?? 0) <= hi;
  if (!inRange(i + 1, lead.lo, lead.hi)) return 0;
  for (let j = 2; j < lead.length; j++) if (!inRange(i + j, 0x80, 0xbf)) return 0;
  return lead.length;
}

/** Bytes to a string: valid UTF-8 decoded, each invalid byte b kept as the lone surrogate U+DC00+b. */
export function fromBytes(b: Uint8Array): string {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  let out = '';
  let start = 0;
  for (let i = 0; i < buf.length; ) {
    const n = utf8Length(buf, i);
    if (n > 0) {
      i += n;
      continue;
    }
    out += buf.toString('utf8', start, i) + String.fromCharCode(0xdc00 + (buf[i] ?? 0));
    start = ++i;
  }
  return out + buf.toString('utf8', start);
}

/** The inverse of fromBytes: UTF-8, with each lone surrogate U+DC80–U+DCFF written as its byte. */
export function toBytes(s: string): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && isLowSurrogate(s.charCodeAt(i + 1))) i++;
    else if (c >= 0xdc80 && c <= 0xdcff) {
      parts.push(Buffer.from(s.slice(start, i), 'utf8'), Buffer.from([c - 0xdc00]));
      start = i + 1;
    }
  }
  parts.push(Buffer.from(s.slice(start), 'utf8'));
  return Buffer.concat(parts);
}

/** Go's strings.TrimSpace (unicode.IsSpace). */
const GO_SPACE = '[\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]+';
const GO_TRIM = new RegExp(`^${GO_SPACE}|${GO_SPACE}$`, 'g');
export const goTrimSpace = (s: string) => s.replace(GO_TRIM, '');

/** bufio.Scanner's default limit: a longer line stops the scan. */
const MAX_TOKEN = 64 * 1024;

/**
 * common.ReadFirstLine of a file's bytes: the first line that is not blank once trimmed (lines split at \n, a
 * trailing \r dropped); '' when there is none or a line too long for bufio.Scanner comes first.
 */
export function firstLine(content: Uint8Array): string {
  const buf = Buffer.from(content.buffer, content.byteOffset, content.byteLength);
  for (let start = 0; start < buf.length; ) {
    const nl = buf.indexOf(0x0a, start);
    const end = nl < 0 ? buf.length : nl;
    if (end - start >= MAX_TOKEN) return '';
    const line = goTrimSpace(fromBytes(buf.subarray(start, end)));
    if (line !== '') return line;
    start = end + 1;
  }
  return '';
}

/**
 * A value as Go's %q writes it (strconv.Quote), as far as command-line input can reach it: printable characters
 * as they are, `"` and `\` escaped, control characters as \a \b \f \n \r \t \v or \xXX, other non-printable ones as
 * \uXXXX or \UXXXXXXXX.
 */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    const short: Record<string, string> = {
      '"': '\\"',
      '\\': '\\\\',
      '\x07': '\\a',
      '\b': '\\b',
      '\f': '\\f',
      '\n': '\\n',
      '\r': '\\r',
      '\t': '\\t',
      '\v': '\\v',
    };
    if (short[ch]) out += short[ch];
    else if (c < 0x20 || c === 0x7f) out += `\\x${HEX[c >> 4]}${HEX[c & 0xf]}`;
    else if (c >= 0xdc80 && c <= 0xdcff) out += `\\x${(c - 0xdc00).toString(16)}`;
    else if (c !== 0x20 && /[\p{C}\p{Z}]/u.test(ch)) {
      out += c > 0xffff ? `\\U${c.toString(16).padStart(8, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`;
    } else out += ch;
  }
  return `${out}"`;
}
