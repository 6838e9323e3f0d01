// The CLI's first file: compile the bundle with V8's code cache, so each call skips most of the
// parsing and compiling of berth.cjs (about 13 ms of a `run` here). The cache is written next to
// the bundle the first time it is missing or stale (a new Node rejects an old one), atomically;
// when it cannot be written, berth runs all the same.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';

const bundle = join(__dirname, 'berth.cjs');
const cacheFile = `${bundle}.cache`;
let cachedData: Buffer | undefined;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  // first run after a build
}
const script = new Script(Module.wrap(readFileSync(bundle, 'utf8')), { filename: bundle, cachedData });
if (!cachedData || script.cachedDataRejected)
  process.once('exit', () => {
    try {
      const tmp = `${cacheFile}.${process.pid}`;
      writeFileSync(tmp, script.createCachedData());
      renameSync(tmp, cacheFile);
    } catch {
      // a read-only install: no cache
    }
  });
const mod = { exports: {} };
script.runInThisContext()(mod.exports, createRequire(bundle), mod, bundle, dirname(bundle));
