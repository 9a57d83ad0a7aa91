import { describe, expect, it } from 'vitest';
import { computeProperties } from '../../src/properties/properties.js';
import { driftOf } from '../../src/report/buildReport.js';
import type { StoredNetworkConfig } from '../../src/store/networkConfigStore.js';

const stored = (applied = computeProperties({}, {}), failures: StoredNetworkConfig['failures'] = []) =>
  ({ app: 'a', host: 'local', updatedAt: '', listeners: {}, containers: [], failures, applied }) as StoredNetworkConfig;

describe('network:report drift', () => {
  it('says what is not applied yet for an app that was never rebuilt, and nothing when all is default', () => {
    expect(driftOf(computeProperties({}, {}), undefined)).toBe('');
    expect(driftOf(computeProperties({ tld: 'svc.test' }, { 'bind-all-interfaces': 'true' }), undefined)).toBe(
      'bind-all-interfaces, tld not applied yet: the app has not been rebuilt; run network:rebuild',
    );
  });

  it('compares the configured properties with those the last rebuild applied, and names failed containers', () => {
    const want = computeProperties({ tld: 'svc.test' }, {});
    expect(driftOf(want, stored(want))).toBe('');
    expect(driftOf(want, stored())).toBe('tld is "svc.test" but "" is applied; run network:rebuild to apply');
    expect(driftOf(want, stored(want, [{ container: 'a.web.1', reason: 'network mode is none' }]))).toBe(
      '1 container(s) failed at the last rebuild: a.web.1: network mode is none',
    );
  });
});
