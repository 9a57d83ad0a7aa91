import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { envTable } from '../../src/envTable.js';

describe('README', () => {
  it('carries the environment table generated from the config schema (npm run docs)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(`<!-- env:start -->\n${envTable()}\n<!-- env:end -->`);
  });
});
