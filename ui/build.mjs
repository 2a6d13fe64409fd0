// ui/build.mjs - builds the dashboard into a flat directory (the Makefile: node ui/build.mjs DIR).
//
// esbuild bundles src/main.js (with Chart.js) and src/style.css, minified, into
// app-<hash>.js and app-<hash>.css (content hashes: write-svc serves /ui/* with a year of
// caching), then writes DIR/index.html from src/index.html with those names filled in. No
// inline script or style anywhere: the page runs under a strict Content-Security-Policy.
import * as esbuild from 'esbuild';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if (!out) {
  console.error('usage: node ui/build.mjs OUTDIR');
  process.exit(2);
}
mkdirSync(out, { recursive: true });

const result = await esbuild.build({
  entryPoints: { app: join(here, 'src/main.js'), style: join(here, 'src/style.css') },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2020'],
  entryNames: 'app-[hash]',
  outdir: out,
  metafile: true,
  logLevel: 'warning',
  legalComments: 'none',
});

const names = {};
for (const [file, meta] of Object.entries(result.metafile.outputs)) {
  const ext = file.endsWith('.css') ? 'css' : 'js';
  if (meta.entryPoint) names[ext] = basename(file);
}
if (!names.js || !names.css) throw new Error('esbuild did not produce app-*.js and app-*.css');
const html = readFileSync(join(here, 'src/index.html'), 'utf8')
  .replaceAll('@APP_JS@', `/ui/${names.js}`)
  .replaceAll('@APP_CSS@', `/ui/${names.css}`);
writeFileSync(join(out, 'index.html'), html);
console.log(`ui: ${out}/index.html, ${names.js}, ${names.css}`);
