// scripts/bundle.mjs (run by `npm run build` after tsc): bundles the CLI that bin/netq.js runs.
//
// Every `netq` call is a fresh Node process, and deploy hooks make one per deploy. Most of its start-up
// is loading bullmq, ioredis, zod and commander from hundreds of small files; one bundle of them loads
// about 150 ms faster here (docs/benchmarks.md). Only those packages (and what they pull in) are bundled:
// everything else (dockerode, fastify, bull-board, pino, …) stays an ordinary import from node_modules,
// loaded only by the commands that need it (`netq worker`, `netq serve`), so packages that find their
// own files on disk keep working. The chunks for those commands are split off and loaded lazily.
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';

const ROOT = path.resolve(import.meta.dirname, '..');
const OUT = path.join(ROOT, 'dist/bundle');
// built beside it and swapped in, so a `netq` started during a build (a hook, a test) never finds it missing
const NEXT = `${OUT}.next-${process.pid}`;
const OLD = `${OUT}.old-${process.pid}`;

/** Bundled packages: the CLI's start-up path. */
const BUNDLED = new Set([
  'bullmq',
  'ioredis',
  'zod',
  'commander',
  // what bullmq and ioredis import
  '@ioredis/commands',
  'cluster-key-slot',
  'cron-parser',
  'debug',
  'denque',
  'lodash.defaults',
  'lodash.isarguments',
  'luxon',
  'ms',
  'msgpackr',
  'node-abort-controller',
  'redis-errors',
  'redis-parser',
  'semver',
  'standard-as-callback',
  'tslib',
  'uuid',
]);

const packageOf = (spec) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);

await rm(NEXT, { recursive: true, force: true });
await build({
  entryPoints: [path.join(ROOT, 'dist/producers/cli.js')],
  outdir: NEXT,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  // error classes keep their names (err.type in log lines, the stack traces BullMQ keeps): DockerUnreachableError, not Ax
  keepNames: true,
  sourcemap: true,
  // bundled CommonJS (ioredis) calls require(); an ES module has none of its own
  banner: {
    js: "import { createRequire as __netqCreateRequire } from 'node:module'; const require = __netqCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
  plugins: [
    {
      name: 'bundle-only-the-start-up-path',
      setup(b) {
        b.onResolve({ filter: /^[^./]/ }, (args) => {
          if (args.path.startsWith('node:') || !BUNDLED.has(packageOf(args.path))) return { external: true };
          return undefined;
        });
      },
    },
  ],
});
await rename(OUT, OLD).catch((err) => {
  if (err.code !== 'ENOENT') throw err;
});
await rename(NEXT, OUT);
await rm(OLD, { recursive: true, force: true });
