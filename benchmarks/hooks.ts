// What serializing hooks costs: 16 containers created in parallel through the API, without hooks
// and with one 10 ms createRuntime hook each (the hooks of all of them run one at a time).
//
//   node build/benchmarks/hooks.js [--rounds N]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime } from '../actors/runtime.js';
import type { Hooks } from '../native/spec/config.js';
import { makeBundle, makeRootfs } from '../test/helpers/fixtures.js';
import { median, numberArg } from './common.js';

const PARALLEL = 16;
const rounds = numberArg('rounds', 5);
const dir = mkdtempSync(join(tmpdir(), 'berth-bench-hooks-'));
const rootfs = makeRootfs(join(dir, 'rootfs'));
const rt = new Runtime({ root: join(dir, 'state') });

const hook10ms: Hooks = { createRuntime: [{ path: '/bin/sleep', args: ['sleep', '0.01'] }] };
const bundles = {
  none: makeBundle(join(dir, 'none'), rootfs, ['true']),
  hook: makeBundle(join(dir, 'hook'), rootfs, ['true'], (c) => (c.hooks = hook10ms)),
};

/** Milliseconds for PARALLEL creates at once, then their deletes. */
async function round(kind: keyof typeof bundles, n: number): Promise<number> {
  const ids = Array.from({ length: PARALLEL }, (_, i) => `${kind}-${n}-${i}`);
  const start = performance.now();
  const created = await Promise.allSettled(ids.map((id) => rt.create({ id, bundle: bundles[kind], stdio: 'ignore' })));
  const took = performance.now() - start;
  // Every container that was made goes, even when another failed.
  await Promise.all(created.flatMap((c, i) => (c.status === 'fulfilled' ? [rt.delete(ids[i]!, { force: true })] : [])));
  const failed = created.find((c) => c.status === 'rejected');
  if (failed) throw failed.reason;
  return took;
}

try {
  await round('none', -1); // warm the pool
  const times: Record<string, number[]> = { none: [], hook: [] };
  for (let n = 0; n < rounds; n++) for (const kind of ['none', 'hook'] as const) times[kind]!.push(await round(kind, n));
  const none = median(times.none!);
  const hook = median(times.hook!);
  console.log(`# ${PARALLEL} parallel creates, median of ${rounds} rounds`);
  console.log(`no hooks                 ${none.toFixed(0).padStart(6)} ms`);
  console.log(`a 10 ms hook each        ${hook.toFixed(0).padStart(6)} ms   +${(hook - none).toFixed(0)} ms, ${((hook - none) / PARALLEL).toFixed(1)} ms per hook (16 × 10 ms run one at a time: 160 ms at least)`);
} finally {
  await rt.close();
  rmSync(dir, { recursive: true, force: true });
}
