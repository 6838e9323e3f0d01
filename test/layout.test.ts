// cgroup layout detection and a container's cgroup folders, from text.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseLayout, parseProcCgroup } from '../native/cgroups/layout.js';
import { cgroupDirs, defaultCgroupsPath, delegatedCgroupDirs } from '../native/cgroups/manager.js';
import { cHeader, encodePlan, step } from '../native/plan.js';

const hybrid = [
  '25 24 0:22 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755',
  '26 25 0:23 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu',
  '27 25 0:24 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory',
  '28 25 0:25 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw',
].join('\n');

test('hybrid hosts are managed as v1 unless v2 is asked for', () => {
  const l = parseLayout(hybrid);
  assert.is(l.version, 1);
  assert.equal(l.v1.map((h) => h.controllers), [['cpu'], ['memory']]);
  assert.is(parseLayout(hybrid, 2).unified, '/sys/fs/cgroup/unified');
  assert.is(parseLayout('31 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw').version, 2);
  assert.throws(() => parseLayout('', 2), /no cgroup2/);
});

test('a v2 host is managed as v2 by default, as runc and crun do, even with a v1 hierarchy mounted beside it', () => {
  const v2 = '31 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw';
  assert.is(parseLayout(`${v2}\n40 31 0:41 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd`).version, 2, 'a named v1 hierarchy beside');
  assert.is(parseLayout(`${v2}\n40 31 0:41 / /mnt/cpu rw - cgroup cgroup rw,cpu`).version, 2, '/sys/fs/cgroup itself is cgroup2');
  const namedOnly = ['25 24 0:22 / /sys/fs/cgroup rw - tmpfs tmpfs rw', '26 25 0:23 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd', '28 25 0:25 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw'];
  assert.is(parseLayout(namedOnly.join('\n')).version, 2, 'no v1 hierarchy with a controller');
});

test('a hierarchy mounted twice counts once: the first mount', () => {
  const again = `${hybrid}\n90 80 0:24 / /tmp/c/rootfs/sys/fs/cgroup/memory ro - cgroup cgroup rw,memory`;
  assert.equal(parseLayout(again).v1.map((h) => h.mountPoint), ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/memory']);
});

test('absolute cgroupsPath under each hierarchy, relative ones under berth’s own cgroup', () => {
  const own = parseProcCgroup('4:memory:/process_api/x\n3:cpu:/\n0::/svc\n');
  assert.equal(cgroupDirs(parseLayout(hybrid), '/a/b', own), ['/sys/fs/cgroup/cpu/a/b', '/sys/fs/cgroup/memory/a/b']);
  assert.equal(cgroupDirs(parseLayout(hybrid), 'a', own), ['/sys/fs/cgroup/cpu/a', '/sys/fs/cgroup/memory/process_api/x/a']);
  assert.equal(cgroupDirs(parseLayout(hybrid, 2), 'a', own), ['/sys/fs/cgroup/unified/svc/a']);
  assert.is(defaultCgroupsPath('c1'), '/berth-c1');
});

test("a rootless berth's cgroupsPath, relative or absolute, goes below its delegated cgroup, and .. cannot climb out of it", () => {
  const v2 = parseLayout('31 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw');
  const user = '/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service';
  assert.equal(delegatedCgroupDirs(v2, user, '/berth-c1'), [`${user}/berth-c1`]);
  assert.equal(delegatedCgroupDirs(v2, user, 'pods/c1'), [`${user}/pods/c1`]);
  assert.equal(delegatedCgroupDirs(v2, user, '../../../etc'), [`${user}/etc`]);
});

test('a cgroupsPath with .. never leaves the hierarchy: resolved from its root, as runc does', () => {
  const own = parseProcCgroup('4:memory:/process_api/x\n3:cpu:/\n0::/svc\n');
  assert.equal(cgroupDirs(parseLayout(hybrid), '/../../../etc/x', own), ['/sys/fs/cgroup/cpu/etc/x', '/sys/fs/cgroup/memory/etc/x']);
  assert.equal(cgroupDirs(parseLayout(hybrid), '../../a/../b', own), ['/sys/fs/cgroup/cpu/b', '/sys/fs/cgroup/memory/process_api/x/b']);
});

test('the plan wire format: header, ops, typed args', () => {
  const buf = encodePlan([step('SETHOSTNAME', 'h', 'box'), step('SETUID', 'u', 1000)]);
  assert.is(buf.readUInt32LE(0), 0x48545242);
  assert.is(buf.readUInt32LE(4), buf.length);
  assert.is(buf.readUInt32LE(8), 2);
  assert.is(buf.readUInt32LE(12), 12); // SETHOSTNAME
  assert.is(buf.toString('utf8', 28, 32), 'box\0');
  assert.ok(cHeader().includes('#define OP_SETHOSTNAME 12'));
});

test('the plan wire format: integers as i64 LE, strings by their UTF-8 length', () => {
  const ints = [1000, -1, 2 ** 40 + 7, -(2 ** 33), 2n ** 63n - 1n, 2n ** 64n - 1n];
  const buf = encodePlan([step('SETHOSTNAME', 'h', 'bøx'), step('SETUID', 'u', ...ints)]);
  assert.is(buf.readUInt32LE(4), buf.length);
  assert.is(buf.readUInt32LE(24), 5); // "bøx" and its NUL
  assert.is(buf.toString('utf8', 28, 33), 'bøx\0');
  const first = 33 + 8; // the second step's op and argc
  const read = ints.map((_, i) => (assert.is(buf.readUInt32LE(first + i * 16 + 4), 8), buf.readBigInt64LE(first + i * 16 + 8)));
  assert.equal(read, [1000n, -1n, 2n ** 40n + 7n, -(2n ** 33n), 2n ** 63n - 1n, -1n]);
  assert.is(first + ints.length * 16, buf.length);
});

test.run();
