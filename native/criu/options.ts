// What CRIU must be told to checkpoint or restore a berth container: config.json, the recorded
// state and runc's flags become criu_opts. Pure: what it needs from /proc (the process's stdio,
// its mounts, the inodes of joined namespaces) comes in as facts, and no fd is opened here.
//
// - Mounts whose source is outside the container (binds, the host's cgroup folders bound in, the
//   host's device nodes bound in a user namespace) are external: `mnt[<dest>]:<dest>` on dump,
//   `mnt[<dest>]:<source now>` on restore.
// - Network and pid namespaces joined by path are external (`net[<inode>]:extRootNetNS`), given back
//   on restore as an inherited fd; other joined ones are joined again (join_ns).
// - stdio that leads outside the container (pipes, host files such as /dev/null) is keyed at dump
//   and replaced on restore by the restoring caller's own stdio (`inherit_fd`).
// - The cgroup: dumped for berth's hierarchies only, restored below the new container's cgroup.
import { posix } from 'node:path';
import { defaultDevices } from '../compile/devices.js';
import { bindSource, bindsDev, isBind } from '../compile/mounts.js';
import { CLONE_FLAGS, hasNamespace, hasNewNamespace, nsFile } from '../compile/namespaces.js';
import { freezerDir } from '../cgroups/freezer.js';
import type { CgroupLayout } from '../cgroups/layout.js';
import type { Config, NamespaceType } from '../spec/config.js';
import { BerthError } from '../errors.js';
import { CgroupMode, type CgroupModeName, type CgroupRoot, type CriuOpts, type InheritFd, type JoinNamespace, type RequestTypeName } from './rpc.js';

/** runc's flags that mean the same to dump and restore. */
export interface CriuFlags {
  tcpEstablished?: boolean;
  extUnixSk?: boolean;
  shellJob?: boolean;
  fileLocks?: boolean;
  manageCgroupsMode?: CgroupModeName;
}

export interface DumpFlags extends CriuFlags {
  leaveRunning?: boolean;
  /** Dump memory only, and leave the container running (for a later dump with a parent). */
  preDump?: boolean;
  /** A previous pre-dump's images, relative to the image folder. */
  parentPath?: string;
  /** Namespaces (config.json's names) CRIU creates empty on restore instead of restoring. */
  emptyNs?: string[];
}

/** One of the container process's stdio fds, as /proc shows it at checkpoint. */
export interface StdioFact {
  fd: number;
  /** readlink /proc/PID/fd/N: `pipe:[123]`, `/dev/null`, `/dev/pts/0`, ... */
  link: string;
  /** fdinfo's mnt_id, and st_ino of the open file. */
  mntId: number;
  inode: number;
}

/** How a stdio fd was dumped: KEY names it in the images, to be replaced by the restorer's fd. */
export interface StdioRecord {
  fd: number;
  key: string;
}

/** The container's cgroup: its folders in the order of the layout's hierarchies (v1) or the one v2 folder. */
export interface CgroupFacts {
  layout: CgroupLayout;
  paths: string[];
}

export interface DumpInput {
  config: Config;
  pid: number;
  rootfs: string;
  cgroup: CgroupFacts | null;
  stdio: StdioFact[];
  /** Mount ids of the container's own mount namespace. */
  containerMountIds: number[];
  /** Inodes of the namespaces config.json joins by path. */
  namespaceInodes: Partial<Record<NamespaceType, number>>;
  flags: DumpFlags;
}

export interface RestoreInput {
  config: Config;
  bundle: string;
  /** Where CRIU finds the root file system (a mount point of its own). */
  root: string;
  /** The new container's cgroup. */
  cgroup: CgroupFacts | null;
  stdio: StdioRecord[];
  flags: CriuFlags;
}

/** Everything but the folders' fds, which only the caller can open. */
export type MappedOpts = Omit<CriuOpts, 'imagesDirFd' | 'workDirFd'>;

const CRIU_LOG_LEVEL = 4;
/** CRIU's restore process has the RPC socket at fd 3: fds passed to it start at 4. */
const FIRST_PASSED_FD = 4;

/** Namespaces CRIU takes as external when joined by path; the rest it can join itself. */
const externalNamespaces: readonly NamespaceType[] = ['network', 'pid'];
/** runc's keys for external namespaces: extRootNetNS, extRootPidNS. */
const externalKey = (type: NamespaceType) => `extRoot${nsFile[type][0]!.toUpperCase()}${nsFile[type].slice(1)}NS`;

/** Each external mount: its destination in the container (the key) and its source on the host now. */
function externalMounts(config: Config, bundle: string, cgroup: CgroupFacts | null): { dest: string; source: string }[] {
  const out: { dest: string; source: string }[] = [];
  const ownCgroupNamespace = hasNewNamespace(config, 'cgroup');
  for (const m of config.mounts) {
    if (isBind(m)) out.push({ dest: m.destination, source: bindSource(m, bundle) });
    else if (m.type === 'cgroup' && !ownCgroupNamespace && cgroup) {
      // Without a cgroup namespace the container's own cgroup folders are bound in (compile/mounts.ts).
      if (cgroup.layout.version === 2) out.push({ dest: m.destination, source: cgroup.paths[0]! });
      else cgroup.layout.v1.forEach((h, i) => out.push({ dest: posix.join(m.destination, posix.basename(h.mountPoint)), source: cgroup.paths[i]! }));
    }
  }
  // In a user namespace device nodes are the host's, bound in (compile/devices.ts).
  if (hasNamespace(config, 'user')) {
    const own = new Set(config.linux.devices.map((d) => posix.normalize(d.path)));
    const defaults = bindsDev(config) ? [] : defaultDevices.filter((d) => !own.has(d.path));
    for (const d of [...defaults, ...config.linux.devices]) out.push({ dest: d.path, source: d.path });
  }
  return out;
}

function joinedNamespaces(config: Config): { type: NamespaceType; path: string }[] {
  const joined = config.linux.namespaces.filter((n) => n.path).map((n) => ({ type: n.type, path: n.path! }));
  if (joined.some((n) => n.type === 'cgroup')) throw new BerthError('CRIU cannot checkpoint or restore a container that joins a cgroup namespace by path', 'invalid');
  return joined;
}

function common(flags: CriuFlags): MappedOpts {
  return {
    logLevel: CRIU_LOG_LEVEL,
    tcpEstablished: flags.tcpEstablished,
    extUnixSk: flags.extUnixSk,
    shellJob: flags.shellJob,
    fileLocks: flags.fileLocks,
    manageCgroups: true,
    manageCgroupsMode: flags.manageCgroupsMode === undefined ? undefined : CgroupMode[parseCgroupMode(flags.manageCgroupsMode)],
    // A terminal's master is outside the container (with whoever got it over the console socket).
    orphanPtsMaster: true,
  };
}

/** Check a --manage-cgroups-mode value. */
function parseCgroupMode(mode: string): CgroupModeName {
  if (!(mode in CgroupMode)) throw new BerthError(`invalid --manage-cgroups-mode "${mode}": ${Object.keys(CgroupMode).join(', ')}`, 'invalid');
  return mode as CgroupModeName;
}

function emptyNamespaceFlags(names: string[]): number | undefined {
  if (!names.length) return undefined;
  return names.reduce((flags, name) => {
    const flag = CLONE_FLAGS[name as NamespaceType];
    if (flag === undefined) throw new BerthError(`--empty-ns: namespace "${name}" is not supported`, 'invalid');
    return flags | flag;
  }, 0);
}

/** A stdio fd that leads outside the container: its key in the images, else null (CRIU dumps it whole). */
function stdioKey(fact: StdioFact, containerMountIds: ReadonlySet<number>): string | null {
  if (fact.link.startsWith('pipe:')) return fact.link;
  if (!fact.link.startsWith('/') || containerMountIds.has(fact.mntId)) return null;
  return `file[${fact.mntId.toString(16)}:${fact.inode.toString(16)}]`;
}

/** The v1 controllers berth manages (CRIU would otherwise try every hierarchy the kernel lists). */
function dumpControllers(cgroup: CgroupFacts | null): string[] | undefined {
  if (!cgroup || cgroup.layout.version === 2) return undefined;
  return cgroup.layout.v1.flatMap((h) => h.controllers);
}

/** The checkpoint: the request's type and options, and how its stdio was keyed (kept with the images). */
export function dumpOptions(input: DumpInput): { type: RequestTypeName; opts: MappedOpts; stdio: StdioRecord[] } {
  const { config, flags } = input;
  const mountIds = new Set(input.containerMountIds);
  const stdio = input.stdio.flatMap((f) => {
    const key = stdioKey(f, mountIds);
    return key ? [{ fd: f.fd, key }] : [];
  });
  const namespaces = joinedNamespaces(config)
    .filter((n) => externalNamespaces.includes(n.type))
    .map((n) => {
      const inode = input.namespaceInodes[n.type];
      if (inode === undefined) throw new Error(`no inode known for the ${n.type} namespace ${n.path}`);
      return `${nsFile[n.type]}[${inode}]:${externalKey(n.type)}`;
    });
  const external = [
    // The sources do not matter to a dump: only the keys, which restore maps to sources again.
    ...externalMounts(config, '', input.cgroup).map((m) => `mnt[${m.dest}]:${m.dest}`),
    ...namespaces,
    ...stdio.filter((s) => s.key.startsWith('file[')).map((s) => s.key),
  ];
  return {
    type: flags.preDump ? 'PRE_DUMP' : 'DUMP',
    stdio,
    opts: {
      ...common(flags),
      pid: input.pid,
      root: input.rootfs,
      logFile: 'dump.log',
      leaveRunning: flags.leaveRunning,
      parentImg: flags.parentPath,
      trackMem: flags.preDump || flags.parentPath !== undefined ? true : undefined,
      emptyNs: emptyNamespaceFlags(flags.emptyNs ?? []),
      external,
      freezeCgroup: input.cgroup ? freezerDir(input.cgroup.paths, input.cgroup.layout) : undefined,
      cgroupDumpController: dumpControllers(input.cgroup),
    },
  };
}

/** The cgroup CRIU restores into, per hierarchy: the new container's folder, relative to the mount. */
function cgroupRoots(cgroup: CgroupFacts | null): CgroupRoot[] | undefined {
  if (!cgroup) return undefined;
  if (cgroup.layout.version === 2) return [{ path: '/' + posix.relative(cgroup.layout.unified!, cgroup.paths[0]!) }];
  return cgroup.layout.v1.map((h, i) => ({ ctrl: h.controllers.join(','), path: '/' + posix.relative(h.mountPoint, cgroup.paths[i]!) }));
}

/** The restore: options, and the files to open and pass to CRIU at fds 4, 5, ... (inherited namespaces). */
export function restoreOptions(input: RestoreInput): { opts: MappedOpts; passFiles: string[] } {
  const { config } = input;
  const joined = joinedNamespaces(config);
  const external = joined.filter((n) => externalNamespaces.includes(n.type));
  const inheritFd: InheritFd[] = [
    ...input.stdio.map((s) => ({ key: s.key, fd: s.fd })),
    ...external.map((n, i) => ({ key: externalKey(n.type), fd: FIRST_PASSED_FD + i })),
  ];
  const joinNs: JoinNamespace[] = joined.filter((n) => !externalNamespaces.includes(n.type)).map((n) => ({ ns: nsFile[n.type], nsFile: n.path }));
  return {
    passFiles: external.map((n) => n.path),
    opts: {
      ...common(input.flags),
      root: input.root,
      logFile: 'restore.log',
      // The restored process becomes berth's child, as a created one is (berth-init's CLONE_PARENT).
      rstSibling: true,
      evasiveDevices: true,
      // Notifications carry the terminal's new master (orphan-pts-master).
      notifyScripts: true,
      external: externalMounts(config, input.bundle, input.cgroup).map((m) => `mnt[${m.dest}]:${m.source}`),
      inheritFd: inheritFd.length ? inheritFd : undefined,
      joinNs: joinNs.length ? joinNs : undefined,
      cgRoot: cgroupRoots(input.cgroup),
    },
  };
}
