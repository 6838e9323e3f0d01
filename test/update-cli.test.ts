// update through cli/berth on live containers: new limits in the cgroup files and in the recorded
// config, errors that name the field, and nothing changed by a failed or refused update.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Config } from '../native/spec/config.js';
import { berth, isRoot, makeBundle, ok, uniqueId, workspace } from './helpers/fixtures.js';
import { waitUntil } from './helpers/wait.js';

const test = suite('update');
const { dir, root, rootfs } = workspace(test);

function running(args: string[], patch: (c: Config) => void): string {
  const id = uniqueId('update');
  ok(berth(root, ['run', '-d', '-b', makeBundle(join(dir, id), rootfs, args, patch), id]), 'run -d');
  return id;
}

const file = (hierarchy: string, id: string, name: string) => readFileSync(`/sys/fs/cgroup/${hierarchy}/berth-${id}/${name}`, 'utf8').trim();

test('update: new limits in the cgroup files and in the recorded config; in a paused container too', () => {
  const id = running(['sleep', '60'], (c) => (c.linux.resources = { ...c.linux.resources, memory: { limit: 64 << 20, swap: 64 << 20 }, pids: { limit: 20 } }));
  ok(berth(root, ['update', '--memory', '128m', '--memory-swap', '256m', '--cpu-share', '512', '--cpu-period', '100000', '--cpu-quota', '50000', '--cpuset-cpus', '0', '--pids-limit', '50', id]), 'update');
  assert.is(file('memory', id, 'memory.limit_in_bytes'), String(128 << 20));
  assert.is(file('memory', id, 'memory.memsw.limit_in_bytes'), String(256 << 20));
  assert.is(file('cpu', id, 'cpu.shares'), '512');
  assert.is(file('cpu', id, 'cpu.cfs_quota_us'), '50000');
  assert.is(file('cpuset', id, 'cpuset.cpus'), '0');
  assert.is(file('pids', id, 'pids.max'), '50');
  const recorded = JSON.parse(readFileSync(join(root, id, 'config.json'), 'utf8')).linux.resources;
  assert.equal(recorded.memory, { limit: 128 << 20, swap: 256 << 20 });
  assert.equal(recorded.pids, { limit: 50 });
  assert.equal(recorded.devices, [{ allow: false, access: 'rwm' }], 'device rules stay');

  // lowering the memory below memory+swap works in either order
  ok(berth(root, ['update', '--memory', '32m', '--memory-swap', '32m', id]), 'update down');
  assert.is(file('memory', id, 'memory.memsw.limit_in_bytes'), String(32 << 20));
  // a swap limit alone keeps the memory limit in force
  ok(berth(root, ['update', '--memory-swap', '48m', id]), 'update swap');
  assert.is(file('memory', id, 'memory.limit_in_bytes'), String(32 << 20));
  assert.is(file('memory', id, 'memory.memsw.limit_in_bytes'), String(48 << 20));

  const resources = join(dir, `${id}-resources.json`);
  writeFileSync(resources, JSON.stringify({ pids: { limit: 7 }, cpu: { shares: 300 } }));
  ok(berth(root, ['update', '-r', resources, id]), 'update -r');
  assert.is(file('pids', id, 'pids.max'), '7');
  assert.is(file('cpu', id, 'cpu.shares'), '300');
  assert.is(ok(berth(root, ['update', '-r', '-', id], { input: '{"pids": {"limit": 8}}' }), 'update -r -'), '');
  assert.is(file('pids', id, 'pids.max'), '8');

  ok(berth(root, ['pause', id]), 'pause');
  ok(berth(root, ['update', '--pids-limit', '9', id]), 'update while paused');
  assert.is(file('pids', id, 'pids.max'), '9');
  assert.is(JSON.parse(ok(berth(root, ['state', id]), 'state')).status, 'paused', 'still paused');
  ok(berth(root, ['delete', '-f', id]), 'delete');
});

test('update: errors name the field; a failed update changes nothing; a stopped container is refused', () => {
  const id = running(['sleep', '60'], (c) => (c.linux.resources = { ...c.linux.resources, pids: { limit: 20 } }));
  const r = berth(root, ['update', '-r', '-', id], { input: '{"memory": {"limit": "lots"}}' });
  assert.is(r.stderr, 'linux.resources.memory.limit: must be an integer, not a string\n');
  const swap = berth(root, ['update', '--memory', '64m', '--memory-swap', '32m', id]);
  assert.is(swap.stderr, `linux.resources.memory.swap: ${32 << 20} is below limit ${64 << 20}: swap limits memory+swap\n`);
  // the kernel takes a kernel memory limit here and ignores it: refused, and the pids limit written before it put back
  const kernel = berth(root, ['update', '--pids-limit', '40', '--kernel-memory', '10m', id]);
  assert.is(kernel.status, 1);
  assert.match(kernel.stderr, /^linux\.resources\.memory\.kernel: memory\.kmem\.limit_in_bytes: /);
  assert.is(file('pids', id, 'pids.max'), '20');
  assert.equal(JSON.parse(readFileSync(join(root, id, 'config.json'), 'utf8')).linux.resources.pids, { limit: 20 });
  assert.is(berth(root, ['update', '--memory', '12x', id]).stderr, 'invalid value "12x" for flag -memory: a size like 512m, 1g or 1048576\n');
  const usage = Number(file('memory', id, 'memory.usage_in_bytes'));
  const below = berth(root, ['update', '-r', '-', id], { input: JSON.stringify({ memory: { limit: 4096, checkBeforeUpdate: true } }) });
  assert.match(below.stderr, /^linux\.resources\.memory\.limit: 4096 is below the container's current memory usage \d+ \(memory\.checkBeforeUpdate\)\n$/);
  assert.ok(usage > 4096, 'the limit asked was below the usage');

  ok(berth(root, ['kill', id, 'KILL']), 'kill');
  assert.ok(waitUntil(() => JSON.parse(ok(berth(root, ['state', id]), 'state')).status === 'stopped'));
  const stopped = berth(root, ['update', '--pids-limit', '5', id]);
  assert.is(stopped.status, 1);
  assert.is(stopped.stderr, 'container not running\n');
  ok(berth(root, ['delete', id]), 'delete');
});


if (isRoot) test.run();
else console.log('update: skipped (needs root)');
