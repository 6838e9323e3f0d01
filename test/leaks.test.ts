// Nothing grows with use: lifecycles and execs through cli/berth, then the server's fds, threads
// and zombie children, the host's mount table, berth's cgroup folders and the state root are as
// they were; the same for lifecycles through the API in this process (its fds, threads, zombies,
// and its heap after a GC within a bound). A fast slice here; BERTH_LEAK_CYCLES and
// BERTH_LEAK_API_CYCLES run more (`BERTH_LEAK_CYCLES=1000 BERTH_LEAK_API_CYCLES=10000 node
// --expose-gc build/test/leaks.test.js`).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { berth, containerFolders, isRoot, makeBundle, ok, serverPid, uniqueId, workspace, zombieChildrenOf } from './helpers/fixtures.js';
import { sleepSync, waitUntil } from './helpers/wait.js';

const test = suite('leaks');
const { dir, root, rootfs } = workspace(test);
const cycles = Number(process.env.BERTH_LEAK_CYCLES ?? 60);

/** What could grow: counted. */
function footprint(server: number) {
  const status = readFileSync(`/proc/${server}/status`, 'utf8');
  return {
    fds: readdirSync(`/proc/${server}/fd`).length,
    threads: Number(/^Threads:\s+(\d+)/m.exec(status)![1]),
    zombies: zombieChildrenOf(server).length,
    mounts: readFileSync('/proc/self/mountinfo', 'utf8').split('\n').length,
    cgroups: readdirSync('/sys/fs/cgroup').flatMap((h) => {
      try {
        return readdirSync(join('/sys/fs/cgroup', h)).filter((d) => d.startsWith('berth-leak'));
      } catch {
        return [];
      }
    }).length,
    state: containerFolders(root).length,
  };
}

test(`${cycles} lifecycles and execs through the CLI leave the server, the mount table, cgroups and the state root as they were`, () => {
  const once = makeBundle(join(dir, 'once'), rootfs, ['true']);
  const sleeper = makeBundle(join(dir, 'sleeper'), rootfs, ['sleep', '600']);
  const cycle = () => {
    ok(berth(root, ['run', '--bundle', once, uniqueId('leak')]), 'run');
    const id = uniqueId('leak');
    ok(berth(root, ['run', '-d', '--bundle', sleeper, id]), 'run -d');
    ok(berth(root, ['exec', id, 'true']), 'exec');
    ok(berth(root, ['pause', id]), 'pause');
    ok(berth(root, ['resume', id]), 'resume');
    ok(berth(root, ['delete', '--force', id]), 'delete -f');
  };
  for (let i = 0; i < 5; i++) cycle(); // warm: the server's lazily opened files and pools
  const server = serverPid(root);
  assert.ok(server, 'a server serves the root');
  // The last call's connection may still be closing in the server: a moment to settle, not to leak
  // (before the cycles as after them).
  const settled = () => {
    let last = JSON.stringify(footprint(server!));
    waitUntil(() => {
      sleepSync(50);
      const now = JSON.stringify(footprint(server!));
      return now === last || ((last = now), false);
    }, 2_000);
    return JSON.parse(last) as ReturnType<typeof footprint>;
  };
  const before = settled();
  for (let i = 0; i < cycles; i++) cycle();
  let after = footprint(server!);
  waitUntil(() => JSON.stringify((after = footprint(server!))) === JSON.stringify(before), 2_000);
  assert.is(serverPid(root), server, 'the same server throughout');
  assert.equal(after, before);
});

const apiCycles = Number(process.env.BERTH_LEAK_API_CYCLES ?? 100);

test(`${apiCycles} lifecycles through the API leave this process, the mount table, cgroups and the state root as they were`, async () => {
  const { Runtime } = await import('../actors/runtime.js');
  const apiRoot = join(dir, 'api-state');
  const rt = new Runtime({ root: apiRoot });
  const once = makeBundle(join(dir, 'api-once'), rootfs, ['true']);
  const cycle = async () => {
    const id = uniqueId('leak');
    await rt.create({ id, bundle: once, stdio: 'ignore' });
    await rt.start(id);
    await rt.wait(id);
    await rt.delete(id);
  };
  const heap = () => {
    (globalThis as { gc?: () => void }).gc?.();
    return process.memoryUsage().heapUsed;
  };
  try {
    for (let i = 0; i < 10; i++) await cycle(); // warm: lazily made modules, pools and caches
    const count = () => ({ ...footprint(process.pid), state: readdirSync(apiRoot).length });
    const before = count();
    const heapBefore = heap();
    for (let i = 0; i < apiCycles; i++) await cycle();
    let after = count();
    waitUntil(() => JSON.stringify((after = count())) === JSON.stringify(before), 2_000);
    assert.equal(after, before);
    // Without --expose-gc the heap is only looked at, not bounded: a GC may simply not have come yet.
    if ((globalThis as { gc?: () => void }).gc) assert.ok(heap() - heapBefore < 8 * 2 ** 20, `the heap grew ${((heap() - heapBefore) / 2 ** 20).toFixed(1)} MB`);
  } finally {
    await rt.close();
  }
});

if (isRoot) test.run();
else console.log('leaks: skipped (needs root)');
