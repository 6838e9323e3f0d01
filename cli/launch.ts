// The CLI's first file: compile the bundle with V8's code cache, so each call skips most of the
// parsing and compiling of berth.cjs. Written at exit, the cache holds every function the call
// compiled, so what it saves depends on which call wrote it: one that ran a container operation
// (it loaded koffi) saves ≈20 ms more per `run` here than one that printed --version. So there are
// two: `full`, written by the first such call, and `light`, by any first call, used until `full`
// exists. Each is written when missing or stale (a new Node rejects an old one), atomically; when
// it cannot be written, berth runs all the same.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';

const bundle = join(__dirname, 'berth.cjs');
const cacheFiles = { full: `${bundle}.full.cache`, light: `${bundle}.light.cache` };

function read(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined; // not written yet
  }
}

const full = read(cacheFiles.full);
const cachedData = full ?? read(cacheFiles.light);
const script = new Script(Module.wrap(readFileSync(bundle, 'utf8')), { filename: bundle, cachedData });
const stale = !cachedData || script.cachedDataRejected;

process.once('exit', () => {
  const ranOperation = Object.keys(require.cache).some((m) => m.includes('/koffi/'));
  try {
    if (ranOperation && (!full || stale)) write(cacheFiles.full);
    else if (stale) {
      write(cacheFiles.light);
      if (full) rmSync(cacheFiles.full, { force: true }); // stale: the light one serves until an operation writes it again
    }
  } catch {
    // a read-only install: no cache
  }
});

function write(path: string): void {
  const tmp = `${path}.${process.pid}`;
  writeFileSync(tmp, script.createCachedData());
  renameSync(tmp, path);
}

const mod = { exports: {} };
script.runInThisContext()(mod.exports, createRequire(bundle), mod, bundle, dirname(bundle));
