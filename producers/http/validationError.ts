import type { FastifySchemaValidationError } from 'fastify';
import { BadInputError } from '../../src/errors.js';

/**
 * Fastify's schemaErrorFormatter: the first problem of a request that its route's schemas refuse, as one
 * BadInputError (400) line naming the field: `query.wait: expected true or false`, `body.values.0: expected
 * strings`, `body: Unrecognized key: "x"`. Path parameters carry their whole message, as the CLI words it
 * (`invalid app name "X": …`).
 */
export function validationError(errors: FastifySchemaValidationError[], dataVar: string): BadInputError {
  const where = dataVar === 'querystring' ? 'query' : dataVar;
  const first = errors[0];
  const message = first?.message ?? 'invalid';
  const path = (first?.instancePath ?? '').split('/').filter((p) => p !== '');
  let line: string;
  if (where === 'params') line = message;
  else if (where === 'body' && path.length === 0 && first?.keyword === 'invalid_type')
    line = 'body must be a JSON object';
  else line = `${[where, ...path].join('.')}: ${message}`;
  return new BadInputError(line.split('\n')[0] ?? where);
}
