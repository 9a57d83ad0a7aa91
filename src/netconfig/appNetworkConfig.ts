import type { BoundDyno } from '../bindDynos.js';
import type { ComputedProperties } from '../properties/properties.js';
import type { ContainerNetworkConfig, Failure } from '../types.js';
import { buildNetworkConfig, listenersOf } from './buildNetworkConfig.js';

/** An app's network config on one host, and its counts. */
export interface AppNetworkConfig {
  /** one per dyno whose config could be built (a dyno whose binding failed still serves: it keeps its listener) */
  configs: ContainerNetworkConfig[];
  /** every counted failure, by container name */
  failures: Failure[];
  listeners: Record<string, string[]>;
  /** the app's dynos: those bound and those the selection counted as failed already */
  containers: number;
  configured: number;
  failed: number;
}

/**
 * The network config of an app's bound dynos (src/netconfig/buildNetworkConfig.ts, with the dyno given), and
 * the counting: a dyno whose config cannot be built, or whose binding could not be applied, is a failure,
 * and so is each failure the selection found (a dyno whose container is gone or not running). Pure.
 */
export function appNetworkConfig(
  app: string,
  props: ComputedProperties,
  bound: BoundDyno[],
  selectionFailures: Failure[],
): AppNetworkConfig {
  const configs: ContainerNetworkConfig[] = [];
  const failures: Failure[] = [...selectionFailures];
  for (const b of bound) {
    const outcome = buildNetworkConfig(b.dyno.facts, app, props, { proc: b.dyno.proc, index: b.dyno.index });
    if (!outcome.ok) failures.push(outcome.failure);
    else {
      configs.push(outcome.config);
      if (b.bindingFailure) failures.push({ container: b.dyno.facts.name, reason: b.bindingFailure });
    }
  }
  failures.sort((a, b) => a.container.localeCompare(b.container));
  const containers = bound.length + selectionFailures.length;
  return {
    configs,
    failures,
    listeners: listenersOf(configs),
    containers,
    configured: containers - failures.length,
    failed: failures.length,
  };
}
