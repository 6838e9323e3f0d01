// linux.resources in real cgroups of this test's own, v1 and v2 (this host is hybrid): written,
// read back, and checked by effect with busybox children placed in them. Root only. Each cgroup
// made here is removed and each process left in one killed by pid, even when a test fails.
import { spawnSync } from 'node:child_process';
import { closeSync, constants, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { applyResources, cgroupFacts, CgroupWriteError } from '../native/cgroups/apply.js';
import { encodeInsns, OP } from '../native/cgroups/devices-bpf.js';
import { parseLayout, type CgroupLayout } from '../native/cgroups/layout.js';
import { cgroupDirs, cgroupPids, createCgroup, planCgroup, removeCgroup, type CgroupRecord } from '../native/cgroups/manager.js';
import { resourceWrites } from '../native/cgroups/resources.js';
import { ConfigError, parseResources } from '../native/spec/validate.js';
import { attachedDevicePrograms, loadDeviceProgram } from '../native/syscalls.js';
import { isRoot } from './helpers/fixtures.js';
import { waitUntil } from './helpers/wait.js';

const test = suite('resources in real cgroups');
const BUSYBOX = '/bin/busybox';
const mountinfo = isRoot ? readFileSync('/proc/self/mountinfo', 'utf8') : '';
const layouts = { 1: isRoot ? parseLayout(mountinfo, 1) : null, 2: isRoot ? parseLayout(mountinfo, 2) : null } as Record<1 | 2, CgroupLayout>;
const made: CgroupRecord[] = [];

/** A cgroup of this test's own, at /berth-test-<pid>-NAME in every hierarchy of VERSION. */
async function makeCgroup(version: 1 | 2, name: string): Promise<CgroupRecord> {
  const record = planCgroup(layouts[version], cgroupDirs(layouts[version], `/berth-test-${process.pid}-${name}`, new Map()));
  made.push(record);
  await createCgroup(record, false);
  return record;
}

test.after.each(async () => {
  for (const record of made.splice(0)) {
    for (const pid of cgroupPids(record)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }
    waitUntil(() => cgroupPids(record).length === 0);
    await removeCgroup(record, false);
  }
});

const apply = (record: CgroupRecord, resources: unknown) => {
  const layout = layouts[record.version];
  applyResources(record, resourceWrites(parseResources(resources, 'linux.resources'), record.version, cgroupFacts(layout)), layout);
};
const dirOf = (record: CgroupRecord, hierarchy: string) => record.paths.find((p) => p.startsWith(`/sys/fs/cgroup/${hierarchy}/`))!;
const read = (record: CgroupRecord, hierarchy: string, file: string) => readFileSync(`${dirOf(record, hierarchy)}/${file}`, 'utf8').trim();

/** busybox sh moved into DIRS (its own cgroup.procs writes) before it runs SCRIPT. */
function shIn(dirs: string[], script: string) {
  const join = dirs.map((d) => `echo $$ > ${d}/cgroup.procs && `).join('');
  return spawnSync(BUSYBOX, ['sh', '-c', `${join}${script}`], { encoding: 'utf8', timeout: 20_000 });
}

test('v1: what a create made is what its delete removes: a missing parent too, never a directory that was there; in place (alone) and on the pool alike', async () => {
  const layout = layouts[1];
  for (const alone of [true, false]) {
    const parent = `/berth-test-${process.pid}-parent-${alone ? 'alone' : 'pool'}`;
    const nested = planCgroup(layout, cgroupDirs(layout, `${parent}/a`, new Map()));
    assert.equal(nested.created, nested.paths, 'recorded before anything is made: each path itself');
    made.push(nested);
    await createCgroup(nested, alone);
    assert.equal(nested.created, nested.paths.map((p) => p.slice(0, -'/a'.length)), 'the topmost made: the missing parent');
    const sibling = planCgroup(layout, cgroupDirs(layout, `${parent}/b`, new Map()));
    await createCgroup(sibling, alone);
    assert.equal(sibling.created, sibling.paths, 'the parent was there: only the leaf');
    const again = planCgroup(layout, cgroupDirs(layout, `${parent}/b`, new Map()));
    await createCgroup(again, alone);
    assert.equal(again.created, again.paths.map(() => null), 'all there: nothing made');
    await removeCgroup(again, alone);
    assert.ok(sibling.paths.every((p) => existsSync(p)), 'what was there stays');
    await removeCgroup(sibling, alone);
    assert.ok(sibling.paths.every((p) => !existsSync(p)) && nested.paths.every((p) => existsSync(p)));
  }
});

test('v1: every field this host has, read back', async () => {
  const c = await makeCgroup(1, 'readback');
  apply(c, {
    memory: { limit: 100_000_000, swap: 200_000_000, reservation: 50_000_000, swappiness: 10, disableOOMKiller: true, kernelTCP: 8192 },
    cpu: { shares: 512, period: 200_000, quota: 50_000, burst: 1000, idle: 0, cpus: '0', mems: '0' },
    pids: { limit: 42 },
    devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' }, { allow: true, type: 'b', major: 8, access: 'r' }],
  });
  assert.is(read(c, 'memory', 'memory.limit_in_bytes'), '99999744');
  assert.is(read(c, 'memory', 'memory.memsw.limit_in_bytes'), '199999488');
  assert.is(read(c, 'memory', 'memory.soft_limit_in_bytes'), '49999872');
  assert.is(read(c, 'memory', 'memory.kmem.tcp.limit_in_bytes'), '8192');
  assert.is(read(c, 'memory', 'memory.swappiness'), '10');
  assert.match(read(c, 'memory', 'memory.oom_control'), /^oom_kill_disable 1$/m);
  assert.equal(['cpu.shares', 'cpu.cfs_period_us', 'cpu.cfs_quota_us', 'cpu.cfs_burst_us', 'cpu.idle'].map((f) => read(c, 'cpu', f)), ['512', '200000', '50000', '1000', '0']);
  assert.equal([read(c, 'cpuset', 'cpuset.cpus'), read(c, 'cpuset', 'cpuset.mems')], ['0', '0']);
  assert.is(read(c, 'pids', 'pids.max'), '42');
  assert.is(read(c, 'devices', 'devices.list'), 'c 1:3 rw\nb 8:* r', 'in the order given');
  const disk = readFileSync(`/sys/block/${readdirSync('/sys/block')[0]}/dev`, 'utf8').trim();
  const [major, minor] = disk.split(':').map(Number);
  apply(c, { blockIO: { throttleReadBpsDevice: [{ major, minor, rate: 1 << 20 }], throttleWriteIOPSDevice: [{ major, minor, rate: 100 }] } });
  assert.is(read(c, 'blkio', 'blkio.throttle.read_bps_device'), `${disk} ${1 << 20}`);
  assert.is(read(c, 'blkio', 'blkio.throttle.write_iops_device'), `${disk} 100`);
  // A weight needs the CFQ or BFQ scheduler on some disk: without one the kernel has no file for it.
  const weightFile = ['blkio.weight', 'blkio.bfq.weight'].find((f) => existsSync(`${dirOf(c, 'blkio')}/${f}`));
  if (weightFile) {
    apply(c, { blockIO: { weight: 300 } });
    assert.is(read(c, 'blkio', weightFile), '300', weightFile);
  } else {
    assert.throws(() => apply(c, { blockIO: { weight: 300 } }), /^linux\.resources\.blockIO\.weight: blkio\.weight: this kernel has neither it nor blkio\.bfq\.weight here$/);
  }
});

test('v1: memory and memory+swap go in whichever order the kernel needs, raising or lowering', async () => {
  const c = await makeCgroup(1, 'order');
  const limits = () => [read(c, 'memory', 'memory.limit_in_bytes'), read(c, 'memory', 'memory.memsw.limit_in_bytes')];
  apply(c, { memory: { limit: 40 * 4096, swap: 50 * 4096 } });
  apply(c, { memory: { limit: 400 * 4096, swap: 500 * 4096 } });
  assert.equal(limits(), [String(400 * 4096), String(500 * 4096)], 'raised above the old memory+swap');
  apply(c, { memory: { limit: 10 * 4096, swap: 20 * 4096 } });
  assert.equal(limits(), [String(10 * 4096), String(20 * 4096)], 'lowered below the old memory');
  apply(c, { cpu: { period: 10_000, quota: 5000 } });
  apply(c, { cpu: { period: 1_000_000, quota: 2_000_000 } });
  assert.equal([read(c, 'cpu', 'cpu.cfs_period_us'), read(c, 'cpu', 'cpu.cfs_quota_us')], ['1000000', '2000000']);
});

test('v1: a pids.limit of 5 stops a fork loop', async () => {
  const c = await makeCgroup(1, 'pids');
  apply(c, { pids: { limit: 5 } });
  const dir = dirOf(c, 'pids');
  // The shell gives up at the first fork refused; the sleeps keep their pids until cleanup kills them.
  const r = shIn([dir], `i=0; while [ $i -lt 10 ]; do sleep 60 </dev/null >/dev/null 2>&1 & i=$((i+1)); echo $i; done`);
  assert.is(r.stdout, '1\n2\n3\n4\n', 'the shell and four sleeps: five');
  assert.match(r.stderr, /can't fork/);
  assert.is(cgroupPids(c).length, 4);
  assert.match(read(c, 'pids', 'pids.events'), /^max [1-9]/);
});

test('v1: a memory limit OOM-kills an allocation past it', async () => {
  const c = await makeCgroup(1, 'oom');
  apply(c, { memory: { limit: 16 << 20, swap: 16 << 20 } });
  const small = shIn([dirOf(c, 'memory')], `exec ${BUSYBOX} dd if=/dev/zero of=/dev/null bs=4M count=1 2>/dev/null`);
  assert.is(small.status, 0, 'fits');
  const big = shIn([dirOf(c, 'memory')], `exec ${BUSYBOX} dd if=/dev/zero of=/dev/null bs=64M count=1`);
  assert.is(big.signal, 'SIGKILL');
  assert.match(read(c, 'memory', 'memory.oom_control'), /^oom_kill [1-9]/m);
});

test('v1: device rules by effect', async () => {
  const c = await makeCgroup(1, 'devices');
  apply(c, { devices: [{ allow: false, access: 'rwm' }] });
  const open = () => shIn([dirOf(c, 'devices')], `exec ${BUSYBOX} cat /dev/null`);
  assert.match(open().stderr, /can't open '\/dev\/null': Operation not permitted/);
  apply(c, { devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'r' }] });
  assert.is(open().status, 0);
});

test('v1: what the kernel refuses or lacks is an error naming the field, the file and why', async () => {
  const c = await makeCgroup(1, 'errors');
  const refused = (resources: unknown, message: RegExp) => {
    try {
      apply(c, resources);
    } catch (e) {
      assert.instance(e, CgroupWriteError);
      assert.match((e as Error).message, message);
      return;
    }
    assert.unreachable(`expected ${message}`);
  };
  refused({ cpu: { cpus: '4095' } }, /^linux\.resources\.cpu\.cpus: cpuset\.cpus: ERANGE \(result too large\), writing "4095"$/);
  refused({ cpu: { shares: 1_000_000 } }, /^linux\.resources\.cpu\.shares: cpu\.shares: the kernel took "1000000" but keeps 262144: this host cannot apply it$/);
  const has = (file: string) => existsSync(`${dirOf(c, 'blkio')}/${file}`);
  if (!has('blkio.leaf_weight')) {
    refused({ blockIO: { leafWeight: 300 } }, /^linux\.resources\.blockIO\.leafWeight: blkio\.leaf_weight: this kernel has no such file here/);
  }
  if (!has('blkio.weight') && !has('blkio.bfq.weight')) {
    refused({ blockIO: { weight: 300 } }, /^linux\.resources\.blockIO\.weight: blkio\.weight: this kernel has neither it nor blkio\.bfq\.weight here$/);
  }
  // Recent kernels take a kernel memory limit and ignore it; older ones apply it.
  try {
    apply(c, { memory: { kernel: 64 << 20 } });
    assert.is(read(c, 'memory', 'memory.kmem.limit_in_bytes'), String(64 << 20));
  } catch (e) {
    assert.is((e as Error).message, `linux.resources.memory.kernel: memory.kmem.limit_in_bytes: the kernel took "${64 << 20}" but keeps 9223372036854771712: this host cannot apply it`);
  }
});

test('v2: the device filter by effect: deny, then allow, replacing the earlier filter', async () => {
  const c = await makeCgroup(2, 'devices');
  const open = () => shIn(c.paths, `exec ${BUSYBOX} cat /dev/null`);
  apply(c, { devices: [{ allow: false, access: 'rwm' }] });
  assert.match(open().stderr, /can't open '\/dev\/null': Operation not permitted/);
  apply(c, { devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'r' }] });
  assert.is(open().status, 0);
  assert.match(shIn(c.paths, `echo x > /dev/null`).stderr, /can't create \/dev\/null: Operation not permitted/, 'read only');
  const fd = openSync(c.paths[0]!, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    assert.is(attachedDevicePrograms(fd, c.paths[0]!).length, 1, 'one filter, not two');
  } finally {
    closeSync(fd);
  }
});

test('v2: unified files are written as given; controllers this cgroup2 lacks are refused before any write', async () => {
  const c = await makeCgroup(2, 'unified');
  apply(c, { unified: { 'cgroup.max.descendants': '3', 'cgroup.max.depth': '2' } });
  assert.is(readFileSync(`${c.paths[0]}/cgroup.max.descendants`, 'utf8').trim(), '3');
  assert.is(readFileSync(`${c.paths[0]}/cgroup.max.depth`, 'utf8').trim(), '2');
  if (!cgroupFacts(layouts[2]).controllers.has('pids')) {
    assert.throws(() => apply(c, { pids: { limit: 5 } }), (e: Error) => e instanceof ConfigError && /^linux\.resources\.pids\.limit: the pids controller is not available/.test(e.message));
  }
  assert.throws(() => apply(c, { unified: { 'nosuch.file': '1' } }), /^linux\.resources\.unified\.nosuch\.file: nosuch\.file: this kernel has no such file here/);
});

test('v2: a program the verifier refuses is reported with its words', () => {
  const noExit = encodeInsns([{ code: OP.ALU32_MOV_K, dst: 0, src: 0, off: 0, imm: 1 }]);
  assert.throws(() => loadDeviceProgram(noExit, 'test filter'), /^bpf PROG_LOAD test filter: EINVAL \(invalid argument\): .*(exit|jmp|fall)/);
});

if (isRoot) test.run();
else console.log('resources in real cgroups: skipped (needs root)');
