// linux.resources through cli/berth: a created container's cgroup holds the limits before its
// program runs, they hold inside it, and a limit the host refuses leaves nothing behind.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { berth, cgroupsLeft, type ConfigPatch, isRoot, makeBundle, uniqueId, workspace } from './helpers/fixtures.js';

const test = suite('cli resources');
const { dir, root, rootfs } = workspace(test);

const bundle = (id: string, args: string[], patch: ConfigPatch) => makeBundle(join(dir, id), rootfs, args, patch);
const cgroupFile = (id: string, hierarchy: string, file: string) => readFileSync(`/sys/fs/cgroup/${hierarchy}/berth-${id}/${file}`, 'utf8').trim();

test('create puts pids.limit, memory.limit and device rules into the container’s cgroup', () => {
  const id = uniqueId('res');
  const b = bundle(id, ['sleep', '30'], (c) => {
    c.linux.resources = { ...c.linux.resources, pids: { limit: 20 }, memory: { limit: 64 << 20, swap: 64 << 20 }, cpu: { shares: 512 } };
  });
  const r = berth(root, ['create', '-b', b, id]);
  assert.is(r.status, 0, r.stderr);
  assert.is(cgroupFile(id, 'pids', 'pids.max'), '20');
  assert.is(cgroupFile(id, 'memory', 'memory.limit_in_bytes'), String(64 << 20));
  assert.is(cgroupFile(id, 'memory', 'memory.memsw.limit_in_bytes'), String(64 << 20));
  assert.is(cgroupFile(id, 'cpu', 'cpu.shares'), '512');
  const devices = cgroupFile(id, 'devices', 'devices.list').split('\n');
  assert.ok(devices.includes('c 1:3 rwm') && devices.includes('c 136:* rwm') && !devices.includes('a *:* rwm'), devices.join(', '));
  assert.is(berth(root, ['delete', '-f', id]).status, 0);
  assert.equal(cgroupsLeft(`berth-${id}`), []);
});

test('the limits hold inside: the container cannot fork past pids.limit, and its /dev works', () => {
  const id = uniqueId('fork');
  const script = 'cat /dev/null && echo dev-ok; i=0; while [ $i -lt 10 ]; do sleep 5 & i=$((i+1)); done';
  const r = berth(root, ['run', '-b', bundle(id, ['sh', '-c', script], (c) => (c.linux.resources = { ...c.linux.resources, pids: { limit: 4 } })), id]);
  assert.is(r.stdout, 'dev-ok\n');
  assert.match(r.stderr, /can't fork/);
  assert.not.ok(existsSync(join(root, id)));
});

test('a limit the kernel refuses fails create and leaves nothing behind', () => {
  const id = uniqueId('refused');
  const r = berth(root, ['create', '-b', bundle(id, ['true'], (c) => (c.linux.resources = { cpu: { cpus: '4095' } })), id]);
  assert.is(r.status, 1);
  assert.match(r.stderr.trim(), /^linux\.resources\.cpu\.cpus: cpuset\.cpus: E[A-Z]+ \(.*\), writing "4095"$/);
  assert.not.ok(existsSync(join(root, id)), 'no state folder');
  assert.equal(cgroupsLeft(`berth-${id}`), [], 'no cgroup');
});

test('a field the host cannot honour fails before anything is made', () => {
  const id = uniqueId('early');
  const r = berth(root, ['create', '-b', bundle(id, ['true'], (c) => (c.linux.resources = { unified: { 'memory.high': '1' } })), id]);
  assert.is(r.status, 1);
  assert.is(r.stderr.trim(), "linux.resources.unified: holds cgroup v2 files, but this container's cgroup is v1");
  assert.not.ok(existsSync(join(root, id)));
  assert.equal(cgroupsLeft(`berth-${id}`), []);
});

if (isRoot) test.run();
else console.log('cli resources: skipped (needs root)');
