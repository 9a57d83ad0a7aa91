import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { envTable } from '../../src/envTable.js';

describe('README', () => {
  it('carries the environment table generated from the config schema (npm run docs)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(`<!-- env:start -->\n${envTable()}\n<!-- env:end -->`);
  });
});

describe('docs/reliability.md', () => {
  it('names only tests that exist, by file and exact title', () => {
    const doc = readFileSync(new URL('../../docs/reliability.md', import.meta.url), 'utf8');
    const refs = [...doc.matchAll(/`([a-zA-Z]+\.test\.ts)` › "([^"]+)"/g)];
    expect(refs.length).toBeGreaterThanOrEqual(20);
    for (const [, file, title] of refs) {
      const folder = existsSync(new URL(`../integration/${file}`, import.meta.url)) ? 'integration' : 'unit';
      const source = readFileSync(new URL(`../${folder}/${file}`, import.meta.url), 'utf8');
      const quoted = [`'${title}'`, `"${title}"`, `\`${title}\``];
      // it('title', …) or a table's it.each([...])('title', …)
      expect(
        quoted.some((q) => source.includes(`it(${q}`) || source.includes(`])(${q}`)),
        `${file} › ${title}`,
      ).toBe(true);
    }
  });
});
