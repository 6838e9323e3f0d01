// The OCI runtime-spec config.json, as berth reads it. Fields of later issues are typed where known
// and carried through untouched until their compiler exists.

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
}

export interface Mount {
  destination: string;
  type?: string;
  source?: string;
  options: string[];
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
  listenerPath?: string;
  syscalls: SeccompSyscall[];
}

export interface Linux {
  namespaces: Namespace[];
  devices: Device[];
  cgroupsPath?: string;
  rootfsPropagation?: string;
  resources?: Record<string, unknown>;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  sysctl?: Record<string, string>;
  seccomp?: Seccomp;
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
  mountLabel?: string;
}

export interface Config {
  ociVersion: string;
  root: { path: string; readonly: boolean };
  process: Process;
  hostname?: string;
  domainname?: string;
  mounts: Mount[];
  linux: Linux;
  hooks?: Record<string, unknown>;
  annotations: Record<string, string>;
}
