import { isDockerNetwork } from '../docker/networks.js';
/** Network properties: names, stored form and Dokku's precedence (app, else global, else default). */

export const PROPERTY_KEYS = [
  'bind-all-interfaces',
  'attach-post-create',
  'attach-post-deploy',
  'initial-network',
  'static-web-listener',
  'tld',
] as const;
export type PropertyKey = (typeof PROPERTY_KEYS)[number];

/** The scope name under which global properties are stored. */
export const GLOBAL_SCOPE = '--global';

/** Raw properties of one scope as stored: key -> value ('' or absent means unset). */
export type RawProperties = Partial<Record<PropertyKey, string>>;

export interface ComputedProperties {
  bindAllInterfaces: boolean;
  attachPostCreate: string[];
  attachPostDeploy: string[];
  /** '' means `bridge` */
  initialNetwork: string;
  /** app only; '' when unset */
  staticWebListener: string;
  tld: string;
}

const pick = (app: RawProperties, global: RawProperties, key: PropertyKey): string => {
  const a = app[key];
  if (a !== undefined && a !== '') return a;
  const g = global[key];
  return g ?? '';
};

export const splitList = (value: string): string[] => value.split(/[\s,]+/).filter((v) => v !== '');

/**
 * The networks a stored value names that must exist on a host's engine: those of the attach keys and of
 * `initial-network` (but Docker's own `bridge` and `host`, which always do).
 */
export function networksToCheck(key: string, value: string): string[] {
  if (key === 'initial-network') return splitList(value).filter((n) => !isDockerNetwork(n));
  if (key === 'attach-post-create' || key === 'attach-post-deploy') return splitList(value);
  return [];
}

export function computeProperties(app: RawProperties, global: RawProperties): ComputedProperties {
  return {
    bindAllInterfaces: pick(app, global, 'bind-all-interfaces') === 'true',
    attachPostCreate: splitList(pick(app, global, 'attach-post-create')),
    attachPostDeploy: splitList(pick(app, global, 'attach-post-deploy')),
    initialNetwork: pick(app, global, 'initial-network'),
    staticWebListener: app['static-web-listener'] ?? '',
    tld: pick(app, global, 'tld'),
  };
}
