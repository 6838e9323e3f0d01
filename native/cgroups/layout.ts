// How cgroups are mounted on this host: v1 hierarchies, the cgroup2 mount, or both (hybrid).
import { mountTable } from '../mountTable.js';

export interface V1Hierarchy {
  /** Where the hierarchy is mounted, e.g. /sys/fs/cgroup/memory. */
  mountPoint: string;
  /** Controllers bound to it (`cpu`, `memory`), or `name=systemd` for a named one. */
  controllers: string[];
}

export interface CgroupLayout {
  /** The version berth manages containers with. */
  version: 1 | 2;
  v1: V1Hierarchy[];
  /** The cgroup2 mount point, if any. */
  unified: string | null;
}

/**
 * The file a process writes 0 to, to move itself into a cgroup of VERSION; berth-init is one thread
 * when it does. On v1, `tasks`: this kernel (6.18) moves the writer's own thread without the
 * threadgroup lock, whose write side waits for an RCU grace period when it was not taken in the
 * last one (`cgroup.procs`: 13.7 ms for a create's first write here, median of 20 with 50 ms
 * between; `tasks`: 74 µs); a kernel that takes the lock for both costs what `cgroup.procs` does.
 * cgroup2 moves a thread alone only within a threaded subtree: `cgroup.procs` there.
 */
export const selfJoinFile = (version: 1 | 2): string => (version === 1 ? 'tasks' : 'cgroup.procs');

/**
 * runc's and crun's choice: v2 when /sys/fs/cgroup itself is the cgroup2 mount (unified mode), even
 * with a v1 hierarchy mounted beside it (a named one for an old container's systemd); v1 on a
 * hybrid host, where the controllers are in v1 hierarchies; v2 when no v1 hierarchy has any.
 */
function defaultVersion(v1: V1Hierarchy[], unified: string | null): 1 | 2 {
  if (unified === '/sys/fs/cgroup') return 2;
  if (v1.some((h) => h.controllers.some((c) => !c.startsWith('name=')))) return 1;
  return unified ? 2 : 1;
}

/** The cgroup mounts in /proc/self/mountinfo text. Pure. */
function parseMounts(mountinfo: string): Omit<CgroupLayout, 'version'> {
  const v1: V1Hierarchy[] = [];
  let unified: string | null = null;
  // A hierarchy mounted again (a container's /sys/fs/cgroup in the host's mount namespace) keeps
  // its device number: the first mount of each is the one.
  const seen = new Set<string>();
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const [, , device = '', , rawMountPoint = ''] = line.slice(0, sep).split(' ');
    const mountPoint = rawMountPoint.replace(/\\040/g, ' ');
    const [fstype, , superOptions = ''] = line.slice(sep + 3).split(' ');
    if (fstype === 'cgroup2') unified ??= mountPoint;
    else if (fstype === 'cgroup' && !seen.has(device)) {
      seen.add(device);
      const controllers = superOptions.split(',').filter((o) => o !== 'rw' && o !== 'ro' && !o.startsWith('release_agent=') && o !== 'clone_children' && o !== 'noprefix' && o !== 'xattr');
      v1.push({ mountPoint, controllers });
    }
  }
  return { v1, unified };
}

/** MOUNTS managed as version PREFER, or as the host's default; refused when that version has nothing mounted. */
function withVersion({ v1, unified }: Omit<CgroupLayout, 'version'>, prefer?: 1 | 2): CgroupLayout {
  const version = prefer ?? defaultVersion(v1, unified);
  if (version === 2 && !unified) throw new Error('cgroup v2 requested but no cgroup2 file system is mounted');
  if (version === 1 && v1.length === 0) throw new Error('cgroup v1 requested but no v1 hierarchy is mounted');
  return { version, v1, unified };
}

/** Parse /proc/self/mountinfo text into the cgroup layout. Pure. */
export function parseLayout(mountinfo: string, prefer?: 1 | 2): CgroupLayout {
  return withVersion(parseMounts(mountinfo), prefer);
}

/** The layout of each version asked for, while the mount table is the one they were parsed from. */
let cached: { mountinfo: string; mounts: Omit<CgroupLayout, 'version'>; byPrefer: Map<1 | 2 | undefined, CgroupLayout> } | undefined;

/** This host's layout as mounted now: a long-lived berth server sees hierarchies come and go (parsed again only then). */
export function hostLayout(prefer?: 1 | 2): CgroupLayout {
  const mountinfo = mountTable();
  if (cached?.mountinfo !== mountinfo) cached = { mountinfo, mounts: parseMounts(mountinfo), byPrefer: new Map() };
  let layout = cached.byPrefer.get(prefer);
  if (!layout) cached.byPrefer.set(prefer, (layout = withVersion(cached.mounts, prefer)));
  return layout;
}

/** The cgroup of this process in each hierarchy: `memory` → `/process_api/x`, `` (v2) → `/`. Pure. */
export function parseProcCgroup(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    for (const c of m[1]!.split(',')) out.set(c, m[2]!);
  }
  return out;
}
