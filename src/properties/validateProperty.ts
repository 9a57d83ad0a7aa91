import { isIPv4, isIPv6 } from 'node:net';
import { DOCKER_NETWORKS } from '../docker/networks.js';
import { BadInputError, DokkuError, quoteInput } from '../errors.js';
import { networkNameSchema } from '../jobs.js';
import { PROPERTY_KEYS, type PropertyKey, splitList } from './properties.js';

/** Networks Docker owns, which Dokku refuses as attach networks (`none` is refused apart: it has no address). */
const NOT_ATTACHABLE = new Set(DOCKER_NETWORKS.filter((n) => n !== 'none'));
const TLD_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

export const isPropertyKey = (key: string): key is PropertyKey => (PROPERTY_KEYS as readonly string[]).includes(key);

function networkName(value: string): string {
  const r = networkNameSchema.safeParse(value);
  if (!r.success) throw new BadInputError(`${r.error.issues[0]?.message ?? 'bad network name'}: ${quoteInput(value)}`);
  return value;
}

/** A single-valued key takes the first value; Dokku ignores the others (`value := args.Arg(2)`), and so does netq. */
function one(values: string[]): string {
  return values[0] ?? '';
}

/** The other attach phase of an attach key. */
export const OTHER_PHASE = {
  'attach-post-create': 'attach-post-deploy',
  'attach-post-deploy': 'attach-post-create',
} as const;

/**
 * Dokku's check that a network is not in both attach phases (network/subcommands.go isConflictingPropertyValue),
 * network by network against the other phase's computed value (the app's, else the global one).
 */
export function attachConflict(key: PropertyKey, value: string, otherPhaseComputed: string): void {
  if (key !== 'attach-post-create' && key !== 'attach-post-deploy') return;
  const other = splitList(otherPhaseComputed);
  const both = splitList(value).find((n) => other.includes(n));
  if (both !== undefined) throw new DokkuError(`Network name already associated with this app: ${both}`);
}

/**
 * Checks a `network:set` request without touching any state, and returns the value to store
 * ('' clears the key), in Dokku's stored form (attach lists comma-joined). Where Dokku refuses, the error is
 * Dokku's own (DokkuError: its message and exit code, in its order of checks); netq also checks values Dokku
 * stores unchecked (bind-all-interfaces, tld, static-web-listener, network names). The state-dependent checks
 * (the other attach phase) are attachConflict's.
 */
export function validateProperty(
  scope: 'app' | 'global',
  key: string,
  values: string[],
): { key: PropertyKey; value: string } {
  const k = checkKeyAsDokku(scope, key, values);
  for (const v of values) {
    if (v.length > 1024) throw new BadInputError(`${k}: value is longer than 1024 characters`);
    if ([...v].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f))
      throw new BadInputError(`${k}: value contains control characters`);
  }
  if (values.length === 0 || values[0] === '') return { key: k, value: '' };
  return { key: k, value: VALUE_CHECKS[k](values, k) };
}

/** Dokku's CommandSet, in its order: the attach networks first, then CommandPropertySet's checks of the key. */
function checkKeyAsDokku(scope: 'app' | 'global', key: string, values: string[]): PropertyKey {
  if (key === 'attach-post-create' || key === 'attach-post-deploy') {
    for (const n of values.flatMap((v) => v.split(',')).filter((v) => v !== '')) {
      if (NOT_ATTACHABLE.has(n)) throw new DokkuError(`Invalid network name specified for attach: ${n}`);
    }
  }
  if (key === 'static-web-listener' && scope === 'global')
    throw new DokkuError('Property cannot be specified globally');
  if (key === '') throw new DokkuError('No property specified');
  if (!isPropertyKey(key)) {
    throw new DokkuError(
      `Invalid property specified, valid properties include: ${[...PROPERTY_KEYS].sort().join(', ')}`,
    );
  }
  return key;
}

function attachNetworksValue(values: string[], key: PropertyKey): string {
  const nets = [...new Set(values.flatMap((v) => v.split(/[\s,]+/)).filter((v) => v !== ''))];
  for (const n of nets) {
    networkName(n);
    if (NOT_ATTACHABLE.has(n)) throw new DokkuError(`Invalid network name specified for attach: ${n}`);
    if (n === 'none') throw new BadInputError(`${key}: none cannot be an attach network (it gives no address)`);
  }
  if (nets.length > 32) throw new BadInputError(`${key}: at most 32 networks`);
  return nets.join(',');
}

/** What Go's net.SplitHostPort or net.ParseIP take: host:port, [ipv6]:port, or a bare IPv4 or IPv6 address. */
function staticWebListenerValue(values: string[]): string {
  const v = one(values);
  const bad = () => new BadInputError(`static-web-listener must be host:port or an IP address, not ${quoteInput(v)}`);
  const m = v.match(/^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/);
  if (!m?.[3]) {
    if (!isIPv4(v) && !isIPv6(v)) throw bad();
    return v;
  }
  const port = Number(m[3]);
  const hostOk = m[1] !== undefined ? isIPv6(m[1]) : isIPv4(m[2] ?? '') || HOSTNAME.test(m[2] ?? '');
  if (!hostOk || port < 1 || port > 65535) throw bad();
  return v;
}

/** The value to store for each key, from a non-empty request; throws what is wrong with it. */
const VALUE_CHECKS: Record<PropertyKey, (values: string[], key: PropertyKey) => string> = {
  'bind-all-interfaces': (values) => {
    const v = one(values);
    if (v !== 'true' && v !== 'false')
      throw new BadInputError(`bind-all-interfaces must be true or false, not ${quoteInput(v)}`);
    return v;
  },
  'attach-post-create': attachNetworksValue,
  'attach-post-deploy': attachNetworksValue,
  'initial-network': (values) => {
    const v = networkName(one(values));
    if (v === 'none') throw new BadInputError('initial-network none would leave the containers without an address');
    return v;
  },
  'static-web-listener': staticWebListenerValue,
  tld: (values) => {
    const v = one(values);
    if (v.length > 253 || !v.split('.').every((l) => TLD_LABEL.test(l))) {
      throw new BadInputError(`tld must be a DNS suffix such as svc.cluster.local, not ${quoteInput(v)}`);
    }
    return v;
  },
};

/** A network name from storage that is safe to hand to Docker (never a network mode such as `container:<id>`). */
export const storedNetworkOk = (name: string): boolean => networkNameSchema.safeParse(name).success;

/**
 * What is wrong with a stored value, or undefined: 'strict' runs the checks `network:set` runs; 'safe' only
 * those that keep netq safe whatever Dokku stored (no control characters; network names Docker reads as names).
 */
export function storedValueProblem(
  scope: 'app' | 'global',
  key: string,
  value: string,
  mode: 'strict' | 'safe',
): string | undefined {
  if (mode === 'strict') {
    try {
      validateProperty(scope, key, [value]);
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  }
  if ([...value].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f))
    return 'it holds control characters';
  if (key === 'initial-network' || key === 'attach-post-create' || key === 'attach-post-deploy') {
    const bad = value.split(/[\s,]+/).find((n) => n !== '' && !storedNetworkOk(n));
    if (bad !== undefined) return `${quoteInput(bad)} is not a network name`;
  }
  return undefined;
}
