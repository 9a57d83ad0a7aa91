import type { ControlHandler } from '../control.js';

/** network:create|destroy|exists|info|list handlers, by job name. */
export const networkHandlers: Record<string, ControlHandler> = {};
