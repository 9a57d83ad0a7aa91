import { type ComputedProperties, computeProperties, type RawProperties } from '../properties/properties.js';
import type { StoredNetworkConfig } from '../store/networkConfigStore.js';

/** `network:report`: Dokku's keys, built from what Redis holds. Pure. */

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
  return problems.join('; ');
}

/** The report of one app, as ordered key/value pairs: the legacy `network-` keys (Dokku's text output uses them). */
export function appReport(
  raw: { app: RawProperties; global: RawProperties },
  stored: StoredNetworkConfig | undefined,
): [string, string][] {
  const computed = computeProperties(raw.app, raw.global);
  const c = show(computed);
  const g = raw.global;
  const a = raw.app;
  return [
    ['network-attach-post-create', a['attach-post-create'] ?? ''],
    ['network-attach-post-deploy', a['attach-post-deploy'] ?? ''],
    ['network-bind-all-interfaces', a['bind-all-interfaces'] ?? ''],
    ['network-computed-attach-post-create', c['attach-post-create']],
    ['network-computed-attach-post-deploy', c['attach-post-deploy']],
    ['network-computed-bind-all-interfaces', c['bind-all-interfaces']],
    ['network-computed-initial-network', c['initial-network']],
    ['network-computed-tld', c.tld],
    ['network-global-attach-post-create', g['attach-post-create'] ?? ''],
    ['network-global-attach-post-deploy', g['attach-post-deploy'] ?? ''],
    ['network-global-bind-all-interfaces', g['bind-all-interfaces'] ?? 'false'],
    ['network-global-initial-network', g['initial-network'] ?? ''],
    ['network-global-tld', g.tld ?? ''],
    ['network-initial-network', a['initial-network'] ?? ''],
    ['network-static-web-listener', a['static-web-listener'] ?? ''],
    ['network-tld', a.tld ?? ''],
    ['network-web-listeners', (stored?.listeners.web ?? []).join(' ')],
    ['network-drift', driftOf(computed, stored)],
  ];
}

/** The global report: only the global keys. */
export function globalReport(global: RawProperties): [string, string][] {
  return [
    ['network-global-attach-post-create', global['attach-post-create'] ?? ''],
    ['network-global-attach-post-deploy', global['attach-post-deploy'] ?? ''],
    ['network-global-bind-all-interfaces', global['bind-all-interfaces'] ?? 'false'],
    ['network-global-initial-network', global['initial-network'] ?? ''],
    ['network-global-tld', global.tld ?? ''],
  ];
}

/** JSON form: every key twice, as Dokku emits them, legacy (`network-tld`) and stripped (`tld`). */
export function reportJson(pairs: [string, string][]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of pairs) out[k] = v;
  for (const [k, v] of pairs) out[k.replace(/^network-/, '')] = v;
  return out;
}

/** Text form, like Dokku's: a heading and aligned `Network key: value` lines. */
export function reportText(title: string, pairs: [string, string][]): string {
  const labels = pairs.map(
    ([k]) =>
      `${k
        .replace(/^network-/, 'network ')
        .replace(/-/g, ' ')
        .replace(/^n/, 'N')}:`,
  );
  const width = Math.max(...labels.map((l) => l.length)) + 1;
  const lines = pairs.map(([, v], i) => `       ${(labels[i] ?? '').padEnd(width)}${v}`.trimEnd());
  return [`=====> ${title} network information`, ...lines].join('\n');
}
