// SIMULATED: what the fleet bench asks of its simulated engines process (bench/fleet/simFleet.ts).
import path from 'node:path';
import type { HostShape } from './simHost.js';
import type { LatencyModel } from './simLatency.js';

export interface FleetSpec {
  /** folder of the sockets: `<dir>/<host>.sock` */
  dir: string;
  hosts: string[];
  /** everything of a host's shape but its name */
  shape: Omit<HostShape, 'host'>;
  latency: LatencyModel;
}

export const socketOf = (dir: string, host: string) => path.join(dir, `${host}.sock`);
