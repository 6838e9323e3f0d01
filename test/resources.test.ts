// linux.resources → cgroup writes, v1 and v2: every field, the conversions, the order, the errors.
// Pure: host facts are made up here. The device filter is run by a small eBPF interpreter.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { controllerDirs, hugepageSizeName, parentsBelowMount } from '../native/cgroups/apply.js';
import { deviceFilterInsns, encodeInsns, OP, type Insn } from '../native/cgroups/devices-bpf.js';
import { berthDeviceRules, configDeviceRules, devicePolicy } from '../native/cgroups/devices.js';
import { parseLayout } from '../native/cgroups/layout.js';
import { resourceWrites } from '../native/cgroups/resources.js';
import { cpuWeight, ioWeight, swapOnly } from '../native/cgroups/resources-v2.js';
import { pageCounterValue, type CgroupWrite, type FileWrite, type HostFacts } from '../native/cgroups/writes.js';
import { ConfigError, parseConfig, parseResources } from '../native/spec/validate.js';
import { defaultSpec } from '../native/spec/defaults.js';

const facts = (controllers: string[], more: Partial<HostFacts> = {}): HostFacts => ({
  controllers: new Set(controllers),
  unifiedOnly: new Set(),
  hugepageSizes: ['2MB', '1GB'],
  pageSize: 4096,
  ...more,
});
const v1Facts = facts(['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'blkio', 'pids', 'hugetlb', 'net_cls', 'net_prio', 'rdma']);
const v2Facts = facts(['cpu', 'cpuset', 'memory', 'io', 'pids', 'hugetlb', 'rdma']);

const compile = (raw: unknown, version: 1 | 2, f = version === 1 ? v1Facts : v2Facts) => resourceWrites(parseResources(raw, 'linux.resources'), version, f);

/** The file writes other than the device rules every compile has. */
const files = (writes: CgroupWrite[]) => writes.filter((w): w is FileWrite => w.kind === 'file' && w.controller !== 'devices');
/** `controller file=value` for each file write. */
const brief = (writes: CgroupWrite[]) => files(writes).map((w) => `${w.controller} ${w.file}=${w.value}`);
const fileWrite = (controller: string, file: string, value: string, field: string, more: Partial<FileWrite> = {}): FileWrite => ({ kind: 'file', controller, file, value, field, ...more });

function fails(what: () => unknown, message: string) {
  try {
    what();
  } catch (e) {
    assert.instance(e, ConfigError);
    assert.is((e as Error).message, message);
    return;
  }
  assert.unreachable(`expected: ${message}`);
}

const M = 'linux.resources.memory';

test('v1 memory: every field; byte limits read back in whole pages; memory before memory+swap', () => {
  const writes = compile({ memory: { limit: 100000000, reservation: 50000000, swap: 200000000, kernel: -1, kernelTCP: 8192, swappiness: 10, disableOOMKiller: true, useHierarchy: true } }, 1);
  assert.equal(files(writes), [
    fileWrite('memory', 'memory.use_hierarchy', '1', `${M}.useHierarchy`),
    fileWrite('memory', 'memory.limit_in_bytes', '100000000', `${M}.limit`, { expect: '99999744', interlocked: true }),
    fileWrite('memory', 'memory.memsw.limit_in_bytes', '200000000', `${M}.swap`, { expect: '199999488', interlocked: true }),
    fileWrite('memory', 'memory.soft_limit_in_bytes', '50000000', `${M}.reservation`, { expect: '49999872' }),
    fileWrite('memory', 'memory.kmem.limit_in_bytes', '-1', `${M}.kernel`, { expect: '9223372036854771712' }),
    fileWrite('memory', 'memory.kmem.tcp.limit_in_bytes', '8192', `${M}.kernelTCP`, { expect: '8192' }),
    fileWrite('memory', 'memory.swappiness', '10', `${M}.swappiness`),
    fileWrite('memory', 'memory.oom_control', '1', `${M}.disableOOMKiller`),
  ]);
  assert.equal(brief(compile({ memory: { limit: 0, swap: 0, disableOOMKiller: false, useHierarchy: false } }, 1)), ['memory memory.use_hierarchy=0', 'memory memory.oom_control=0'], '0 leaves a limit alone');
});

test('v1 page counters: whole pages, -1 and huge values as the largest count', () => {
  assert.is(pageCounterValue(4095, 4096), '0');
  assert.is(pageCounterValue(8192, 4096), '8192');
  assert.is(pageCounterValue(-1, 4096), '9223372036854771712');
  assert.is(pageCounterValue(2 ** 63, 4096), '9223372036854771712');
  assert.is(pageCounterValue(-1, 65536), '9223372036854710272');
});

test('v2 memory: memory.max, memory.low, and swap converted to swap alone as runc does', () => {
  assert.equal(brief(compile({ memory: { limit: 1000, swap: 3000, reservation: 500 } }, 2)), ['memory memory.swap.max=2000', 'memory memory.max=1000', 'memory memory.low=500']);
  assert.equal(brief(compile({ memory: { limit: 1000, swap: 1000 } }, 2)), ['memory memory.swap.max=0', 'memory memory.max=1000'], 'swap equal to memory: no swap');
  assert.equal(brief(compile({ memory: { limit: -1, swap: -1, reservation: -1 } }, 2)), ['memory memory.swap.max=max', 'memory memory.max=max', 'memory memory.low=max']);
  assert.equal(brief(compile({ memory: { limit: 1000, swap: -1 } }, 2)), ['memory memory.swap.max=max', 'memory memory.max=1000']);
  assert.equal(brief(compile({ memory: { limit: -1, swap: 3000 } }, 2)), ['memory memory.swap.max=3000', 'memory memory.max=max']);
  assert.equal(brief(compile({ memory: { kernel: -1, kernelTCP: 0, useHierarchy: true, disableOOMKiller: false } }, 2)), [], 'what v2 always does is no error');
  assert.equal([swapOnly(100, 300), swapOnly(-1, 300), swapOnly(100, -1)], [200, 300, -1]);
});

test('memory fields v2 has no counterpart for are errors naming the field', () => {
  fails(() => compile({ memory: { kernel: 1000 } }, 2), `${M}.kernel: cgroup v2 has no kernel memory limits (only -1, no limit, can be honoured)`);
  fails(() => compile({ memory: { kernelTCP: 1000 } }, 2), `${M}.kernelTCP: cgroup v2 has no kernel memory limits (only -1, no limit, can be honoured)`);
  fails(() => compile({ memory: { swappiness: 0 } }, 2), `${M}.swappiness: cgroup v2 has no swappiness per cgroup`);
  fails(() => compile({ memory: { disableOOMKiller: true } }, 2), `${M}.disableOOMKiller: cgroup v2 has no way to disable the OOM killer`);
  fails(() => compile({ memory: { useHierarchy: false } }, 2), `${M}.useHierarchy: cgroup v2 has only hierarchical accounting`);
});

test('swap limits memory+swap: below the limit, or without one, is an error', () => {
  fails(() => compile({ memory: { limit: 2000, swap: 1000 } }, 1), `${M}.swap: 1000 is below limit 2000: swap limits memory+swap`);
  for (const v of [1, 2] as const) fails(() => compile({ memory: { swap: 1000 } }, v), `${M}.swap: needs ${M}.limit as well: swap limits memory+swap`);
  assert.equal(brief(compile({ memory: { swap: -1 } }, 1)), ['memory memory.memsw.limit_in_bytes=-1']);
});

const C = 'linux.resources.cpu';

test('v1 cpu: shares read back (the kernel clamps), CFS and RT values interlocked, cpuset in its own hierarchy', () => {
  const writes = compile({ cpu: { shares: 512, quota: 50000, period: 100000, burst: 1000, realtimeRuntime: 950000, realtimePeriod: 1000000, cpus: '0-1', mems: '0', idle: 1 } }, 1);
  assert.equal(files(writes), [
    fileWrite('cpu', 'cpu.shares', '512', `${C}.shares`, { expect: '512' }),
    fileWrite('cpu', 'cpu.cfs_period_us', '100000', `${C}.period`, { interlocked: true }),
    fileWrite('cpu', 'cpu.cfs_quota_us', '50000', `${C}.quota`, { interlocked: true }),
    fileWrite('cpu', 'cpu.cfs_burst_us', '1000', `${C}.burst`, { interlocked: true }),
    fileWrite('cpu', 'cpu.rt_period_us', '1000000', `${C}.realtimePeriod`, { interlocked: true }),
    fileWrite('cpu', 'cpu.rt_runtime_us', '950000', `${C}.realtimeRuntime`, { interlocked: true }),
    fileWrite('cpu', 'cpu.idle', '1', `${C}.idle`),
    fileWrite('cpuset', 'cpuset.cpus', '0-1', `${C}.cpus`),
    fileWrite('cpuset', 'cpuset.mems', '0', `${C}.mems`),
  ]);
  assert.equal(brief(compile({ cpu: { quota: -1, shares: 0, period: 0, cpus: '', mems: '' } }, 1)), ['cpu cpu.cfs_quota_us=-1'], '0 and "" leave a value alone');
});

test('v2 cpu: shares → cpu.weight on runc’s curve, quota and period → cpu.max, then burst', () => {
  assert.equal(brief(compile({ cpu: { shares: 1024, quota: 50000, period: 100000, burst: 1000, idle: 0, cpus: '0', mems: '0' } }, 2)), [
    'cpu cpu.idle=0',
    'cpu cpu.weight=100',
    'cpu cpu.max=50000 100000',
    'cpu cpu.max.burst=1000',
    'cpuset cpuset.cpus=0',
    'cpuset cpuset.mems=0',
  ]);
  const max = (cpu: object) => files(compile({ cpu }, 2)).find((w) => w.file === 'cpu.max');
  assert.equal(max({ quota: -1 }), fileWrite('cpu', 'cpu.max', 'max', `${C}.quota`));
  assert.equal(max({ period: 200000 }), fileWrite('cpu', 'cpu.max', 'max 200000', `${C}.period`), 'a period alone: no quota');
  assert.equal(max({ quota: 1000, burst: 10 })!.interlocked, true, 'burst may not exceed the quota');
  const weights: [number, number][] = [[1, 1], [2, 1], [3, 2], [512, 59], [1024, 100], [2048, 174], [262143, 10000], [262144, 10000], [300000, 10000]];
  for (const [shares, weight] of weights) assert.is(cpuWeight(shares), weight, `shares ${shares}`);
  fails(() => compile({ cpu: { realtimeRuntime: 1 } }, 2), `${C}.realtimeRuntime: cgroup v2 has no realtime group scheduling`);
  fails(() => compile({ cpu: { realtimePeriod: 1 } }, 2), `${C}.realtimePeriod: cgroup v2 has no realtime group scheduling`);
});

test('pids.limit: -1 is max, 0 is a real limit (runtime-spec 1.3), same file on both versions', () => {
  for (const v of [1, 2] as const) {
    assert.equal(brief(compile({ pids: { limit: -1 } }, v)), ['pids pids.max=max']);
    assert.equal(brief(compile({ pids: { limit: 0 } }, v)), ['pids pids.max=0']);
    assert.equal(brief(compile({ pids: { limit: 5 } }, v)), ['pids pids.max=5']);
    assert.equal(brief(compile({ pids: {} }, v)), []);
  }
});

const B = 'linux.resources.blockIO';
const blockIO = {
  weight: 500,
  leafWeight: 300,
  weightDevice: [{ major: 8, minor: 0, weight: 400, leafWeight: 200 }, { major: 8, minor: 16, weight: 10 }],
  throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1000 }],
  throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 2000 }],
  throttleReadIOPSDevice: [{ major: 8, minor: 0, rate: 30 }],
  throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 40 }],
};

test('v1 blockIO: CFQ files, BFQ’s where the kernel has only those; "major:minor value" lines', () => {
  assert.equal(files(compile({ blockIO }, 1)), [
    fileWrite('blkio', 'blkio.weight', '500', `${B}.weight`, { ifMissing: { file: 'blkio.bfq.weight', value: '500' } }),
    fileWrite('blkio', 'blkio.leaf_weight', '300', `${B}.leafWeight`),
    fileWrite('blkio', 'blkio.weight_device', '8:0 400', `${B}.weightDevice[0].weight`, { ifMissing: { file: 'blkio.bfq.weight_device', value: '8:0 400' } }),
    fileWrite('blkio', 'blkio.leaf_weight_device', '8:0 200', `${B}.weightDevice[0].leafWeight`),
    fileWrite('blkio', 'blkio.weight_device', '8:16 10', `${B}.weightDevice[1].weight`, { ifMissing: { file: 'blkio.bfq.weight_device', value: '8:16 10' } }),
    fileWrite('blkio', 'blkio.throttle.read_bps_device', '8:0 1000', `${B}.throttleReadBpsDevice[0]`),
    fileWrite('blkio', 'blkio.throttle.write_bps_device', '8:0 2000', `${B}.throttleWriteBpsDevice[0]`),
    fileWrite('blkio', 'blkio.throttle.read_iops_device', '8:0 30', `${B}.throttleReadIOPSDevice[0]`),
    fileWrite('blkio', 'blkio.throttle.write_iops_device', '8:16 40', `${B}.throttleWriteIOPSDevice[0]`),
  ]);
});

test('v2 blockIO: io.bfq.weight as given or io.weight converted; io.max; no leaf weights', () => {
  const { leafWeight, weightDevice, ...rest } = blockIO;
  const v2 = { ...rest, weightDevice: weightDevice.map(({ leafWeight, ...d }) => d) };
  assert.equal(files(compile({ blockIO: v2 }, 2)), [
    fileWrite('io', 'io.bfq.weight', '500', `${B}.weight`, { ifMissing: { file: 'io.weight', value: '4950' } }),
    fileWrite('io', 'io.bfq.weight', '8:0 400', `${B}.weightDevice[0].weight`, { ifMissing: { file: 'io.weight', value: '8:0 3940' } }),
    fileWrite('io', 'io.bfq.weight', '8:16 10', `${B}.weightDevice[1].weight`, { ifMissing: { file: 'io.weight', value: '8:16 1' } }),
    fileWrite('io', 'io.max', '8:0 rbps=1000', `${B}.throttleReadBpsDevice[0]`),
    fileWrite('io', 'io.max', '8:0 wbps=2000', `${B}.throttleWriteBpsDevice[0]`),
    fileWrite('io', 'io.max', '8:0 riops=30', `${B}.throttleReadIOPSDevice[0]`),
    fileWrite('io', 'io.max', '8:16 wiops=40', `${B}.throttleWriteIOPSDevice[0]`),
  ]);
  assert.equal([ioWeight(10), ioWeight(500), ioWeight(1000)], [1, 4950, 10000]);
  fails(() => compile({ blockIO: { leafWeight } }, 2), `${B}.leafWeight: cgroup v2 has no leaf weights`);
  fails(() => compile({ blockIO: { weightDevice } }, 2), `${B}.weightDevice[0].leafWeight: cgroup v2 has no leaf weights`);
});

test('hugepageLimits: the usage limit, and the reservation limit where the kernel has one', () => {
  const field = 'linux.resources.hugepageLimits[0]';
  assert.equal(files(compile({ hugepageLimits: [{ pageSize: '2MB', limit: 4194304 }] }, 1)), [
    fileWrite('hugetlb', 'hugetlb.2MB.limit_in_bytes', '4194304', field),
    fileWrite('hugetlb', 'hugetlb.2MB.rsvd.limit_in_bytes', '4194304', field, { ifMissing: 'skip' }),
  ]);
  assert.equal(brief(compile({ hugepageLimits: [{ pageSize: '1GB', limit: 0 }] }, 2)), ['hugetlb hugetlb.1GB.max=0', 'hugetlb hugetlb.1GB.rsvd.max=0']);
  fails(() => compile({ hugepageLimits: [{ pageSize: '3MB', limit: 1 }] }, 1), `${field}.pageSize: this kernel has no 3MB huge pages (it has: 2MB, 1GB)`);
  fails(() => compile({ hugepageLimits: [{ pageSize: '2MB', limit: 1 }] }, 1, facts(['devices'], { hugepageSizes: [] })), `${field}.pageSize: this kernel has no 2MB huge pages (it has: none)`);
});

test('a controller the host lacks is an error naming the field; on a hybrid host it says where the controller is', () => {
  const hugetlb = { hugepageLimits: [{ pageSize: '2MB', limit: 1 }] };
  fails(() => compile(hugetlb, 1, facts(['devices'])), 'linux.resources.hugepageLimits[0]: the hugetlb controller has no cgroup v1 hierarchy on this host');
  fails(
    () => compile(hugetlb, 1, facts(['devices'], { unifiedOnly: new Set(['hugetlb']) })),
    'linux.resources.hugepageLimits[0]: the hugetlb controller has no cgroup v1 hierarchy on this host; this hybrid host has it on cgroup2 only, which berth uses with --cgroup-version 2',
  );
  fails(() => compile({ pids: { limit: 1 } }, 2, facts([])), "linux.resources.pids.limit: the pids controller is not available on this host's cgroup2 (see its cgroup.controllers)");
  fails(() => compile({}, 1, facts([])), 'linux.resources.devices: the devices controller has no cgroup v1 hierarchy on this host');
  assert.ok(compile({}, 2, facts([])).length === 1, 'v2 device rules need no controller');
});

test('network: net_cls and net_prio on v1; v2 has neither', () => {
  assert.equal(brief(compile({ network: { classID: 1048577, priorities: [{ name: 'eth0', priority: 500 }, { name: 'lo', priority: 10 }] } }, 1)), [
    'net_cls net_cls.classid=1048577',
    'net_prio net_prio.ifpriomap=eth0 500',
    'net_prio net_prio.ifpriomap=lo 10',
  ]);
  fails(() => compile({ network: { classID: 1 } }, 2), 'linux.resources.network.classID: cgroup v2 has no net_cls controller');
  fails(() => compile({ network: { priorities: [{ name: 'lo', priority: 1 }] } }, 2), 'linux.resources.network.priorities: cgroup v2 has no net_prio controller');
  assert.equal(brief(compile({ network: { priorities: [] } }, 2)), []);
});

test('rdma.max names only the limits given, on both versions', () => {
  for (const v of [1, 2] as const) {
    assert.equal(brief(compile({ rdma: { mlx5_1: { hcaHandles: 3, hcaObjects: 10000 }, rxe3: { hcaObjects: 5 } } }, v)), ['rdma rdma.max=mlx5_1 hca_handle=3 hca_object=10000', 'rdma rdma.max=rxe3 hca_object=5']);
  }
});

test('unified: v2 files written as given, one line per write, after everything else; an error on v1', () => {
  const writes = files(compile({ pids: { limit: 3 }, unified: { 'io.max': '8:0 rbps=10\n8:16 wbps=20\n', 'memory.high': '1000', 'cpu.pressure': 'some 150000 1000000' } }, 2, facts(['pids'])));
  assert.equal(writes.map((w) => `${w.controller} ${w.file}=${w.value} (${w.field})`), [
    'pids pids.max=3 (linux.resources.pids.limit)',
    'io io.max=8:0 rbps=10 (linux.resources.unified.io.max)',
    'io io.max=8:16 wbps=20 (linux.resources.unified.io.max)',
    'memory memory.high=1000 (linux.resources.unified.memory.high)',
    'cpu cpu.pressure=some 150000 1000000 (linux.resources.unified.cpu.pressure)',
  ]);
  assert.equal(brief(compile({ unified: { 'cgroup.freeze': '' } }, 2)), ['cgroup cgroup.freeze=']);
  fails(() => compile({ unified: { 'memory.high': '1' } }, 1), "linux.resources.unified: holds cgroup v2 files, but this container's cgroup is v1");
  assert.equal(brief(compile({ unified: {} }, 1)), []);
});

const D = 'linux.resources.devices';

test('v1 devices: a reset to "deny all", the config’s rules in order, then berth’s', () => {
  const config = parseConfig({ ...defaultSpec(), linux: { ...defaultSpec().linux, devices: [{ type: 'c', path: '/dev/fuse', major: 10, minor: 229 }, { type: 'p', path: '/dev/fifo' }, { type: 'c', path: '/dev/null', major: 1, minor: 3 }] } });
  const rules = [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 10, minor: 229, access: 'rw' }, { allow: false, type: 'b', major: 8, access: 'w' }];
  const writes = resourceWrites(parseResources({ devices: rules }, 'linux.resources'), 1, v1Facts, berthDeviceRules(config.linux.devices)) as FileWrite[];
  assert.equal(writes.map((w) => `${w.file} ${w.value}`), [
    'devices.deny a *:* rwm',
    'devices.allow c 10:229 rw',
    'devices.deny b 8:* w',
    'devices.allow c 1:5 rwm',
    'devices.allow c 1:7 rwm',
    'devices.allow c 1:8 rwm',
    'devices.allow c 1:9 rwm',
    'devices.allow c 5:0 rwm',
    'devices.allow c 136:* rwm',
    'devices.allow c 5:2 rwm',
    'devices.allow c 10:229 m',
    'devices.allow c 1:3 m',
  ]);
  assert.equal(writes.slice(0, 3).map((w) => w.field), [`${D}[0]`, `${D}[1]`, `${D}[2]`]);
  assert.is(writes[3]!.field, "linux.resources.devices (berth's rule for /dev/zero)");
  const none = resourceWrites({}, 1, v1Facts) as FileWrite[];
  assert.equal(none.map((w) => `${w.file} ${w.value}`), ['devices.deny a *:* rwm'], 'no rules: deny all');
});

test('an "a" rule stands for every device and access and wipes out the rules before it', () => {
  const policy = devicePolicy(configDeviceRules([{ allow: true, type: 'c', major: 1, minor: 3 }, { allow: true, type: 'a', major: 5, access: 'r' }, { allow: false, type: 'c', minor: 7 }]));
  assert.equal(policy.base, { allow: true, type: 'a', major: 5, minor: null, access: 'r', field: `${D}[1]` });
  assert.equal(policy.rules, [{ allow: false, type: 'c', major: null, minor: 7, access: 'rwm', field: `${D}[2]` }]);
  const writes = resourceWrites(parseResources({ devices: [{ allow: true, type: 'a', major: 5, access: 'r' }] }, 'linux.resources'), 1, v1Facts) as FileWrite[];
  assert.equal(writes.map((w) => `${w.file} ${w.value}`), ['devices.allow a *:* rwm']);
});

/** Just enough eBPF to run the device filter: what deviceFilterInsns emits, forward jumps only. */
function runFilter(insns: Insn[], type: 'b' | 'c', major: number, minor: number, access: string): boolean {
  const accessBits = [...access].reduce((a, l) => a | ({ m: 1, r: 2, w: 4 } as Record<string, number>)[l]!, 0);
  const ctx = [(accessBits << 16) | (type === 'b' ? 1 : 2), major, minor];
  const reg = new Array<number>(11).fill(0);
  for (let pc = 0; pc < insns.length; pc++) {
    const i = insns[pc]!;
    if (i.code === OP.JA || i.code === OP.JMP32_JNE_K || i.code === OP.JMP32_JSET_K) assert.ok(i.off >= 0, 'no backward jumps');
    const u32 = (n: number) => n >>> 0;
    switch (i.code) {
      case OP.LDX_MEM_W:
        assert.is(i.src, 1, 'loads from the context in R1');
        reg[i.dst] = u32(ctx[i.off / 4]!);
        break;
      case OP.ALU32_AND_K:
        reg[i.dst] = u32(reg[i.dst]! & i.imm);
        break;
      case OP.ALU32_RSH_K:
        reg[i.dst] = reg[i.dst]! >>> i.imm;
        break;
      case OP.ALU32_MOV_K:
        reg[i.dst] = u32(i.imm);
        break;
      case OP.JA:
        pc += i.off;
        break;
      case OP.JMP32_JNE_K:
        if (u32(reg[i.dst]!) !== u32(i.imm)) pc += i.off;
        break;
      case OP.JMP32_JSET_K:
        if (reg[i.dst]! & i.imm) pc += i.off;
        break;
      case OP.EXIT:
        return reg[0] === 1;
      default:
        assert.unreachable(`unexpected opcode ${i.code}`);
    }
  }
  throw new Error('fell off the end');
}

test('the v2 device filter: default deny, and per access the last rule naming the device decides', () => {
  const filter = (rules: object[]) => {
    const insns = deviceFilterInsns(devicePolicy(configDeviceRules(parseResources({ devices: rules }, 'linux.resources').devices)));
    return (type: 'b' | 'c', major: number, minor: number, access: string) => runFilter(insns, type, major, minor, access);
  };
  const none = filter([]);
  assert.not.ok(none('c', 1, 3, 'r'), 'no rules: deny');
  const all = filter([{ allow: true, access: 'rwm' }]);
  assert.ok(all('c', 1, 3, 'rwm') && all('b', 8, 0, 'w'), 'allow all');
  const null13 = filter([{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' }]);
  assert.ok(null13('c', 1, 3, 'r') && null13('c', 1, 3, 'rw'));
  assert.not.ok(null13('c', 1, 3, 'm'), 'mknod not named');
  assert.not.ok(null13('c', 1, 3, 'rm'), 'one denied access denies the call');
  assert.not.ok(null13('c', 1, 5, 'r') || null13('b', 1, 3, 'r'), 'other numbers, other type');
  const later = filter([{ allow: true, type: 'c', major: 1, access: 'rwm' }, { allow: false, type: 'c', major: 1, minor: 3, access: 'w' }]);
  assert.ok(later('c', 1, 3, 'r') && later('c', 1, 5, 'w'));
  assert.not.ok(later('c', 1, 3, 'w') || later('c', 1, 3, 'rw'), 'the later deny wins for w');
  const earlier = filter([{ allow: false, type: 'c', major: 1, minor: 3, access: 'w' }, { allow: true, type: 'c', major: 1, access: 'w' }]);
  assert.ok(earlier('c', 1, 3, 'w'), 'the later allow wins');
  const holes = filter([{ allow: true, access: 'rwm' }, { allow: false, type: 'c', major: 1, minor: 3 }]);
  assert.ok(holes('c', 1, 5, 'r') && !holes('c', 1, 3, 'r'), 'allow all but one');
  const wiped = filter([{ allow: true, type: 'c', major: 1, minor: 3 }, { allow: false, type: 'a' }]);
  assert.not.ok(wiped('c', 1, 3, 'r'), 'an "a" rule wipes the earlier ones');
  const big = filter([{ allow: true, type: 'c', major: 4294967295, access: 'r' }]);
  assert.ok(big('c', 4294967295, 0, 'r') && !big('c', 1, 0, 'r'), 'u32 numbers compare without sign trouble');
});

test('struct bpf_insn encoding: code, dst in the low nibble, src in the high one, off, imm (little-endian)', () => {
  const buf = encodeInsns([
    { code: OP.LDX_MEM_W, dst: 2, src: 1, off: 4, imm: 0 },
    { code: OP.JMP32_JNE_K, dst: 4, src: 0, off: -1, imm: 0xffffffff },
  ]);
  assert.is(buf.toString('hex'), '61120400' + '00000000' + '5604ffff' + 'ffffffff');
});

test('host facts and directories, from text', () => {
  assert.equal(['hugepages-2048kB', 'hugepages-1048576kB', 'hugepages-64kB', 'hugepages-32768kB', 'other'].map(hugepageSizeName), ['2MB', '1GB', '64KB', '32MB', null]);
  const layout = parseLayout(['26 25 0:23 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct', '27 25 0:24 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory', '28 25 0:25 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids'].join('\n'));
  const dirs = controllerDirs(layout, ['/sys/fs/cgroup/cpu,cpuacct/c', '/sys/fs/cgroup/memory/a/c']);
  assert.equal([...dirs], [
    ['cpu', '/sys/fs/cgroup/cpu,cpuacct/c'],
    ['cpuacct', '/sys/fs/cgroup/cpu,cpuacct/c'],
    ['memory', '/sys/fs/cgroup/memory/a/c'],
  ]);
  assert.equal(parentsBelowMount('/sys/fs/cgroup', '/sys/fs/cgroup/a/b/c'), ['/sys/fs/cgroup', '/sys/fs/cgroup/a', '/sys/fs/cgroup/a/b']);
  assert.equal(parentsBelowMount('/sys/fs/cgroup', '/sys/fs/cgroup/c'), ['/sys/fs/cgroup']);
});

test.run();
