// Bundle the CLI into build/bundle/: one file to load at each call (design.md §4: module resolution
// and loading are most of a Node CLI's start-up), with the heavy parts split off and loaded lazily.
import { build } from 'esbuild';

await build({
  entryPoints: { berth: 'cli/entry.ts', worker: 'actors/worker.ts' },
  outdir: 'build/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // koffi is a native addon: loaded from node_modules at run time.
  external: ['koffi'],
  sourcemap: true,
  minify: true,
  logLevel: 'warning',
});
