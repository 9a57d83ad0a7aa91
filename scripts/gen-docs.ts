// Regenerates the parts of README.md derived from the code: the environment table.
// Run with `npm run docs`; test/unit/docs.test.ts fails when README.md is out of date.
import { readFileSync, writeFileSync } from 'node:fs';
import { envTable } from '../src/envTable.js';

const file = new URL('../README.md', import.meta.url);
const readme = readFileSync(file, 'utf8');
const start = '<!-- env:start -->';
const end = '<!-- env:end -->';
const before = readme.slice(0, readme.indexOf(start) + start.length);
const after = readme.slice(readme.indexOf(end));
writeFileSync(file, `${before}\n${envTable()}\n${after}`);
