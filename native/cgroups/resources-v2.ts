// linux.resources → cgroup v2 files in the container's one directory. The spec speaks v1: values
// are converted as runc converts them, and a field v2 has no counterpart for is an error, unless
// its value asks for what v2 always does (useHierarchy true, kernel memory -1, ...).
import type { BlockIOResources, CpuResources, MemoryResources, Resources } from '../spec/config.js';
import { ConfigError } from '../spec/validate.js';
import { deviceFilterProgram } from './devices-bpf.js';
import { devicePolicy, type DeviceRule } from './devices.js';
import { cpusetWrites, hugepageWrites, isSet, majorMinor, pidsWrites, rdmaWrites, swapNeedsLimit, WriteList, type CgroupWrite, type HostFacts } from './writes.js';

const R = 'linux.resources';

const noV2 = (field: string, what: string) => new ConfigError(field, `cgroup v2 has ${what}`);

export function v2Writes(r: Resources, facts: HostFacts, deviceRules: DeviceRule[]): CgroupWrite[] {
  if (r.network?.classID !== undefined) throw noV2(`${R}.network.classID`, 'no net_cls controller');
  if (r.network?.priorities?.length) throw noV2(`${R}.network.priorities`, 'no net_prio controller');
  const w = new WriteList(facts, 2);
  pidsWrites(w, r.pids);
  memory(w, r.memory ?? {});
  io(w, r.blockIO ?? {});
  cpu(w, r.cpu ?? {});
  w.writes.push({ kind: 'device-filter', field: `${R}.devices`, program: deviceFilterProgram(devicePolicy(deviceRules)) });
  hugepageWrites(w, r.hugepageLimits ?? [], facts.hugepageSizes, 'max');
  rdmaWrites(w, r.rdma);
  unified(w, r.unified ?? {});
  return w.writes;
}

const max = (v: number) => (v === -1 ? 'max' : v);

/** v2's memory.swap.max counts swap alone, the spec's swap memory+swap: runc's conversion. */
export function swapOnly(limit: number, swap: number): number {
  return swap === -1 || limit === -1 ? swap : swap - limit;
}

function memory(w: WriteList, m: MemoryResources): void {
  const f = `${R}.memory`;
  for (const key of ['kernel', 'kernelTCP'] as const) if (isSet(m[key]) && m[key] !== -1) throw noV2(`${f}.${key}`, 'no kernel memory limits (only -1, no limit, can be honoured)');
  if (m.swappiness !== undefined) throw noV2(`${f}.swappiness`, 'no swappiness per cgroup');
  if (m.disableOOMKiller) throw noV2(`${f}.disableOOMKiller`, 'no way to disable the OOM killer');
  if (m.useHierarchy === false) throw noV2(`${f}.useHierarchy`, 'only hierarchical accounting');
  swapNeedsLimit(m.limit, m.swap, f);
  if (isSet(m.swap)) w.file('memory', 'memory.swap.max', max(swapOnly(m.limit!, m.swap)), `${f}.swap`);
  if (isSet(m.limit)) w.file('memory', 'memory.max', max(m.limit), `${f}.limit`);
  if (isSet(m.reservation)) w.file('memory', 'memory.low', max(m.reservation), `${f}.reservation`);
}

/** io.weight is 1..10000 around 100, blkio's weight 10..1000 around 500: runc's linear map. */
export const ioWeight = (blkioWeight: number) => 1 + Math.floor(((blkioWeight - 10) * 9999) / 990);

const throttleKeys = [
  ['throttleReadBpsDevice', 'rbps'],
  ['throttleWriteBpsDevice', 'wbps'],
  ['throttleReadIOPSDevice', 'riops'],
  ['throttleWriteIOPSDevice', 'wiops'],
] as const;

/** BFQ takes blkio weights as they are (io.bfq.weight); without BFQ they go to io.weight, converted. */
function io(w: WriteList, b: BlockIOResources): void {
  const f = `${R}.blockIO`;
  if (b.leafWeight !== undefined) throw noV2(`${f}.leafWeight`, 'no leaf weights');
  const weight = (device: string, value: number, field: string) =>
    w.file('io', 'io.bfq.weight', `${device}${value}`, field, { ifMissing: { file: 'io.weight', value: `${device}${ioWeight(value)}` } });
  if (b.weight !== undefined) weight('', b.weight, `${f}.weight`);
  b.weightDevice?.forEach((d, i) => {
    if (d.leafWeight !== undefined) throw noV2(`${f}.weightDevice[${i}].leafWeight`, 'no leaf weights');
    weight(`${majorMinor(d)} `, d.weight!, `${f}.weightDevice[${i}].weight`);
  });
  for (const [key, limit] of throttleKeys) b[key]?.forEach((d, i) => w.file('io', 'io.max', `${majorMinor(d)} ${limit}=${d.rate}`, `${f}.${key}[${i}]`));
}

/** cpu.weight (1..10000, default 100) from shares (2..262144, default 1024): runc's curve through both ends and the defaults. */
export function cpuWeight(shares: number): number {
  if (shares <= 2) return 1;
  if (shares >= 262144) return 10000;
  const l = Math.log2(shares);
  return Math.ceil(10 ** ((l * l + 125 * l) / 612 - 7 / 34));
}

function cpu(w: WriteList, c: CpuResources): void {
  const f = `${R}.cpu`;
  for (const key of ['realtimeRuntime', 'realtimePeriod'] as const) if (isSet(c[key])) throw noV2(`${f}.${key}`, 'no realtime group scheduling');
  if (c.idle !== undefined) w.file('cpu', 'cpu.idle', c.idle, `${f}.idle`);
  if (isSet(c.shares)) w.file('cpu', 'cpu.weight', cpuWeight(c.shares), `${f}.shares`);
  // "QUOTA PERIOD", quota "max" for none; without a period the kernel keeps the one it has.
  if (isSet(c.quota) || isSet(c.period)) {
    const quota = isSet(c.quota) ? max(c.quota) : 'max';
    w.file('cpu', 'cpu.max', isSet(c.period) ? `${quota} ${c.period}` : quota, isSet(c.quota) ? `${f}.quota` : `${f}.period`, { interlocked: c.burst !== undefined });
  }
  if (c.burst !== undefined) w.file('cpu', 'cpu.max.burst', c.burst, `${f}.burst`, { interlocked: true });
  cpusetWrites(w, c);
}

/**
 * Written as given, after everything else (so they win), one line per write: the kernel reads one
 * entry per write (io.max for several devices). Controllers are not checked here: cgroup2 has files
 * of absent controllers too (cpu.pressure); a missing file is the error.
 */
function unified(w: WriteList, files: Record<string, string>): void {
  for (const [file, value] of Object.entries(files)) {
    const lines = value.split('\n').filter((l) => l !== '');
    for (const line of lines.length > 0 ? lines : [value]) w.unchecked(file.split('.')[0]!, file, line, `${R}.unified.${file}`);
  }
}
