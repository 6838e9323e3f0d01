// A container's resource use, read from its cgroup files (v1 and v2), in the shape of runc's
// `events` stats (runc's types.Stats: field names and units clients such as containerd decode).
// What a host lacks (a controller, a file) is left out, not reported as zero.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isErrno } from '../errors.js';
import { listNumbers as numbersOf } from '../numberList.js';
import { pageSize } from '../syscalls.js';
import { controllerDirs } from './apply.js';
import { hostLayout, type CgroupLayout } from './layout.js';
import type { CgroupRecord } from './manager.js';
import { pageCounterValue } from './writes.js';

/** Bytes. limit: the v1 kernel's largest value when there is none (what v1 reads; cgroup2's "max" too). */
export interface MemoryEntry {
  limit: number;
  usage: number;
  max: number;
  failcnt: number;
}

/** One device's count for one operation (Read, Write, Sync, Async, Discard, Total). */
export interface BlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

/** Bytes, per page size ("2MB"); v2 keeps no high-water mark (max is left out there, as runc does). */
export interface HugetlbEntry {
  usage?: number;
  max?: number;
  failcnt: number;
}

/** cgroup2's pressure stall information (cpu.pressure, memory.pressure, io.pressure); total in µs. */
export interface PsiData {
  avg10: number;
  avg60: number;
  avg300: number;
  total: number;
}
export type PsiStats = { some?: PsiData; full?: PsiData };

/** The cpuset's CPUs and memory nodes, expanded; v1's flags under their file names (cpuset.<name>). */
export type CpusetStats = { cpus?: number[]; mems?: number[] } & Partial<Record<(typeof cpusetFlags)[number], number>>;

export interface Stats {
  cpu: {
    /** Nanoseconds. */
    usage: { total?: number; percpu?: number[]; percpu_kernel?: number[]; percpu_user?: number[]; kernel?: number; user?: number };
    /** throttledTime in nanoseconds. */
    throttling: { periods?: number; throttledPeriods?: number; throttledTime?: number };
    psi?: PsiStats;
  };
  cpuset: CpusetStats;
  memory: { cache?: number; usage?: MemoryEntry; swap?: MemoryEntry; kernel?: MemoryEntry; kernelTCP?: MemoryEntry; raw?: Record<string, number>; psi?: PsiStats };
  /** limit 0: no limit (runc's reading of "max"). */
  pids: { current?: number; limit?: number };
  blkio: { ioServiceBytesRecursive?: BlkioEntry[]; ioServicedRecursive?: BlkioEntry[]; psi?: PsiStats };
  hugetlb: Record<string, HugetlbEntry>;
}

/** v1's cpuset flags, in runc's names (the file is cpuset.<name>). */
const cpusetFlags = ['cpu_exclusive', 'mem_hardwall', 'mem_exclusive', 'memory_migrate', 'memory_spread_page', 'memory_spread_slab', 'memory_pressure', 'sched_load_balance', 'sched_relax_domain_level'] as const;

/** The file's trimmed text, or null where the directory or the file is missing. */
export function readIn(dir: string | undefined, file: string): string | null {
  if (!dir) return null;
  try {
    return readFileSync(join(dir, file), 'utf8').trim();
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return null;
    throw e;
  }
}

/** `key value` lines (memory.stat, cpu.stat, cpuacct.stat) as a record. Pure. */
export function keyedValues(text: string | null): Record<string, number> | undefined {
  if (text === null) return undefined;
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [key, value] = line.split(' ');
    if (key && value !== undefined) out[key] = Number(value);
  }
  return out;
}

const numbers = (text: string | null) => (text === null ? undefined : text.split(/\s+/).filter(Boolean).map(Number));
const numberIn = (dir: string | undefined, file: string) => {
  const text = readIn(dir, file);
  return text === null ? undefined : Number(text);
};
/** What v1 reads for no limit; cgroup2's "max" is reported as the same. */
const noLimit = () => Number(pageCounterValue(-1, pageSize()));
const limitIn = (dir: string, file: string) => {
  const text = readIn(dir, file);
  return text === null ? undefined : text === 'max' ? noLimit() : Number(text);
};

/** A CPU or node list file's text ("0-3,7") expanded; undefined where the file is missing. Pure. */
export const listNumbers = (text: string | null): number[] | undefined => (text === null ? undefined : numbersOf(text));

/** A pressure file (`some avg10=0.00 avg60=0.00 avg300=0.00 total=0`, and `full ...`). Pure. */
export function psiStats(text: string | null): PsiStats | undefined {
  if (text === null) return undefined;
  const out: PsiStats = {};
  for (const line of text.split('\n')) {
    const [kind, ...pairs] = line.split(' ');
    if (kind !== 'some' && kind !== 'full') continue;
    const v = Object.fromEntries(pairs.map((p) => p.split('=')).map(([k, x]) => [k, Number(x)]));
    out[kind] = { avg10: v.avg10 ?? 0, avg60: v.avg60 ?? 0, avg300: v.avg300 ?? 0, total: v.total ?? 0 };
  }
  return out;
}

/** Each page size's counters: the files named hugetlb.<size>.<counter> in DIR. */
function hugetlbStats(dir: string | undefined, version: 1 | 2): Stats['hugetlb'] {
  if (!dir) return {};
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return {};
    throw e;
  }
  const sizes = new Set(files.map((f) => /^hugetlb\.([^.]+)\./.exec(f)?.[1]).filter((x): x is string => !!x));
  const out: Stats['hugetlb'] = {};
  for (const size of sizes) {
    out[size] =
      version === 1
        ? { usage: numberIn(dir, `hugetlb.${size}.usage_in_bytes`), max: numberIn(dir, `hugetlb.${size}.max_usage_in_bytes`), failcnt: numberIn(dir, `hugetlb.${size}.failcnt`) ?? 0 }
        : { usage: numberIn(dir, `hugetlb.${size}.current`), failcnt: keyedValues(readIn(dir, `hugetlb.${size}.events`))?.max ?? 0 };
  }
  return out;
}

/** USER_HZ: cpuacct.stat counts in these ticks. */
const NS_PER_TICK = 1e9 / 100;

/** v1 blkio lines `8:0 Read 4096`, the `Total N` line left out. Pure. */
export function blkioEntries(text: string | null): BlkioEntry[] | undefined {
  if (text === null) return undefined;
  return text
    .split('\n')
    .map((l) => l.split(/[\s:]+/))
    .filter((f) => f.length >= 3)
    .map((f) => ({ major: Number(f[0]), minor: Number(f[1]), op: f.length === 4 ? f[2]! : '', value: Number(f.at(-1)) }));
}

/** v2 io.stat (`8:0 rbytes=1 wbytes=2 rios=3 wios=4 ...`) as v1's two tables, as runc maps it. Pure. */
export function ioStatEntries(text: string | null): Stats['blkio'] {
  if (text === null) return {};
  const bytes: BlkioEntry[] = [];
  const serviced: BlkioEntry[] = [];
  const tables: Record<string, [BlkioEntry[], string]> = { rbytes: [bytes, 'Read'], wbytes: [bytes, 'Write'], rios: [serviced, 'Read'], wios: [serviced, 'Write'] };
  for (const line of text.split('\n')) {
    const [device = '', ...pairs] = line.split(' ');
    const [major, minor] = device.split(':').map(Number);
    for (const pair of pairs) {
      const [key = '', value] = pair.split('=');
      const table = tables[key];
      if (table) table[0].push({ major: major!, minor: minor!, op: table[1], value: Number(value) });
    }
  }
  return { ioServiceBytesRecursive: bytes, ioServicedRecursive: serviced };
}

/** Which blkio files count I/O: BFQ's, CFQ's, or the throttle layer's — the first that counted any. */
const blkioSources = [
  ['blkio.bfq.io_serviced_recursive', 'blkio.bfq.io_service_bytes_recursive'],
  ['blkio.io_serviced_recursive', 'blkio.io_service_bytes_recursive'],
  ['blkio.throttle.io_serviced_recursive', 'blkio.throttle.io_service_bytes_recursive'],
] as const;

function v1Stats(record: CgroupRecord, layout: CgroupLayout): Stats {
  const dirs = controllerDirs(layout, record.paths);
  const cpuacct = dirs.get('cpuacct');
  const memory = dirs.get('memory');
  const ticks = keyedValues(readIn(cpuacct, 'cpuacct.stat'));
  // usage_all: a header, then "cpu user system" per CPU.
  const perCpu = readIn(cpuacct, 'cpuacct.usage_all')?.split('\n').slice(1).map((l) => l.split(/\s+/).map(Number));
  const throttling = keyedValues(readIn(dirs.get('cpu'), 'cpu.stat'));
  const entry = (prefix: string): MemoryEntry | undefined => {
    const usage = numberIn(memory, `memory.${prefix}usage_in_bytes`);
    if (usage === undefined) return undefined;
    const at = (f: string) => numberIn(memory, `memory.${prefix}${f}`) ?? 0;
    return { limit: at('limit_in_bytes'), usage, max: at('max_usage_in_bytes'), failcnt: at('failcnt') };
  };
  const raw = keyedValues(readIn(memory, 'memory.stat'));
  const blkio = dirs.get('blkio');
  const [serviced, bytes] = blkioSources.find(([s]) => blkioEntries(readIn(blkio, s))?.length) ?? blkioSources.at(-1)!;
  return {
    cpu: {
      usage: {
        total: numberIn(cpuacct, 'cpuacct.usage'),
        percpu: numbers(readIn(cpuacct, 'cpuacct.usage_percpu')),
        percpu_kernel: perCpu?.map((c) => c[2]!),
        percpu_user: perCpu?.map((c) => c[1]!),
        kernel: ticks && ticks.system! * NS_PER_TICK,
        user: ticks && ticks.user! * NS_PER_TICK,
      },
      throttling: { periods: throttling?.nr_periods, throttledPeriods: throttling?.nr_throttled, throttledTime: throttling?.throttled_time },
    },
    cpuset: cpusetStats(dirs.get('cpuset'), 'cpuset.cpus', 'cpuset.mems'),
    memory: { cache: raw?.cache, usage: entry(''), swap: entry('memsw.'), kernel: entry('kmem.'), kernelTCP: entry('kmem.tcp.'), raw },
    pids: pidsStats(dirs.get('pids')),
    blkio: { ioServiceBytesRecursive: blkioEntries(readIn(blkio, bytes)), ioServicedRecursive: blkioEntries(readIn(blkio, serviced)) },
    hugetlb: hugetlbStats(dirs.get('hugetlb'), 1),
  };
}

/** The cpuset's lists (v1's own files, v2's effective ones), and v1's flags where the files are. */
function cpusetStats(dir: string | undefined, cpus: string, mems: string): CpusetStats {
  const out: CpusetStats = { cpus: listNumbers(readIn(dir, cpus)), mems: listNumbers(readIn(dir, mems)) };
  for (const flag of cpusetFlags) out[flag] = numberIn(dir, `cpuset.${flag}`);
  return out;
}

function pidsStats(dir: string | undefined): Stats['pids'] {
  const limit = readIn(dir, 'pids.max');
  return { current: numberIn(dir, 'pids.current'), limit: limit === null ? undefined : limit === 'max' ? 0 : Number(limit) };
}

function v2Stats(dir: string): Stats {
  const cpu = keyedValues(readIn(dir, 'cpu.stat'));
  const us = (v: number | undefined) => (v === undefined ? undefined : v * 1000);
  const raw = keyedValues(readIn(dir, 'memory.stat'));
  const usage = numberIn(dir, 'memory.current');
  const memory: MemoryEntry | undefined = usage === undefined ? undefined : { usage, limit: limitIn(dir, 'memory.max') ?? 0, max: numberIn(dir, 'memory.peak') ?? 0, failcnt: 0 };
  const swapUsage = numberIn(dir, 'memory.swap.current');
  const swapMax = readIn(dir, 'memory.swap.max');
  // v1 counts memory+swap together, and so does this, as runc reports it.
  const swap: MemoryEntry | undefined =
    memory && swapUsage !== undefined ? { usage: swapUsage + memory.usage, limit: swapMax === 'max' ? noLimit() : Number(swapMax) + memory.limit, max: 0, failcnt: 0 } : undefined;
  return {
    cpu: {
      usage: { total: us(cpu?.usage_usec), kernel: us(cpu?.system_usec), user: us(cpu?.user_usec) },
      throttling: { periods: cpu?.nr_periods, throttledPeriods: cpu?.nr_throttled, throttledTime: us(cpu?.throttled_usec) },
      psi: psiStats(readIn(dir, 'cpu.pressure')),
    },
    cpuset: cpusetStats(dir, 'cpuset.cpus.effective', 'cpuset.mems.effective'),
    memory: { cache: raw?.file, usage: memory, swap, raw, psi: psiStats(readIn(dir, 'memory.pressure')) },
    pids: pidsStats(dir),
    blkio: { ...ioStatEntries(readIn(dir, 'io.stat')), psi: psiStats(readIn(dir, 'io.pressure')) },
    hugetlb: hugetlbStats(dir, 2),
  };
}

/** The container's resource use now. */
export function cgroupStats(record: CgroupRecord, layout: CgroupLayout = hostLayout(record.version)): Stats {
  return record.version === 1 ? v1Stats(record, layout) : v2Stats(record.paths[0]!);
}
