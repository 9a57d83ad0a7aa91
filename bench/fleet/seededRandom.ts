// A small seeded random source, so that a simulated host's containers, events and latencies (the fleet bench's
// simulated engine, bench/fleet/simEngine.ts) and the chaos soak's schedule (scripts/soak.ts) come from a seed.

/** A random source in [0, 1) from a 32-bit seed (mulberry32: fast, enough for a simulation, not for secrets). */
export type Random = () => number;

export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed for one stream (`state`, `latency`, `events`) of one simulated host, from the run's seed. */
export function streamSeed(seed: number, host: string, stream: string): number {
  let h = seed >>> 0 || 0x9e3779b9;
  for (const ch of `${host}/${stream}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}

/** `bytes` random bytes as hex (container and network ids). */
export function randomHex(random: Random, bytes: number): string {
  let out = '';
  for (let i = 0; i < bytes; i++)
    out += Math.floor(random() * 256)
      .toString(16)
      .padStart(2, '0');
  return out;
}

/** A log-normal sample with this median and shape (sigma): most calls near the median, a long slow tail. */
export function logNormal(random: Random, median: number, sigma: number): number {
  // Box-Muller; 1 - random() keeps the log away from 0
  const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return median * Math.exp(sigma * z);
}
