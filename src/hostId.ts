import { z } from 'zod';

/**
 * A host id (NETQ_HOST_ID): a lowercase DNS label. It is part of queue names and job ids (src/jobs.ts), which
 * split on `.`, so it holds none. The one rule: the config, the payload schemas, the parsers of queue names and
 * job ids and the HTTP input all use it.
 */
export const HOST_ID_SOURCE = '[a-z0-9][a-z0-9-]{0,62}';
export const HOST_ID_PATTERN = new RegExp(`^${HOST_ID_SOURCE}$`);

/** A host id in a payload or a request. */
export const hostIdSchema = z.string().regex(HOST_ID_PATTERN, 'host id must be lowercase letters, digits and "-"');
