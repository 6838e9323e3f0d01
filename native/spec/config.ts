// The OCI runtime-spec config.json, as berth reads it: every field it applies. validate.ts refuses,
// by path, a field berth knows of and cannot apply; a field it does not know is left to the future.
import type { ioPriorityClasses, memoryPolicyFlags, memoryPolicyModes, personalityDomains, schedFlags, schedPolicies } from '../compile/scheduling.js';

export interface User {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
}

export interface Process {
  terminal: boolean;
  user: User;
  args: string[];
  env: string[];
  cwd: string;
  capabilities?: Record<string, string[]>;
  rlimits?: { type: string; hard: number; soft: number }[];
  noNewPrivileges?: boolean;
  oomScoreAdj?: number;
  apparmorProfile?: string;
  selinuxLabel?: string;
  consoleSize?: { height: number; width: number };
  scheduler?: Scheduler;
  ioPriority?: IoPriority;
  /** For an exec'd process only (the spec's rule): not the container's own. */
  execCPUAffinity?: CpuAffinity;
}

export interface Scheduler {
  policy: keyof typeof schedPolicies;
  nice?: number;
  priority?: number;
  flags?: (keyof typeof schedFlags)[];
  runtime?: number;
  deadline?: number;
  period?: number;
}

export interface IoPriority {
  class: keyof typeof ioPriorityClasses;
  priority: number;
}

export interface CpuAffinity {
  initial?: string;
  final?: string;
}

export interface Personality {
  domain: keyof typeof personalityDomains;
}

/** The NUMA memory policy (linux.memoryPolicy): a mode, the nodes it names ("0-3,7"), its flags. */
export interface MemoryPolicy {
  mode: keyof typeof memoryPolicyModes;
  nodes?: string;
  flags?: (keyof typeof memoryPolicyFlags)[];
}

/** A host network device moved into the container (linux.netDevices, keyed by its host name). */
export interface NetDevice {
  /** Its name in the container (a %d in it is numbered by the kernel); the host's when absent. */
  name?: string;
}

/** The time namespace's clocks, moved by an offset (linux.timeOffsets). */
export type TimeOffsets = Partial<Record<'monotonic' | 'boottime', { secs: number; nanosecs: number }>>;

export interface Mount {
  destination: string;
  type?: string;
  source?: string;
  options: string[];
  /** An idmapped bind's own mappings (else, with idmap/ridmap, the container's user namespace's). */
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
}

export const namespaceTypes = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time'] as const;
export type NamespaceType = (typeof namespaceTypes)[number];

export interface Namespace {
  type: NamespaceType;
  path?: string;
}

export interface Device {
  type: 'c' | 'b' | 'u' | 'p';
  path: string;
  major: number;
  minor: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface SeccompArg {
  index: number;
  /** Unsigned 64-bit; kept a JSON number here so the config stays JSON (the compiler reads it exactly). */
  value: number;
  valueTwo: number;
  op: string;
}

export interface SeccompSyscall {
  names: string[];
  action: string;
  errnoRet?: number;
  args: SeccompArg[];
}

export interface Seccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures: string[];
  flags: string[];
  /** Where the listener of a filter with SCMP_ACT_NOTIFY goes (a unix socket), with the container process state. */
  listenerPath?: string;
  /** Opaque to berth: the state's `metadata` for the agent. */
  listenerMetadata?: string;
  syscalls: SeccompSyscall[];
}

/** One linux.resources.devices entry. Absent type, major, minor or access mean "all". */
export interface DeviceCgroupRule {
  allow: boolean;
  type?: 'a' | 'b' | 'c';
  /** -1, like absent, means every number. */
  major?: number;
  minor?: number;
  /** Some of r, w, m. */
  access?: string;
}

/** Byte values: -1 means unlimited; 0 leaves the value as it is (runc's reading: Go writes 0 for unset). */
export interface MemoryResources {
  limit?: number;
  reservation?: number;
  /** memory + swap, not swap alone. */
  swap?: number;
  kernel?: number;
  kernelTCP?: number;
  swappiness?: number;
  disableOOMKiller?: boolean;
  useHierarchy?: boolean;
  /** Read by update: refuse a limit below the current usage. */
  checkBeforeUpdate?: boolean;
}

/** 0 leaves shares, quota, period and the realtime values as they are (runc's reading). */
export interface CpuResources {
  shares?: number;
  /** Microseconds per period; -1 is unlimited. */
  quota?: number;
  burst?: number;
  period?: number;
  realtimeRuntime?: number;
  realtimePeriod?: number;
  /** A list like "0-3,7". */
  cpus?: string;
  mems?: string;
  /** 1: SCHED_IDLE for the whole cgroup. */
  idle?: number;
}

export interface BlockIODevice {
  major: number;
  minor: number;
}

export interface WeightDevice extends BlockIODevice {
  weight?: number;
  leafWeight?: number;
}

export interface ThrottleDevice extends BlockIODevice {
  rate: number;
}

export interface BlockIOResources {
  weight?: number;
  leafWeight?: number;
  weightDevice?: WeightDevice[];
  throttleReadBpsDevice?: ThrottleDevice[];
  throttleWriteBpsDevice?: ThrottleDevice[];
  throttleReadIOPSDevice?: ThrottleDevice[];
  throttleWriteIOPSDevice?: ThrottleDevice[];
}

export interface HugepageLimit {
  /** "2MB", "1GB", "64KB". */
  pageSize: string;
  limit: number;
}

export interface NetworkResources {
  classID?: number;
  priorities?: { name: string; priority: number }[];
}

export interface Resources {
  devices?: DeviceCgroupRule[];
  memory?: MemoryResources;
  cpu?: CpuResources;
  /** -1 is unlimited; 0 is a real limit (runtime-spec 1.3 settles this). */
  pids?: { limit?: number };
  blockIO?: BlockIOResources;
  hugepageLimits?: HugepageLimit[];
  network?: NetworkResources;
  rdma?: Record<string, { hcaHandles?: number; hcaObjects?: number }>;
  /** cgroup v2 file name → content, written as given. */
  unified?: Record<string, string>;
}

export interface Linux {
  namespaces: Namespace[];
  devices: Device[];
  cgroupsPath?: string;
  rootfsPropagation?: string;
  resources?: Resources;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  sysctl?: Record<string, string>;
  seccomp?: Seccomp;
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
  mountLabel?: string;
  personality?: Personality;
  memoryPolicy?: MemoryPolicy;
  netDevices?: Record<string, NetDevice>;
  timeOffsets?: TimeOffsets;
}

export const hookKinds = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'] as const;
export type HookKind = (typeof hookKinds)[number];

export interface Hook {
  /** Absolute; resolved in the runtime's namespace, or the container's for startContainer. */
  path: string;
  /** argv, argv[0] as given (the path when absent). */
  args?: string[];
  /** The environment, exactly: nothing is inherited. */
  env?: string[];
  /** Seconds; the hook is killed and fails when it runs longer. */
  timeout?: number;
}

export type Hooks = Partial<Record<HookKind, Hook[]>>;

/** A config with its process, as `berth spec` writes one (and most bundles are). */
export type ConfigWithProcess = Config & { process: Process };

export interface Config {
  ociVersion: string;
  root: { path: string; readonly: boolean };
  /** OPTIONAL (config.md): without it the container can be created, and its start fails (runtime.md). */
  process?: Process;
  hostname?: string;
  domainname?: string;
  mounts: Mount[];
  linux: Linux;
  hooks?: Hooks;
  annotations: Record<string, string>;
}
