import { isIPv4 } from 'node:net';
import { BadInputError, quoteInput } from '../errors.js';
import { networkNameSchema } from '../jobs.js';
import { PROPERTY_KEYS, type PropertyKey } from './properties.js';

/** Networks Docker owns, which cannot be attach networks. */
const NOT_ATTACHABLE = new Set(['host', 'bridge', 'none']);
const TLD_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

export const isPropertyKey = (key: string): key is PropertyKey => (PROPERTY_KEYS as readonly string[]).includes(key);

function networkName(value: string): string {
  const r = networkNameSchema.safeParse(value);
  if (!r.success) throw new BadInputError(`${r.error.issues[0]?.message ?? 'bad network name'}: ${quoteInput(value)}`);
  return value;
}

function one(key: string, values: string[]): string {
  if (values.length > 1) throw new BadInputError(`${key} takes one value, got ${values.length}`);
  return values[0] ?? '';
}

/**
 * Checks a `network:set` request without touching any state, and returns the value to store
 * ('' clears the key). The worker checks the rest (the other attach phase, networks that exist).
 */
export function validateProperty(
  scope: 'app' | 'global',
  key: string,
  values: string[],
): { key: PropertyKey; value: string } {
  if (!isPropertyKey(key)) {
    throw new BadInputError(
      `unknown property ${JSON.stringify(key).slice(0, 80)} (one of: ${PROPERTY_KEYS.join(', ')})`,
    );
  }
  for (const v of values) {
    if (v.length > 1024) throw new BadInputError(`${key}: value is longer than 1024 characters`);
    if ([...v].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f))
      throw new BadInputError(`${key}: value contains control characters`);
  }
  if (key === 'static-web-listener' && scope === 'global') {
    throw new BadInputError('static-web-listener cannot be set globally, only per app');
  }
  if (values.length === 0) return { key, value: '' };

  switch (key) {
    case 'bind-all-interfaces': {
      const v = one(key, values);
      if (v !== 'true' && v !== 'false')
        throw new BadInputError(`bind-all-interfaces must be true or false, not ${quoteInput(v)}`);
      return { key, value: v };
    }
    case 'attach-post-create':
    case 'attach-post-deploy': {
      const nets = [...new Set(values.flatMap((v) => v.split(/[\s,]+/)).filter((v) => v !== ''))];
      for (const n of nets) {
        networkName(n);
        if (NOT_ATTACHABLE.has(n)) throw new BadInputError(`${key}: ${n} cannot be an attach network`);
      }
      if (nets.length > 32) throw new BadInputError(`${key}: at most 32 networks`);
      return { key, value: nets.join(' ') };
    }
    case 'initial-network': {
      const v = networkName(one(key, values));
      if (v === 'none') throw new BadInputError('initial-network none would leave the containers without an address');
      return { key, value: v };
    }
    case 'static-web-listener': {
      const v = one(key, values);
      const m = v.match(/^(.+):(\d{1,5})$/);
      if (m?.[1] && m[2]) {
        const port = Number(m[2]);
        if (!(isIPv4(m[1]) || HOSTNAME.test(m[1])) || port < 1 || port > 65535) {
          throw new BadInputError(`static-web-listener must be host:port or an IP address, not ${quoteInput(v)}`);
        }
      } else if (!isIPv4(v)) {
        throw new BadInputError(`static-web-listener must be host:port or an IP address, not ${quoteInput(v)}`);
      }
      return { key, value: v };
    }
    case 'tld': {
      const v = one(key, values);
      const labels = v.split('.');
      if (v.length > 253 || !labels.every((l) => TLD_LABEL.test(l))) {
        throw new BadInputError(`tld must be a DNS suffix such as svc.cluster.local, not ${quoteInput(v)}`);
      }
      return { key, value: v };
    }
  }
}
