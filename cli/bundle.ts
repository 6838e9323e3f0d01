// Bundle the CLI into build/bundle/. The CLI is one CommonJS file: a process that lives for one
// operation pays for module loading on every call, and one synchronously loaded file is the
// cheapest (an ESM graph of split chunks measured ~25 ms slower per `run` here). Modules behind a
// dynamic import() stay unevaluated until used. The worker-pool entry is bundled apart.
import { build, type BuildOptions } from 'esbuild';
import { rmSync } from 'node:fs';

rmSync('build/bundle', { recursive: true, force: true });

const common: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  // koffi is a native addon and piscina spawns workers from its own files: both load from node_modules.
  external: ['koffi', 'piscina'],
  sourcemap: true,
  minify: true,
  logLevel: 'warning',
};

await build({
  ...common,
  entryPoints: { berth: 'cli/entry.ts' },
  outdir: 'build/bundle',
  outExtension: { '.js': '.cjs' },
  format: 'cjs',
  // Modules locate files next to themselves through import.meta.url; in CommonJS that is the bundle's own path.
  define: { 'import.meta.url': '__bundleUrl' },
  banner: { js: "const __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
});

await build({ ...common, entryPoints: { launch: 'cli/launch.ts' }, outdir: 'build/bundle', outExtension: { '.js': '.cjs' }, format: 'cjs' });

await build({ ...common, entryPoints: { worker: 'actors/worker.ts' }, outdir: 'build/bundle', format: 'esm' });
