// SIMULATED: the per-call latency of the fleet bench's simulated Docker engine (bench/fleet/simEngine.ts).
import { logNormal, type Random } from './seededRandom.js';

/** Per-call latency of a simulated engine, in ms: log-normal around a median, plus a list call's scan. */
export interface LatencyModel {
  medianMs: number;
  sigma: number;
  /** added to a container list per container it looks at (a label filter: each on the engine; an id filter: those ids) */
  listPerContainerMs: number;
}

/**
 * Close to the real engine on this machine (dockerd 20.10, a few containers): `_ping` median 0.64 ms, p90
 * 1.1 ms; inspect 0.58 ms; a list call of a 1,000-container engine is assumed at 100 ms.
 */
export const DEFAULT_LATENCY: LatencyModel = { medianMs: 0.6, sigma: 0.5, listPerContainerMs: 0.1 };

/** One call's delay under a latency model; a list call pays for every container it looks at. */
export function callDelayMs(model: LatencyModel, random: Random, listed: number): number {
  return logNormal(random, model.medianMs, model.sigma) + listed * model.listPerContainerMs;
}
