import type { ControlHandler } from '../control.js';

/** network:set handler, by job name. */
export const setHandlers: Record<string, ControlHandler> = {};
