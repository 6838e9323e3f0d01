// What the resource compilers produce: writes into a container's cgroup, each naming the config
// field it comes from, so that whatever the kernel refuses is reported against the user's input.
// Also the field compilers both versions share.
import type { CpuResources, HugepageLimit, Resources } from '../spec/config.js';
import { ConfigError } from '../spec/validate.js';

export interface FileWrite {
  kind: 'file';
  /**
   * v1: a controller of the hierarchy whose directory holds FILE. v2: the controller FILE belongs
   * to, enabled in the parents' cgroup.subtree_control first ('cgroup' for the core files).
   */
  controller: string;
  /** Relative to the container's cgroup directory. */
  file: string;
  value: string;
  /** The config path the value comes from: `linux.resources.memory.limit`. */
  field: string;
  /** When the kernel has no FILE: write this instead, or nothing. Without it a missing file is an error. */
  ifMissing?: { file: string; value: string } | 'skip';
  /** What FILE must read back as: catches a kernel that accepts a write and ignores it. */
  expect?: string;
  /**
   * The kernel checks this value against another one of the list (memory ≤ memory+swap, a period
   * against the quota): EINVAL may only mean "the other one first", so it is retried after the rest.
   */
  interlocked?: boolean;
}

/** v2 has no devices.allow: device rules become an eBPF program attached to the cgroup. */
export interface DeviceFilter {
  kind: 'device-filter';
  field: string;
  /** Encoded struct bpf_insn array. */
  program: Buffer;
}

export type CgroupWrite = FileWrite | DeviceFilter;

/** What the compilers need to know about the host; gathered by cgroupFacts, made up in tests. */
export interface HostFacts {
  /** Controllers berth can use: those of the mounted v1 hierarchies, or cgroup2's cgroup.controllers. */
  controllers: ReadonlySet<string>;
  /** On a hybrid host managed as v1: controllers that only the cgroup2 mount has (for the error). */
  unifiedOnly: ReadonlySet<string>;
  /** The kernel's huge page sizes as the hugetlb files name them: 2MB, 1GB. */
  hugepageSizes: readonly string[];
  /** v1 memory limits are kept in whole pages. */
  pageSize: number;
}

type WriteOptions = Pick<FileWrite, 'ifMissing' | 'expect' | 'interlocked'>;

/** Collects the writes of one compile, checking that each controller is there. */
export class WriteList {
  readonly writes: CgroupWrite[] = [];
  constructor(
    private readonly facts: HostFacts,
    private readonly version: 1 | 2,
  ) {}

  file(controller: string, file: string, value: string | number, field: string, more: WriteOptions = {}): void {
    this.need(controller, field);
    this.unchecked(controller, file, value, field, more);
  }

  /** A write whose controller is not checked here (unified files: cgroup2 has some of every controller, as cpu.pressure). */
  unchecked(controller: string, file: string, value: string | number, field: string, more: WriteOptions = {}): void {
    const set = Object.entries(more).filter(([, v]) => v !== undefined && v !== false);
    this.writes.push({ kind: 'file', controller, file, value: String(value), field, ...Object.fromEntries(set) });
  }

  need(controller: string, field: string): void {
    if (controller === 'cgroup' || this.facts.controllers.has(controller)) return;
    if (this.version === 2) throw new ConfigError(field, `the ${controller} controller is not available on this host's cgroup2 (see its cgroup.controllers)`);
    const hint = this.facts.unifiedOnly.has(controller) ? `; this hybrid host has it on cgroup2 only, which berth uses with --cgroup-version 2` : '';
    throw new ConfigError(field, `the ${controller} controller has no cgroup v1 hierarchy on this host${hint}`);
  }
}

/** 0 in a limit means "leave it" (runc's reading: Go code writes 0 for unset). */
export const isSet = (v: number | undefined): v is number => v !== undefined && v !== 0;

export function swapNeedsLimit(limit: number | undefined, swap: number | undefined, field: string): void {
  if (isSet(swap) && swap > 0 && !isSet(limit)) throw new ConfigError(`${field}.swap`, `needs ${field}.limit as well: swap limits memory+swap`);
}

const PAGE_COUNTER_MAX_BYTES = 2n ** 63n - 1n;

/** What a v1 memory file reads back as after writing VALUE: whole pages, -1 as the largest count. */
export function pageCounterValue(value: number, pageSize: number): string {
  const page = BigInt(pageSize);
  const max = PAGE_COUNTER_MAX_BYTES / page;
  const pages = value === -1 ? max : BigInt(value) / page;
  return String((pages < max ? pages : max) * page);
}

/** A v1 blkio and v2 io device key. */
export const majorMinor = (d: { major: number; minor: number }) => `${d.major}:${d.minor}`;

const R = 'linux.resources';

/** -1 (like the kernel's "max") is no limit; 0 is a limit of none (runtime-spec 1.3). */
export function pidsWrites(w: WriteList, pids: Resources['pids']): void {
  if (pids?.limit !== undefined) w.file('pids', 'pids.max', pids.limit === -1 ? 'max' : pids.limit, `${R}.pids.limit`);
}

export function cpusetWrites(w: WriteList, cpu: CpuResources): void {
  if (cpu.cpus) w.file('cpuset', 'cpuset.cpus', cpu.cpus, `${R}.cpu.cpus`);
  if (cpu.mems) w.file('cpuset', 'cpuset.mems', cpu.mems, `${R}.cpu.mems`);
}

/**
 * hugetlb.<size>.<LIMIT> limits use at page fault; the spec prefers the reservation limit
 * (.rsvd.<LIMIT>, Linux 5.7+) where the kernel has it, so both are set when it does.
 */
export function hugepageWrites(w: WriteList, limits: HugepageLimit[], sizes: readonly string[], limit: 'limit_in_bytes' | 'max'): void {
  limits.forEach((h, i) => {
    const field = `${R}.hugepageLimits[${i}]`;
    if (!sizes.includes(h.pageSize)) throw new ConfigError(`${field}.pageSize`, `this kernel has no ${h.pageSize} huge pages (it has: ${sizes.join(', ') || 'none'})`);
    w.file('hugetlb', `hugetlb.${h.pageSize}.${limit}`, h.limit, field);
    w.file('hugetlb', `hugetlb.${h.pageSize}.rsvd.${limit}`, h.limit, field, { ifMissing: 'skip' });
  });
}

/** rdma.max lines: `mlx5_1 hca_handle=3 hca_object=10000`, naming only what the config limits. */
export function rdmaWrites(w: WriteList, rdma: Resources['rdma'] = {}): void {
  for (const [device, l] of Object.entries(rdma)) {
    const limits = [l.hcaHandles === undefined ? '' : ` hca_handle=${l.hcaHandles}`, l.hcaObjects === undefined ? '' : ` hca_object=${l.hcaObjects}`];
    w.file('rdma', 'rdma.max', device + limits.join(''), `${R}.rdma.${device}`);
  }
}
