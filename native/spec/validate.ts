// config.json → Config, or one error that names the config path of the first thing wrong.
import { existsSync } from 'node:fs';
import { posix } from 'node:path';
import { BerthError } from '../errors.js';
import {
  hookKinds,
  namespaceTypes,
  type BlockIOResources,
  type Config,
  type CpuResources,
  type Device,
  type HookKind,
  type Hooks,
  type DeviceCgroupRule,
  type IdMapping,
  type MemoryResources,
  type Mount,
  type Namespace,
  type MemoryPolicy,
  type NetDevice,
  type Personality,
  type Process,
  type Resources,
  type Scheduler,
  type Seccomp,
  type SeccompSyscall,
  type ThrottleDevice,
  type WeightDevice,
  type TimeOffsets,
} from './config.js';
import { listRanges } from '../numberList.js';
import { ioPriorityClasses, MAX_NUMA_NODES, memoryPolicyFlags, memoryPolicyModes, personalityDomains, schedFlags, schedPolicies } from '../compile/scheduling.js';

/** `linux.namespaces[2].type: unknown namespace "foo"` */
export class ConfigError extends BerthError {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`, 'invalid');
    this.name = 'ConfigError';
  }
}

type Obj = Record<string, unknown>;

const describe = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`);

function object(v: unknown, path: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(path, `must be an object, not ${describe(v)}`);
  return v as Obj;
}

function array(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw new ConfigError(path, `must be an array, not ${describe(v)}`);
  return v;
}

function string(v: unknown, path: string): string {
  if (typeof v !== 'string') throw new ConfigError(path, `must be a string, not ${describe(v)}`);
  return v;
}

function boolean(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') throw new ConfigError(path, `must be a boolean, not ${describe(v)}`);
  return v;
}

function integer(v: unknown, path: string, min = -Infinity, max = Infinity): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ConfigError(path, `must be an integer, not ${describe(v)}`);
  if (v < min || v > max)
    throw new ConfigError(path, max === Infinity ? `${v} is less than ${min}` : min === -Infinity ? `${v} is more than ${max}` : `${v} is out of range (${min}..${max})`);
  return v;
}

const UINT32 = 0xffffffff;
// As doubles: JSON numbers past 2^53 are not exact anyway.
const INT64_MAX = 2 ** 63 - 1;
const UINT64_MAX = 2 ** 64 - 1;

/** `linux` + `namespaces` → `linux.namespaces`; top-level keys (path '') stand alone. */
const at = (path: string, key: string) => (path ? `${path}.${key}` : key);

function optional<T>(o: Obj, key: string, path: string, check: (v: unknown, p: string) => T): T | undefined {
  return o[key] === undefined ? undefined : check(o[key], at(path, key));
}

function required<T>(o: Obj, key: string, path: string, check: (v: unknown, p: string) => T): T {
  if (o[key] === undefined) throw new ConfigError(at(path, key), 'is required');
  return check(o[key], at(path, key));
}

/**
 * Where the unknown fields of the config.json being parsed go: runtime-spec's config.md wants them
 * ignored (a newer spec's fields must not break an older runtime). Outside parseConfig (update's
 * resources, say) an unknown field is an error.
 */
let ignoredFields: string[] | null = null;

function onlyKeys(o: Obj, path: string, keys: readonly string[]): Obj {
  for (const k of Object.keys(o)) {
    if (keys.includes(k)) continue;
    if (!ignoredFields) throw new ConfigError(at(path, k), `unknown field (known: ${keys.join(', ')})`);
    ignoredFields.push(at(path, k));
  }
  return o;
}

function absolutePath(v: unknown, path: string): string {
  const s = string(v, path);
  if (!s.startsWith('/')) throw new ConfigError(path, `must be an absolute path, not "${s}"`);
  return s;
}

function stringArray(v: unknown, path: string): string[] {
  return array(v, path).map((x, i) => string(x, `${path}[${i}]`));
}

function stringMap(v: unknown, path: string): Record<string, string> {
  const o = object(v, path);
  for (const [k, x] of Object.entries(o)) string(x, `${path}.${k}`);
  return o as Record<string, string>;
}

/** One of TABLE's words (a kernel constant's name). */
function word<T extends string>(table: Readonly<Record<T, number>>) {
  return (v: unknown, path: string): T => {
    const w = string(v, path);
    if (!Object.hasOwn(table, w)) throw new ConfigError(path, `unknown value "${w}" (${Object.keys(table).join(', ')})`);
    return w as T;
  };
}

/** A list in cpuList's form whose ranges are of NOUN numbered below LIMIT, as the kernel's mask can name them. */
function listBelow(limit: number, noun: string) {
  return (v: unknown, path: string): string => {
    const s = cpuList(v, path);
    for (const { first, last, text } of listRanges(s)) if (last < first || last >= limit) throw new ConfigError(path, `"${text}" is not a range of ${noun} (0..${limit - 1})`);
    return s;
  };
}
/** CPUs sched_setaffinity can name. */
const cpuListOf = listBelow(8192, 'CPUs');

function parseScheduler(v: unknown, path: string): Scheduler {
  const o = onlyKeys(object(v, path), path, ['policy', 'nice', 'priority', 'flags', 'runtime', 'deadline', 'period']);
  return {
    policy: required(o, 'policy', path, word(schedPolicies)),
    nice: optional(o, 'nice', path, (x, q) => integer(x, q, -20, 19)),
    priority: optional(o, 'priority', path, (x, q) => integer(x, q, 0, 99)),
    flags: optional(o, 'flags', path, (x, q) => array(x, q).map((f, i) => word(schedFlags)(f, `${q}[${i}]`))),
    runtime: optional(o, 'runtime', path, uint64),
    deadline: optional(o, 'deadline', path, uint64),
    period: optional(o, 'period', path, uint64),
  };
}

export function parseProcess(v: unknown): Process {
  const p = object(v, 'process');
  const user = required(p, 'user', 'process', object);
  const args = required(p, 'args', 'process', stringArray);
  if (args.length === 0) throw new ConfigError('process.args', 'must name a program');
  const env = optional(p, 'env', 'process', stringArray) ?? [];
  env.forEach((e, i) => {
    if (!e.includes('=')) throw new ConfigError(`process.env[${i}]`, `"${e}" is not KEY=VALUE`);
  });
  const capabilities = optional(p, 'capabilities', 'process', object);
  if (capabilities) for (const [k, x] of Object.entries(capabilities)) stringArray(x, `process.capabilities.${k}`);
  return {
    terminal: optional(p, 'terminal', 'process', boolean) ?? false,
    user: {
      uid: required(user, 'uid', 'process.user', (x, q) => integer(x, q, 0, UINT32)),
      gid: required(user, 'gid', 'process.user', (x, q) => integer(x, q, 0, UINT32)),
      umask: optional(user, 'umask', 'process.user', (x, q) => integer(x, q, 0, 0o7777)),
      additionalGids: optional(user, 'additionalGids', 'process.user', (x, q) =>
        array(x, q).map((g, i) => integer(g, `${q}[${i}]`, 0, UINT32)),
      ),
    },
    args,
    env,
    cwd: required(p, 'cwd', 'process', absolutePath),
    capabilities: capabilities as Record<string, string[]> | undefined,
    rlimits: optional(p, 'rlimits', 'process', (x, q) =>
      array(x, q).map((r, i) => {
        const o = object(r, `${q}[${i}]`);
        const limit = (k: string) => required(o, k, `${q}[${i}]`, (y, w) => integer(y, w, 0));
        return { type: required(o, 'type', `${q}[${i}]`, string), soft: limit('soft'), hard: limit('hard') };
      }),
    ),
    noNewPrivileges: optional(p, 'noNewPrivileges', 'process', boolean),
    oomScoreAdj: optional(p, 'oomScoreAdj', 'process', (x, q) => integer(x, q, -1000, 1000)),
    apparmorProfile: optional(p, 'apparmorProfile', 'process', string),
    selinuxLabel: optional(p, 'selinuxLabel', 'process', string),
    consoleSize: optional(p, 'consoleSize', 'process', (x, q) => {
      const o = object(x, q);
      return { height: required(o, 'height', q, (y, r) => integer(y, r, 0, 65535)), width: required(o, 'width', q, (y, r) => integer(y, r, 0, 65535)) };
    }),
    scheduler: optional(p, 'scheduler', 'process', parseScheduler),
    ioPriority: optional(p, 'ioPriority', 'process', (x, q) => {
      const o = onlyKeys(object(x, q), q, ['class', 'priority']);
      return { class: required(o, 'class', q, word(ioPriorityClasses)), priority: required(o, 'priority', q, (y, r) => integer(y, r, 0, 7)) };
    }),
    execCPUAffinity: optional(p, 'execCPUAffinity', 'process', (x, q) => {
      const o = onlyKeys(object(x, q), q, ['initial', 'final']);
      return { initial: optional(o, 'initial', q, cpuListOf), final: optional(o, 'final', q, cpuListOf) };
    }),
  };
}

/** Why berth refuses Intel RDT (linux.intelRdt, update's RDT flags) on this host. */
export function intelRdtRefusal(): string {
  return existsSync('/sys/fs/resctrl/schemata') ? 'Intel RDT is not supported yet' : 'this host has no resctrl file system (/sys/fs/resctrl)';
}

/** Fields of runtime-spec 1.3 berth knows and does not apply yet: refused by path, never dropped. */
function refuseUnsupported(o: Obj, path: string, fields: Readonly<Record<string, string>>): void {
  for (const [field, why] of Object.entries(fields)) if (o[field] !== undefined) throw new ConfigError(at(path, field), why);
}

function parseMount(v: unknown, path: string): Mount {
  const m = object(v, path);
  const uidMappings = optional(m, 'uidMappings', path, idMappings);
  const gidMappings = optional(m, 'gidMappings', path, idMappings);
  if (!uidMappings !== !gidMappings) throw new ConfigError(`${path}.${uidMappings ? 'gidMappings' : 'uidMappings'}`, 'is required with the other (an idmapped mount maps both)');
  return {
    destination: required(m, 'destination', path, absolutePath),
    type: optional(m, 'type', path, string),
    source: optional(m, 'source', path, string),
    options: optional(m, 'options', path, stringArray) ?? [],
    ...(uidMappings ? { uidMappings, gidMappings } : {}),
  };
}

function parseNamespace(v: unknown, path: string): Namespace {
  const n = object(v, path);
  const type = required(n, 'type', path, string);
  if (!(namespaceTypes as readonly string[]).includes(type)) throw new ConfigError(`${path}.type`, `unknown namespace "${type}"`);
  return { type: type as Namespace['type'], path: optional(n, 'path', path, absolutePath) };
}

/**
 * linux.cgroupsPath: a path (absolute: from the hierarchy's root; relative: below berth's own cgroup).
 * systemd's `slice:prefix:name` is refused: berth writes cgroupfs itself, and that name taken as a
 * path would make a folder literally called so.
 */
function cgroupsPath(x: unknown, q: string): string {
  const p = string(x, q);
  if (!p.startsWith('/') && p.split(':').length === 3) throw new ConfigError(q, `"${p}" is a systemd unit name (slice:prefix:name); berth manages cgroups through cgroupfs, so give a path`);
  // `..` is resolved from the root (cgroups/manager.ts): what resolves to nothing names a cgroup that is not the container's own.
  if (posix.normalize(`/${p}`) === '/') throw new ConfigError(q, `"${p}" names ${p.startsWith('/') ? "the hierarchy's root" : "berth's own cgroup"}, not one of the container's own`);
  return p;
}

/** The file type bits (st_mode) of each device type. */
export const deviceTypeBits: Readonly<Record<Device['type'], number>> = { c: 0o020000, u: 0o020000, b: 0o060000, p: 0o010000 };

/**
 * A device's fileMode: permission bits, which podman and others write together with the node's file
 * type bits (from a stat of the host's node); those must name the device's own type, and are dropped.
 */
function deviceFileMode(x: unknown, q: string, type: Device['type']): number {
  const mode = integer(x, q, 0, 0o177777);
  const typeBits = mode & ~0o7777;
  if (typeBits && typeBits !== deviceTypeBits[type]) throw new ConfigError(q, `file type bits 0o${typeBits.toString(8)} are not those of a "${type}" device`);
  return mode & 0o7777;
}

function parseDevice(v: unknown, path: string): Device {
  const d = object(v, path);
  const type = required(d, 'type', path, string);
  if (!['c', 'b', 'u', 'p'].includes(type)) throw new ConfigError(`${path}.type`, `unknown device type "${type}" (c, b, u or p)`);
  const needsNumbers = type !== 'p';
  const num = (k: string) => (needsNumbers ? required(d, k, path, (x, q) => integer(x, q, 0, UINT32)) : optional(d, k, path, (x, q) => integer(x, q, 0, UINT32)) ?? 0);
  return {
    type: type as Device['type'],
    path: required(d, 'path', path, absolutePath),
    major: num('major'),
    minor: num('minor'),
    fileMode: optional(d, 'fileMode', path, (x, q) => deviceFileMode(x, q, type as Device['type'])),
    uid: optional(d, 'uid', path, (x, q) => integer(x, q, 0, UINT32)),
    gid: optional(d, 'gid', path, (x, q) => integer(x, q, 0, UINT32)),
  };
}

function idMappings(v: unknown, path: string): IdMapping[] {
  return array(v, path).map((m, i) => {
    const o = object(m, `${path}[${i}]`);
    const id = (k: string, min: number) => required(o, k, `${path}[${i}]`, (x, q) => integer(x, q, min, UINT32));
    return { containerID: id('containerID', 0), hostID: id('hostID', 0), size: id('size', 1) };
  });
}

const int64 = (min: number) => (v: unknown, path: string) => integer(v, path, min, INT64_MAX);
const uint64 = (v: unknown, path: string) => integer(v, path, 0, UINT64_MAX);
const uint32 = (v: unknown, path: string) => integer(v, path, 0, UINT32);
/** CFQ's and BFQ's common range, and the domain of the v1 → v2 weight conversion. */
const blkioWeight = (v: unknown, path: string) => integer(v, path, 10, 1000);

function parseDeviceRule(v: unknown, path: string): DeviceCgroupRule {
  const d = onlyKeys(object(v, path), path, ['allow', 'type', 'major', 'minor', 'access']);
  const type = optional(d, 'type', path, string);
  if (type !== undefined && !['a', 'b', 'c'].includes(type)) throw new ConfigError(`${path}.type`, `unknown device type "${type}" (a, b or c)`);
  const access = optional(d, 'access', path, string);
  if (access !== undefined && !/^[rwm]+$/.test(access)) throw new ConfigError(`${path}.access`, `"${access}" is not a combination of r, w and m`);
  const number = (k: string) => optional(d, k, path, (x, q) => integer(x, q, -1, UINT32));
  return { allow: required(d, 'allow', path, boolean), type: type as DeviceCgroupRule['type'], major: number('major'), minor: number('minor'), access };
}

function parseMemory(v: unknown, path: string): MemoryResources {
  const m = onlyKeys(object(v, path), path, ['limit', 'reservation', 'swap', 'kernel', 'kernelTCP', 'swappiness', 'disableOOMKiller', 'useHierarchy', 'checkBeforeUpdate']);
  const bytes = (k: string) => optional(m, k, path, int64(-1));
  const memory: MemoryResources = {
    limit: bytes('limit'),
    reservation: bytes('reservation'),
    swap: bytes('swap'),
    kernel: bytes('kernel'),
    kernelTCP: bytes('kernelTCP'),
    swappiness: optional(m, 'swappiness', path, (x, q) => integer(x, q, 0, 100)),
    disableOOMKiller: optional(m, 'disableOOMKiller', path, boolean),
    useHierarchy: optional(m, 'useHierarchy', path, boolean),
    checkBeforeUpdate: optional(m, 'checkBeforeUpdate', path, boolean),
  };
  const { limit = 0, swap = 0 } = memory;
  if (limit > 0 && swap > 0 && swap < limit) throw new ConfigError(`${path}.swap`, `${swap} is below limit ${limit}: swap limits memory+swap`);
  return memory;
}

const cpuList = (v: unknown, path: string) => {
  const s = string(v, path);
  if (s !== '' && !/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(s)) throw new ConfigError(path, `"${s}" is not a list like 0-3,7`);
  return s;
};

function parseCpu(v: unknown, path: string): CpuResources {
  const c = onlyKeys(object(v, path), path, ['shares', 'quota', 'burst', 'period', 'realtimeRuntime', 'realtimePeriod', 'cpus', 'mems', 'idle']);
  const cpu: CpuResources = {
    shares: optional(c, 'shares', path, uint64),
    quota: optional(c, 'quota', path, int64(-1)),
    burst: optional(c, 'burst', path, uint64),
    period: optional(c, 'period', path, uint64),
    realtimeRuntime: optional(c, 'realtimeRuntime', path, int64(-1)),
    realtimePeriod: optional(c, 'realtimePeriod', path, uint64),
    cpus: optional(c, 'cpus', path, cpuList),
    mems: optional(c, 'mems', path, cpuList),
    idle: optional(c, 'idle', path, (x, q) => integer(x, q, 0, 1)),
  };
  const { quota = 0, burst = 0 } = cpu;
  if (quota > 0 && burst > quota) throw new ConfigError(`${path}.burst`, `${burst} is above quota ${quota}`);
  return cpu;
}

function blockDevice(o: Obj, path: string) {
  return { major: required(o, 'major', path, uint32), minor: required(o, 'minor', path, uint32) };
}

function throttleDevices(v: unknown, path: string): ThrottleDevice[] {
  return array(v, path).map((x, i) => {
    const q = `${path}[${i}]`;
    const o = onlyKeys(object(x, q), q, ['major', 'minor', 'rate']);
    return { ...blockDevice(o, q), rate: required(o, 'rate', q, uint64) };
  });
}

function parseBlockIO(v: unknown, path: string): BlockIOResources {
  const throttles = ['throttleReadBpsDevice', 'throttleWriteBpsDevice', 'throttleReadIOPSDevice', 'throttleWriteIOPSDevice'] as const;
  const b = onlyKeys(object(v, path), path, ['weight', 'leafWeight', 'weightDevice', ...throttles]);
  const weightDevice = optional(b, 'weightDevice', path, (x, q) =>
    array(x, q).map((w, i): WeightDevice => {
      const p = `${q}[${i}]`;
      const o = onlyKeys(object(w, p), p, ['major', 'minor', 'weight', 'leafWeight']);
      const device = { ...blockDevice(o, p), weight: optional(o, 'weight', p, blkioWeight), leafWeight: optional(o, 'leafWeight', p, blkioWeight) };
      if (device.weight === undefined && device.leafWeight === undefined) throw new ConfigError(p, 'needs weight, leafWeight or both');
      return device;
    }),
  );
  const blockIO: BlockIOResources = { weight: optional(b, 'weight', path, blkioWeight), leafWeight: optional(b, 'leafWeight', path, blkioWeight), weightDevice };
  for (const k of throttles) blockIO[k] = optional(b, k, path, throttleDevices);
  return blockIO;
}

/** A cgroup file name: one path component. */
function cgroupFileName(name: string, path: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) throw new ConfigError(path, `"${name}" is not a cgroup file name`);
}

/** Parse and check linux.resources. Host-independent checks only: what the host has is the cgroup compiler's business. */
export function parseResources(v: unknown, path: string): Resources {
  const r = onlyKeys(object(v, path), path, ['devices', 'memory', 'cpu', 'pids', 'blockIO', 'hugepageLimits', 'network', 'rdma', 'unified']);
  return {
    devices: optional(r, 'devices', path, (x, q) => array(x, q).map((d, i) => parseDeviceRule(d, `${q}[${i}]`))),
    memory: optional(r, 'memory', path, parseMemory),
    cpu: optional(r, 'cpu', path, parseCpu),
    pids: optional(r, 'pids', path, (x, q) => ({ limit: optional(onlyKeys(object(x, q), q, ['limit']), 'limit', q, int64(-1)) })),
    blockIO: optional(r, 'blockIO', path, parseBlockIO),
    hugepageLimits: optional(r, 'hugepageLimits', path, (x, q) =>
      array(x, q).map((h, i) => {
        const p = `${q}[${i}]`;
        const o = onlyKeys(object(h, p), p, ['pageSize', 'limit']);
        const pageSize = required(o, 'pageSize', p, string);
        if (!/^[1-9]\d*[KMG]B$/.test(pageSize)) throw new ConfigError(`${p}.pageSize`, `"${pageSize}" is not a size like 64KB, 2MB or 1GB`);
        return { pageSize, limit: required(o, 'limit', p, uint64) };
      }),
    ),
    network: optional(r, 'network', path, (x, q) => {
      const n = onlyKeys(object(x, q), q, ['classID', 'priorities']);
      return {
        classID: optional(n, 'classID', q, uint32),
        priorities: optional(n, 'priorities', q, (y, w) =>
          array(y, w).map((e, i) => {
            const p = `${w}[${i}]`;
            const o = onlyKeys(object(e, p), p, ['name', 'priority']);
            const name = required(o, 'name', p, string);
            if (!/^[^\s/]+$/.test(name)) throw new ConfigError(`${p}.name`, `"${name}" is not an interface name`);
            return { name, priority: required(o, 'priority', p, uint32) };
          }),
        ),
      };
    }),
    rdma: optional(r, 'rdma', path, (x, q) => {
      const devices = object(x, q);
      for (const [name, limits] of Object.entries(devices)) {
        const p = `${q}.${name}`;
        if (!/^\S+$/.test(name)) throw new ConfigError(p, `"${name}" is not an RDMA device name`);
        const o = onlyKeys(object(limits, p), p, ['hcaHandles', 'hcaObjects']);
        if (optional(o, 'hcaHandles', p, uint32) === undefined && optional(o, 'hcaObjects', p, uint32) === undefined) throw new ConfigError(p, 'needs hcaHandles, hcaObjects or both');
      }
      return devices as Resources['rdma'];
    }),
    unified: optional(r, 'unified', path, (x, q) => {
      const files = stringMap(x, q);
      for (const name of Object.keys(files)) cgroupFileName(name, `${q}.${name}`);
      return files;
    }),
  };
}


/** errnoRet is carried in the 16 data bits of a seccomp return value. */
const seccompData = (v: unknown, path: string) => integer(v, path, 0, 0xffff);

function parseSeccompSyscall(v: unknown, path: string): SeccompSyscall {
  const s = object(v, path);
  const names = required(s, 'names', path, stringArray);
  if (names.length === 0) throw new ConfigError(`${path}.names`, 'must name at least one syscall');
  return {
    names,
    action: required(s, 'action', path, string),
    errnoRet: optional(s, 'errnoRet', path, seccompData),
    args: (optional(s, 'args', path, array) ?? []).map((a, i) => {
      const q = `${path}.args[${i}]`;
      const o = object(a, q);
      return {
        // Syscalls have six arguments.
        index: required(o, 'index', q, (x, r) => integer(x, r, 0, 5)),
        value: required(o, 'value', q, uint64),
        valueTwo: optional(o, 'valueTwo', q, uint64) ?? 0,
        op: required(o, 'op', q, string),
      };
    }),
  };
}

function parseSeccomp(v: unknown, path: string): Seccomp {
  const s = object(v, path);
  return {
    defaultAction: required(s, 'defaultAction', path, string),
    defaultErrnoRet: optional(s, 'defaultErrnoRet', path, seccompData),
    architectures: optional(s, 'architectures', path, stringArray) ?? [],
    flags: optional(s, 'flags', path, stringArray) ?? [],
    listenerPath: optional(s, 'listenerPath', path, string),
    listenerMetadata: optional(s, 'listenerMetadata', path, string),
    syscalls: (optional(s, 'syscalls', path, array) ?? []).map((x, i) => parseSeccompSyscall(x, `${path}.syscalls[${i}]`)),
  };
}

function parseHooks(v: unknown, path: string): Hooks {
  const o = object(v, path);
  const hooks: Hooks = {};
  for (const [kind, list] of Object.entries(o)) {
    if (!(hookKinds as readonly string[]).includes(kind)) throw new ConfigError(`${path}.${kind}`, `unknown hook kind (${hookKinds.join(', ')})`);
    hooks[kind as HookKind] = array(list, `${path}.${kind}`).map((h, i) => {
      const at = `${path}.${kind}[${i}]`;
      const hook = object(h, at);
      return {
        path: required(hook, 'path', at, absolutePath),
        args: optional(hook, 'args', at, stringArray),
        env: optional(hook, 'env', at, stringArray),
        timeout: optional(hook, 'timeout', at, (x, q) => integer(x, q, 1)),
      };
    });
  }
  return hooks;
}

function parsePersonality(v: unknown, path: string): Personality {
  const o = onlyKeys(object(v, path), path, ['domain', 'flags']);
  // The spec defines no flag yet: any is a word berth cannot apply.
  const flags = optional(o, 'flags', path, stringArray) ?? [];
  if (flags.length) throw new ConfigError(`${path}.flags[0]`, `unknown flag "${flags[0]}" (none is defined)`);
  return { domain: required(o, 'domain', path, word(personalityDomains)) };
}

/** The node counts the kernel's modes take (set_mempolicy(2)); MPOL_PREFERRED takes none (the local node) or one. */
function parseMemoryPolicy(v: unknown, path: string): MemoryPolicy {
  const o = onlyKeys(object(v, path), path, ['mode', 'nodes', 'flags']);
  const mode = required(o, 'mode', path, word(memoryPolicyModes));
  const nodes = optional(o, 'nodes', path, listBelow(MAX_NUMA_NODES, 'NUMA nodes'));
  const flags = (optional(o, 'flags', path, array) ?? []).map((f, i) => word(memoryPolicyFlags)(f, `${path}.flags[${i}]`));
  const listed = listRanges(nodes ?? '').length;
  if ((mode === 'MPOL_DEFAULT' || mode === 'MPOL_LOCAL') && listed) throw new ConfigError(`${path}.nodes`, `${mode} takes no nodes`);
  if (mode !== 'MPOL_DEFAULT' && mode !== 'MPOL_LOCAL' && mode !== 'MPOL_PREFERRED' && !listed) throw new ConfigError(`${path}.nodes`, `${mode} needs at least one node`);
  if (flags.includes('MPOL_F_STATIC_NODES') && flags.includes('MPOL_F_RELATIVE_NODES'))
    throw new ConfigError(`${path}.flags`, 'MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other');
  return { mode, nodes, flags };
}

/** A network device's name as the kernel takes it (dev_valid_name): under 16 bytes, no '/', ':' or space. */
function netDeviceName(v: unknown, path: string, template: boolean): string {
  const s = string(v, path);
  const bad = !s || Buffer.byteLength(s) > 15 || s === '.' || s === '..' || /[/:\s]/.test(s) || (s.includes('%') && !(template && /^[^%]*%d[^%]*$/.test(s)));
  if (bad) throw new ConfigError(path, `"${s}" is not a network device name (1 to 15 bytes, no "/", ":" or space${template ? ', at most one %d' : ''})`);
  return s;
}

function parseNetDevices(v: unknown, path: string): Record<string, NetDevice> {
  const o = object(v, path);
  return Object.fromEntries(
    Object.entries(o).map(([host, d]) => {
      const q = `${path}.${host}`;
      netDeviceName(host, q, false);
      const device = onlyKeys(object(d, q), q, ['name']);
      return [host, { name: optional(device, 'name', q, (x, r) => netDeviceName(x, r, true)) }];
    }),
  );
}

function parseTimeOffsets(v: unknown, path: string): TimeOffsets {
  const o = onlyKeys(object(v, path), path, ['monotonic', 'boottime']);
  const offset = (x: unknown, q: string) => {
    const c = onlyKeys(object(x, q), q, ['secs', 'nanosecs']);
    return { secs: optional(c, 'secs', q, (y, r) => integer(y, r, -INT64_MAX, INT64_MAX)) ?? 0, nanosecs: optional(c, 'nanosecs', q, (y, r) => integer(y, r, 0, 999_999_999)) ?? 0 };
  };
  return { monotonic: optional(o, 'monotonic', path, offset), boottime: optional(o, 'boottime', path, offset) };
}

const propagations = ['private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared', 'unbindable', 'runbindable'];

/** Whether a config of OCI_VERSION ("1.2.0", "1.3.0-rc.1") follows runtime-spec MIN or later; a pre-release counts as its release. */
export function specAtLeast(ociVersion: string, min: string): boolean {
  const parts = (v: string) => v.split('-')[0]!.split('.').map((n) => Number(n) || 0);
  const [a, b] = [parts(ociVersion), parts(min)];
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}

/**
 * Parse and check config.json's content. Throws ConfigError naming the first bad path. The paths of
 * fields berth does not know inside the objects it reads are added to IGNORED (the spec's).
 */
export function parseConfig(raw: unknown, ignored: string[] = []): Config {
  const outer = ignoredFields;
  ignoredFields = ignored;
  try {
    return parseKnownConfig(raw);
  } finally {
    ignoredFields = outer;
  }
}

function parseKnownConfig(raw: unknown): Config {
  const c = object(raw, 'config.json');
  const root = required(c, 'root', '', object);
  const linux = optional(c, 'linux', '', object) ?? {};
  const namespaces = (optional(linux, 'namespaces', 'linux', array) ?? []).map((n, i) => parseNamespace(n, `linux.namespaces[${i}]`));
  const seen = new Map<string, number>();
  namespaces.forEach((n, i) => {
    if (seen.has(n.type)) throw new ConfigError(`linux.namespaces[${i}].type`, `namespace "${n.type}" is listed twice (also at [${seen.get(n.type)}])`);
    seen.set(n.type, i);
  });
  refuseUnsupported(linux, 'linux', { intelRdt: intelRdtRefusal() });
  const rootfsPropagation = optional(linux, 'rootfsPropagation', 'linux', string);
  if (rootfsPropagation !== undefined && !propagations.includes(rootfsPropagation))
    throw new ConfigError('linux.rootfsPropagation', `unknown propagation "${rootfsPropagation}" (${propagations.join(', ')})`);
  return {
    ociVersion: required(c, 'ociVersion', '', string),
    root: {
      path: required(root, 'path', 'root', string),
      readonly: optional(root, 'readonly', 'root', boolean) ?? false,
    },
    process: optional(c, 'process', '', parseProcess),
    hostname: optional(c, 'hostname', '', string),
    domainname: optional(c, 'domainname', '', string),
    mounts: (optional(c, 'mounts', '', array) ?? []).map((m, i) => parseMount(m, `mounts[${i}]`)),
    linux: {
      namespaces,
      devices: (optional(linux, 'devices', 'linux', array) ?? []).map((d, i) => parseDevice(d, `linux.devices[${i}]`)),
      cgroupsPath: optional(linux, 'cgroupsPath', 'linux', cgroupsPath),
      rootfsPropagation,
      resources: optional(linux, 'resources', 'linux', parseResources),
      maskedPaths: optional(linux, 'maskedPaths', 'linux', stringArray),
      readonlyPaths: optional(linux, 'readonlyPaths', 'linux', stringArray),
      sysctl: optional(linux, 'sysctl', 'linux', stringMap),
      seccomp: optional(linux, 'seccomp', 'linux', parseSeccomp),
      uidMappings: optional(linux, 'uidMappings', 'linux', idMappings),
      gidMappings: optional(linux, 'gidMappings', 'linux', idMappings),
      mountLabel: optional(linux, 'mountLabel', 'linux', string),
      personality: optional(linux, 'personality', 'linux', parsePersonality),
      memoryPolicy: optional(linux, 'memoryPolicy', 'linux', parseMemoryPolicy),
      netDevices: optional(linux, 'netDevices', 'linux', parseNetDevices),
      timeOffsets: optional(linux, 'timeOffsets', 'linux', parseTimeOffsets),
    },
    hooks: optional(c, 'hooks', '', parseHooks),
    annotations: optional(c, 'annotations', '', stringMap) ?? {},
  };
}
