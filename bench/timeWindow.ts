// The time windows of the profile's measured runs, on the clock of V8's CPU profiles.

/** Monotonic microseconds: the clock of V8's CPU profiles (CLOCK_MONOTONIC), comparable across processes. */
export const nowUs = () => Number(process.hrtime.bigint() / 1000n);

export interface Window {
  fromUs: number;
  toUs: number;
}
export const inWindow = (t: number, w: Window) => t >= w.fromUs && t <= w.toUs;
