import type { OperationContext } from './context.js';
import { findNetwork, type NetworkInfoInput } from './networkInfo.js';

/** `network:exists <network>` (GET /v1/networks/:network/exists). */

export type NetworkExistsInput = NetworkInfoInput;

/** Whether the host's engine has a network of exactly this name (never an id or an id prefix). */
export async function networkExists(ctx: OperationContext, input: NetworkExistsInput): Promise<boolean> {
  return (await findNetwork(ctx, input)) !== undefined;
}
