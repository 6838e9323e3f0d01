// pause, resume, update, ps, stats and events through the API (on its default host): typed results,
// state events, stats and oom events on the runtime's event stream, and errors with their kind.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Runtime, type RuntimeEvent } from '../actors/runtime.js';
import type { Config } from '../native/spec/config.js';
import { isRoot, makeBundle, rejects, uniqueId, workspace } from './helpers/fixtures.js';
import { waitUntil } from './helpers/wait.js';

const test = suite('api: operations on running containers');
const { dir, root, rootfs } = workspace(test, () => rt.close());
const rt = new Runtime({ root });
const events: RuntimeEvent[] = [];
rt.on((e) => events.push(e));

async function running(args: string[], patch?: (c: Config) => void): Promise<string> {
  const id = uniqueId('ops-api');
  await rt.run({ id, bundle: makeBundle(join(dir, id), rootfs, args, patch), stdio: 'ignore', detach: true });
  return id;
}

test('pause and resume: state events, typed refusals', async () => {
  const id = await running(['sleep', '60']);
  assert.equal(await rt.pause(id), { id });
  assert.is((await rt.state(id)).status, 'paused');
  await rejects(rt.pause(id), 'state', 'container already paused');
  await rejects(rt.exec({ id, args: ['true'] }), 'state', 'cannot exec in a paused container (use --ignore-paused to override)');
  assert.equal(await rt.resume(id), { id });
  await rejects(rt.resume(id), 'state', 'container not paused');
  const states = events.filter((e) => e.id === id && e.type === 'state').map((e) => (e.type === 'state' ? e.status : ''));
  assert.equal(states.slice(-2), ['paused', 'running']);
  await rt.delete(id, { force: true });
  await rejects(rt.pause(id), 'not-found', 'container does not exist');
});

test('update returns the recorded resources; ps lists the cgroup’s pids; stats reads the cgroup', async () => {
  const id = await running(['sh', '-c', 'sleep 60 & wait'], (c) => (c.linux.resources = { ...c.linux.resources, pids: { limit: 20 } }));
  const { resources } = await rt.update(id, { pids: { limit: 25 }, cpu: { shares: 256 } });
  assert.equal(resources.pids, { limit: 25 });
  assert.is(resources.cpu?.shares, 256);
  assert.is(readFileSync(`/sys/fs/cgroup/pids/berth-${id}/pids.max`, 'utf8').trim(), '25');
  await rejects(rt.update(id, { devices: [{ allow: true, access: 'rwm' }] }), 'invalid', 'linux.resources.devices: update cannot change device rules: they stay as the container was created with');

  const cgroupProcs = () => readFileSync(`/sys/fs/cgroup/pids/berth-${id}/cgroup.procs`, 'utf8').trim().split('\n').map(Number).sort((a, b) => a - b);
  assert.ok(waitUntil(() => cgroupProcs().length === 2), 'sh has started its sleep'); // run returns once sh runs, maybe before its fork
  assert.equal(await rt.ps(id), { id, pids: cgroupProcs() });
  const stats = await rt.stats(id);
  assert.equal(stats.pids, { current: 2, limit: 25 });
  assert.is(stats.cpu.usage.total, Number(readFileSync(`/sys/fs/cgroup/cpuacct/berth-${id}/cpuacct.usage`, 'utf8')));
  await rt.delete(id, { force: true });
});

test('events: stats and oom on the event stream; the watch ends with the container, or when aborted', async () => {
  const id = await running(['sh', '-c', 'sleep 1; dd if=/dev/zero of=/dev/shm/x bs=1M count=64; sleep 1'], (c) => (c.linux.resources = { ...c.linux.resources, memory: { limit: 16 << 20, swap: 16 << 20 } }));
  const result = await rt.send({ type: 'events', id, interval: 200 });
  assert.equal(result, { id, oomKills: 1 });
  const mine = events.filter((e) => e.id === id && (e.type === 'stats' || e.type === 'oom'));
  assert.ok(mine.filter((e) => e.type === 'stats').length >= 5, `${mine.length} events`);
  assert.is(mine.filter((e) => e.type === 'oom').length, 1);
  const stats = mine.find((e) => e.type === 'stats');
  assert.is(stats?.type === 'stats' && stats.data.memory.usage?.limit, 16 << 20);
  await rt.delete(id);

  const idle = await running(['sleep', '60']);
  const stop = new AbortController();
  const watching = rt.send({ type: 'events', id: idle, interval: 50, signal: stop.signal });
  await new Promise((r) => setTimeout(r, 300));
  stop.abort();
  assert.equal(await watching, { id: idle, oomKills: 0 });
  await rt.delete(idle, { force: true });
});

if (isRoot) test.run();
else console.log('api: operations on running containers: skipped (needs root)');
