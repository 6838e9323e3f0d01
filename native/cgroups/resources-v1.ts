// linux.resources → cgroup v1 files, each in its controller's hierarchy. The order is one a fresh
// cgroup accepts (no quota, no memory limit yet); values the kernel checks against each other are
// marked interlocked, so applying them over older values (update) finds its order by retrying.
import type { BlockIOResources, CpuResources, MemoryResources, NetworkResources, Resources } from '../spec/config.js';
import { ConfigError } from '../spec/validate.js';
import { devicePolicy, v1DeviceLine, type DeviceRule } from './devices.js';
import {
  cpusetWrites,
  hugepageWrites,
  isSet,
  majorMinor,
  pageCounterValue,
  pidsWrites,
  rdmaWrites,
  swapNeedsLimit,
  WriteList,
  type CgroupWrite,
  type HostFacts,
} from './writes.js';

const R = 'linux.resources';

export function v1Writes(r: Resources, facts: HostFacts, deviceRules: DeviceRule[]): CgroupWrite[] {
  if (r.unified && Object.keys(r.unified).length > 0) throw new ConfigError(`${R}.unified`, "holds cgroup v2 files, but this container's cgroup is v1");
  const w = new WriteList(facts, 1);
  devices(w, deviceRules);
  memory(w, r.memory ?? {}, facts.pageSize);
  cpu(w, r.cpu ?? {});
  pidsWrites(w, r.pids);
  blockIO(w, r.blockIO ?? {});
  hugepageWrites(w, r.hugepageLimits ?? [], facts.hugepageSizes, 'limit_in_bytes');
  network(w, r.network ?? {});
  rdmaWrites(w, r.rdma);
  return w.writes;
}

/** In the order given, after a reset: the kernel applies each line to the list the last one left. */
function devices(w: WriteList, rules: DeviceRule[]): void {
  const { base, rules: later } = devicePolicy(rules);
  for (const rule of [base, ...later]) w.file('devices', rule.allow ? 'devices.allow' : 'devices.deny', v1DeviceLine(rule), rule.field);
}

/** The v1 byte limits, in the order a fresh cgroup takes them (memory+swap may not go below memory). */
const memoryLimitFiles = [
  ['limit', 'memory.limit_in_bytes', true],
  ['swap', 'memory.memsw.limit_in_bytes', true],
  ['reservation', 'memory.soft_limit_in_bytes', false],
  ['kernel', 'memory.kmem.limit_in_bytes', false],
  ['kernelTCP', 'memory.kmem.tcp.limit_in_bytes', false],
] as const;

function memory(w: WriteList, m: MemoryResources, pageSize: number): void {
  const f = `${R}.memory`;
  swapNeedsLimit(m.limit, m.swap, f);
  // Only a cgroup without children may change it: first.
  if (m.useHierarchy !== undefined) w.file('memory', 'memory.use_hierarchy', m.useHierarchy ? 1 : 0, `${f}.useHierarchy`);
  for (const [key, file, interlocked] of memoryLimitFiles) {
    const value = m[key];
    // Read back: recent kernels take a kernel memory limit without error and ignore it.
    if (isSet(value)) w.file('memory', file, value, `${f}.${key}`, { expect: pageCounterValue(value, pageSize), interlocked });
  }
  if (m.swappiness !== undefined) w.file('memory', 'memory.swappiness', m.swappiness, `${f}.swappiness`);
  if (m.disableOOMKiller !== undefined) w.file('memory', 'memory.oom_control', m.disableOOMKiller ? 1 : 0, `${f}.disableOOMKiller`);
}

function cpu(w: WriteList, c: CpuResources): void {
  const f = `${R}.cpu`;
  // Read back: the kernel clamps shares to 2..262144 without a word.
  if (isSet(c.shares)) w.file('cpu', 'cpu.shares', c.shares, `${f}.shares`, { expect: String(c.shares) });
  if (isSet(c.period)) w.file('cpu', 'cpu.cfs_period_us', c.period, `${f}.period`, { interlocked: true });
  if (isSet(c.quota)) w.file('cpu', 'cpu.cfs_quota_us', c.quota, `${f}.quota`, { interlocked: true });
  if (c.burst !== undefined) w.file('cpu', 'cpu.cfs_burst_us', c.burst, `${f}.burst`, { interlocked: true });
  if (isSet(c.realtimePeriod)) w.file('cpu', 'cpu.rt_period_us', c.realtimePeriod, `${f}.realtimePeriod`, { interlocked: true });
  if (isSet(c.realtimeRuntime)) w.file('cpu', 'cpu.rt_runtime_us', c.realtimeRuntime, `${f}.realtimeRuntime`, { interlocked: true });
  if (c.idle !== undefined) w.file('cpu', 'cpu.idle', c.idle, `${f}.idle`);
  cpusetWrites(w, c);
}

const throttleFiles = [
  ['throttleReadBpsDevice', 'blkio.throttle.read_bps_device'],
  ['throttleWriteBpsDevice', 'blkio.throttle.write_bps_device'],
  ['throttleReadIOPSDevice', 'blkio.throttle.read_iops_device'],
  ['throttleWriteIOPSDevice', 'blkio.throttle.write_iops_device'],
] as const;

/** Weights go to CFQ's files, or to BFQ's where the kernel has only that scheduler's. */
function blockIO(w: WriteList, b: BlockIOResources): void {
  const f = `${R}.blockIO`;
  const weight = (file: string, bfqFile: string, value: string, field: string) => w.file('blkio', file, value, field, { ifMissing: { file: bfqFile, value } });
  if (b.weight !== undefined) weight('blkio.weight', 'blkio.bfq.weight', String(b.weight), `${f}.weight`);
  if (b.leafWeight !== undefined) w.file('blkio', 'blkio.leaf_weight', b.leafWeight, `${f}.leafWeight`);
  b.weightDevice?.forEach((d, i) => {
    if (d.weight !== undefined) weight('blkio.weight_device', 'blkio.bfq.weight_device', `${majorMinor(d)} ${d.weight}`, `${f}.weightDevice[${i}].weight`);
    if (d.leafWeight !== undefined) w.file('blkio', 'blkio.leaf_weight_device', `${majorMinor(d)} ${d.leafWeight}`, `${f}.weightDevice[${i}].leafWeight`);
  });
  for (const [key, file] of throttleFiles) b[key]?.forEach((d, i) => w.file('blkio', file, `${majorMinor(d)} ${d.rate}`, `${f}.${key}[${i}]`));
}

function network(w: WriteList, n: NetworkResources): void {
  const f = `${R}.network`;
  if (n.classID !== undefined) w.file('net_cls', 'net_cls.classid', n.classID, `${f}.classID`);
  n.priorities?.forEach((p, i) => w.file('net_prio', 'net_prio.ifpriomap', `${p.name} ${p.priority}`, `${f}.priorities[${i}]`));
}
