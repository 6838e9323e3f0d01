// The programmatic API: the same lifecycle through Runtime's messages, on the worker pool, with
// typed results, errors and events.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Runtime, type RuntimeEvent } from '../actors/runtime.js';
import { assertNothingLeft, isRoot, makeBundle, rejects, uniqueId, workspace, zombieChildrenOf } from './helpers/fixtures.js';

const test = suite('api');
const { dir, root, rootfs } = workspace(test, () => rt.close());
const rt = new Runtime({ root, host: 'pool' }); // every operation on the pool (the default takes it for concurrent ones only)
const events: RuntimeEvent[] = [];
rt.on((e) => events.push(e));

const bundle = (id: string, args: string[]) => makeBundle(join(dir, id), rootfs, args);

test('create → start → wait → delete, with state events and the exit status', async () => {
  const id = uniqueId('api');
  const { pid } = await rt.create({ id, bundle: bundle(id, ['sh', '-c', 'exit 3']), stdio: 'ignore' });
  assert.is((await rt.state(id)).status, 'created');
  await rt.start(id);
  const exit = await rt.wait(id);
  assert.equal(exit, { id, pid, exec: false, exitCode: 3, signal: null });
  assert.is((await rt.state(id)).status, 'stopped');
  await rt.delete(id);
  const mine = events.filter((e) => e.id === id);
  assert.equal(
    mine.map((e) => (e.type === 'state' ? e.status : 'exit')),
    ['created', 'running', 'exit', 'deleted'],
  );
  assertNothingLeft(root, id, dir);
});

test('run: the exit of a program killed by a signal', async () => {
  const id = uniqueId('api-kill');
  const done = rt.run({ id, bundle: bundle(id, ['sleep', '30']), stdio: 'ignore' });
  for (let i = 0; i < 200 && (await rt.list()).every((s) => s.id !== id || s.status !== 'running'); i++) await new Promise((r) => setTimeout(r, 10));
  await rt.kill(id, 'KILL');
  const { exit } = await done;
  assert.is(exit?.signal, 9);
  assert.is(exit?.exitCode, null);
  assertNothingLeft(root, id, dir);
});

test('delete -f of a created container reaps its process: no zombie is left, however the SIGCHLD falls', async () => {
  const inline = new Runtime({ root, host: 'inline' });
  try {
    for (const r of [rt, inline]) {
      for (let i = 0; i < 6; i++) {
        const id = uniqueId('api-zombie');
        await r.create({ id, bundle: bundle(id, ['true']), stdio: 'ignore' });
        await r.delete(id, { force: true });
      }
    }
  } finally {
    await inline.close();
  }
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(zombieChildrenOf(process.pid), []);
});

test('errors carry a kind and runc’s words', async () => {
  const id = uniqueId('api-err');
  await rejects(rt.state(id), 'not-found', 'container does not exist');
  await rejects(rt.create({ id: 'a/b', bundle: dir }), 'invalid', 'invalid container id format: a/b');
  await rt.create({ id, bundle: bundle(id, ['sleep', '30']), stdio: 'ignore' });
  await rejects(rt.create({ id, bundle: bundle(id, ['true']) }), 'exists', `container with id exists: ${id}`);
  await rt.start(id);
  await rejects(rt.start(id), 'state', 'cannot start an already running container');
  await rejects(rt.delete(id), 'state', `cannot delete container ${id} that is not stopped: running`);
  await rejects(rt.kill(id, 'NOPE'), 'invalid', 'unknown signal "NOPE"');
  await rt.delete(id, { force: true });
});

test('operations on one container queue in order; on many they run in parallel', async () => {
  const id = uniqueId('api-order');
  const b = bundle(id, ['sleep', '30']);
  const [created, started, deleted] = await Promise.all([
    rt.create({ id, bundle: b, stdio: 'ignore' }),
    rt.start(id),
    rt.delete(id, { force: true }),
  ]);
  assert.is(created.id, id);
  assert.is(started.pid, created.pid);
  assert.is(deleted.id, id);
  assertNothingLeft(root, id, dir);

  const ids = Array.from({ length: 8 }, (_, i) => uniqueId(`api-par${i}`));
  const runs = await Promise.all(ids.map((i) => rt.run({ id: i, bundle: bundle(i, ['true']), stdio: 'ignore' })));
  assert.ok(runs.every((r) => r.exit?.exitCode === 0));
  assert.is(new Set(runs.map((r) => r.pid)).size, 8);
});

test('live containers hold no threads: 20 running, the thread count stays bounded', async () => {
  const ids = Array.from({ length: 20 }, (_, i) => uniqueId(`api-live${i}`));
  await Promise.all(ids.map((i) => rt.run({ id: i, bundle: bundle(i, ['sleep', '30']), stdio: 'ignore', detach: true })));
  const threads = readdirSync('/proc/self/task').length;
  assert.ok(threads < 20, `${threads} threads for 20 live containers`);
  await Promise.all(ids.map((i) => rt.delete(i, { force: true })));
});

test('events() iterates what happens', async () => {
  const id = uniqueId('api-iter');
  const seen: string[] = [];
  const iterate = (async () => {
    for await (const e of rt.events()) {
      if (e.id !== id) continue;
      seen.push(e.type === 'state' ? e.status : 'exit');
      if (e.type === 'state' && e.status === 'deleted') break;
    }
  })();
  await rt.run({ id, bundle: bundle(id, ['true']), stdio: 'ignore' });
  await iterate;
  assert.equal(seen, ['created', 'running', 'exit', 'deleted']);
});

if (isRoot) test.run();
else console.log('api: skipped (needs root)');
