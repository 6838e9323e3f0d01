// A container's cgroup: one directory per v1 hierarchy, or one on cgroup2. Created before the
// container's process runs any user code, removed on delete — only the directories berth made.
import { existsSync, mkdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, rmdir } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { BerthError, isErrno } from '../errors.js';
import { signalAll } from '../signalling.js';
import { signals } from '../signals.js';
import { controllerDir, controllerDirs } from './apply.js';
import { hostLayout, parseProcCgroup, type CgroupLayout } from './layout.js';

export interface CgroupRecord {
  version: 1 | 2;
  /** The container's cgroup directory in each hierarchy. */
  paths: string[];
  /** For each path, the topmost directory berth created (removed on delete), or null if it existed. */
  created: (string | null)[];
}

/** Whether a container has a cgroup at all (a rootless one on a v1 host has none: no paths). */
export const hasCgroup = (record: CgroupRecord | null | undefined): record is CgroupRecord => !!record?.paths.length;

/** The cgroupsPath a container gets when config.json names none. */
export function defaultCgroupsPath(id: string): string {
  return `/berth-${id}`;
}

/**
 * Each hierarchy's directory for CGROUPS_PATH. Relative paths hang below berth's own cgroup. `..`
 * is resolved lexically from the root, as runc does: no path leaves the hierarchy. Pure.
 */
export function cgroupDirs(layout: CgroupLayout, cgroupsPath: string, ownCgroups: Map<string, string>): string[] {
  const rooted = posix.normalize(`/${cgroupsPath}`); // lexically: `..` cannot climb above /
  const inner = (key: string) => (cgroupsPath.startsWith('/') ? rooted : join(ownCgroups.get(key) ?? '/', rooted));
  if (layout.version === 2) return [join(layout.unified!, inner(''))];
  return layout.v1.map((h) => join(h.mountPoint, inner(h.controllers[0] ?? '')));
}

/**
 * A rootless berth's cgroups: the top of the cgroup2 subtree delegated to its uid (systemd's
 * user@UID.service), found going up from this process's own cgroup while the folder and its
 * cgroup.procs are this uid's; a container's cgroupsPath, relative or absolute, goes below it. Null
 * without one: a v1 host, as this one, gives a user none.
 */
export function delegatedCgroups(): { layout: CgroupLayout; root: string } | null {
  let layout: CgroupLayout;
  try {
    layout = hostLayout(2);
  } catch {
    return null; // no cgroup2 mount
  }
  const own = parseProcCgroup(readFileSync('/proc/self/cgroup', 'utf8')).get('');
  if (own === undefined) return null;
  const uid = process.geteuid!();
  const ours = (dir: string) => {
    try {
      return statSync(dir).uid === uid && statSync(join(dir, 'cgroup.procs')).uid === uid;
    } catch {
      return false;
    }
  };
  let root: string | null = null;
  // Strictly below the mount: its root is never a user's.
  for (let d = join(layout.unified!, own).replace(/\/$/, ''); d.startsWith(`${layout.unified}/`) && ours(d); d = dirname(d)) root = d;
  return root ? { layout, root } : null;
}

/** The container's cgroup folder below a delegated ROOT (`..` cannot climb out of it). */
export const delegatedCgroupDirs = (layout: CgroupLayout, root: string, cgroupsPath: string) => cgroupDirs({ ...layout, unified: root }, `/${cgroupsPath}`, new Map());

export function containerCgroupDirs(layout: CgroupLayout, cgroupsPath: string): string[] {
  const own = cgroupsPath.startsWith('/') ? new Map<string, string>() : parseProcCgroup(readFileSync('/proc/self/cgroup', 'utf8'));
  return cgroupDirs(layout, cgroupsPath, own);
}

/**
 * Make DIR (and any missing parent); the topmost directory made, or null when DIR was there
 * already. IN_PLACE: the usual case's one mkdir on this thread (see createCgroup).
 */
async function makeDir(dir: string, inPlace: boolean): Promise<string | null> {
  try {
    // one syscall for the usual case: the parent is there
    if (inPlace) mkdirSync(dir);
    else await mkdir(dir);
    return dir;
  } catch (e) {
    if (isErrno(e, 'EEXIST')) return null;
    if (!isErrno(e, 'ENOENT')) throw e;
  }
  return (await mkdir(dir, { recursive: true })) ?? null;
}

/** v1 cpuset starts empty: a directory must copy its parent's cpus and mems before it can hold tasks. */
function fillCpuset(top: string, dir: string): void {
  const chain: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    chain.unshift(d);
    if (d === top) break;
  }
  for (const d of chain) {
    for (const f of ['cpuset.cpus', 'cpuset.mems']) {
      if (readFileSync(join(d, f), 'utf8').trim() === '') writeFileSync(join(d, f), readFileSync(join(dirname(d), f)));
    }
  }
}

/**
 * The record of PATHS (cgroupDirs' for LAYOUT), written before anything is made: each path as the
 * directory its create makes. createCgroup corrects it to what was made, and that is saved with the
 * created container. So a create killed in between leaves a record whose delete removes the
 * container's own directory, and leaves a parent it made empty rather than risk removing one that
 * was there before. No probe: a kernfs lookup waits while other containers' cgroups come and go.
 */
export function planCgroup(layout: CgroupLayout, paths: string[]): CgroupRecord {
  return { version: layout.version, paths, created: [...paths] };
}

/**
 * Make each directory of RECORD. With other operations under way, the hierarchies side by side on
 * libuv's pool: a mkdir in cgroupfs waits for the kernel's cgroup lock, held meanwhile by other
 * containers' creates, joins and exits, and the calling thread has their operations to run. ALONE,
 * one after another in place: ten hops to the pool cost the thread more than the ten mkdirs (their
 * wake-ups preempt it on two vCPUs). RECORD's `created` becomes what was made (null for a directory
 * that was there); after a failure, what was made so far, for the undo.
 */
export async function createCgroup(record: CgroupRecord, alone: boolean): Promise<void> {
  // The cpuset hierarchy is known from the layout: no probe of cpuset.cpus in every hierarchy.
  const cpuset = record.version === 1 ? controllerDir(hostLayout(1), record.paths, 'cpuset') : undefined;
  const made = record.paths.map((): string | null => null);
  const makes = record.paths.map(async (p, i) => {
    const top = (made[i] = await makeDir(p, alone));
    if (top && p === cpuset) fillCpuset(top, p);
  });
  const results = await Promise.allSettled(makes);
  record.created = made;
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * The directories an exec with runc's --cgroup SPEC joins: `path` below the container's cgroup in
 * every hierarchy, or `controller[,controller]:path` below it in those controllers' hierarchies
 * (the others stay the container's). The path stays below the container's cgroup, and must exist.
 */
export function subCgroupDirs(record: CgroupRecord, layout: CgroupLayout, spec: string): string[] {
  const colon = spec.indexOf(':');
  const controllers = colon < 0 ? null : spec.slice(0, colon).split(',');
  const sub = posix.normalize(colon < 0 ? spec : spec.slice(colon + 1)).replace(/^\/+/, '');
  if (!sub || sub === '.' || sub.startsWith('..')) throw new BerthError(`--cgroup ${spec}: not a cgroup below the container's`, 'invalid');
  const byController = record.version === 1 ? controllerDirs(layout, record.paths) : new Map<string, string>();
  const chosen = new Set<string>();
  for (const c of controllers ?? []) {
    const dir = record.version === 1 ? byController.get(c) : record.paths[0];
    if (!dir) throw new BerthError(`--cgroup ${spec}: the container has no cgroup of controller "${c}"`, 'invalid');
    chosen.add(dir);
  }
  return record.paths.map((p) => {
    if (controllers && !chosen.has(p)) return p;
    const dir = join(p, sub);
    if (!existsSync(dir)) throw new BerthError(`--cgroup ${spec}: ${dir} does not exist`, 'invalid');
    return dir;
  });
}

/** Move PID into the container's cgroup, in every hierarchy. */
export function joinCgroup(record: CgroupRecord, pid: number): void {
  for (const p of record.paths) writeFileSync(join(p, 'cgroup.procs'), String(pid));
}

/** Every pid in the container's cgroup (v1: the union over hierarchies). */
export function cgroupPids(record: CgroupRecord): number[] {
  const pids = new Set<number>();
  for (const p of record.paths) {
    try {
      for (const line of readFileSync(join(p, 'cgroup.procs'), 'utf8').split('\n')) if (line) pids.add(Number(line));
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw e;
    }
  }
  return [...pids];
}

/** Every cgroup directory below DIR that can go, deepest first (one whose last tasks are still exiting stays, for the next try). */
async function removeBelow(dir: string): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return;
    throw e;
  }
  for (const e of entries.filter((x) => x.isDirectory())) {
    const sub = join(dir, e.name);
    await removeBelow(sub);
    try {
      await rmdir(sub);
    } catch (err) {
      if (!isErrno(err, 'ENOENT', 'EBUSY')) throw err;
    }
  }
}

/**
 * Remove what createCgroup made, deepest first in each hierarchy; as createCgroup, ALONE in place,
 * else the hierarchies side by side on libuv's pool: an rmdir in cgroupfs waits for the kernel's
 * cgroup lock, which the creates and exits of other containers hold, and the calling thread has
 * other operations to run meanwhile (16 in flight through the inline host: 5-14% more containers
 * per second). A cgroup whose last tasks are still exiting is busy for a moment: retry briefly
 * before giving up. A task that joined after the container's processes were ended (berth-init's
 * stage 1 of a create whose berth was killed, joining hierarchy after hierarchy) is killed then
 * too: nothing of the container may stay. Every hierarchy is tried; a failure is reported as the
 * first failing hierarchy's.
 */
export async function removeCgroup(record: CgroupRecord, alone: boolean): Promise<void> {
  const removals = record.paths.map(async (path, i) => {
    const top = record.created[i];
    if (!top) return;
    for (let d = path; ; d = dirname(d)) {
      for (let attempt = 0; ; attempt++) {
        try {
          if (alone) rmdirSync(d);
          else await rmdir(d);
          break;
        } catch (e) {
          if (isErrno(e, 'ENOENT')) break;
          // A parent berth made for this container that now holds others' cgroups (containerd's
          // /default, shared by its namespace's containers) stays: it is theirs too.
          if (d !== path && isErrno(e, 'EBUSY', 'ENOTEMPTY')) return;
          if (!isErrno(e, 'EBUSY') || attempt >= 50) throw e;
          // Cgroups made inside the container's (for an exec's --cgroup, by its own systemd) go with it.
          if (d === path) await removeBelow(path);
          signalAll(cgroupPids(record), signals.SIGKILL!);
          await new Promise((r) => setTimeout(r, 10));
        }
      }
      if (d === top) break;
    }
  });
  const failed = (await Promise.allSettled(removals)).find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}
