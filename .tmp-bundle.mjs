import { build } from 'esbuild';

const BUNDLED = new Set(process.argv.slice(3));
const pkgOf = (p) => (p.startsWith('@') ? p.split('/').slice(0, 2).join('/') : p.split('/')[0]);
const r = await build({
  entryPoints: ['dist/producers/cli.js'],
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: process.argv[2] === 'min',
  outdir: '.bt',
  banner: {
    js: "import { createRequire as __netqRequire } from 'node:module'; const require = __netqRequire(import.meta.url);",
  },
  plugins: [
    {
      name: 'only-some',
      setup(b) {
        b.onResolve({ filter: /^[^./]/ }, (a) => {
          if (a.path.startsWith('node:')) return { external: true };
          return BUNDLED.has(pkgOf(a.path)) ? undefined : { external: true };
        });
      },
    },
  ],
  logLevel: 'warning',
  metafile: true,
});
const by = {};
for (const [k, v] of Object.entries(r.metafile.outputs)) {
  if (!k.includes('chunk-')) continue;
  for (const [f, i] of Object.entries(v.inputs)) {
    const m = f.match(/node_modules\/((@[^/]+\/)?[^/]+)/);
    const key = m ? m[1] : f.split('/').slice(0, 2).join('/');
    by[key] = (by[key] || 0) + i.bytesInOutput;
  }
}
console.log(
  Object.entries(by)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15)
    .map(([a, b]) => a + ':' + ((b / 1024) | 0) + 'K')
    .join(' '),
);
