// Compiled resource writes meet the kernel here: into a container's cgroup directories at create,
// and (by update) into a live one. Every failure names the config field, the file and the errno.
import { closeSync, constants, existsSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BerthError, errnoText, isErrno, SyscallError } from '../errors.js';
import { attachDeviceProgram, attachedDevicePrograms, closeFd, detachDeviceProgram, deviceProgramFd, loadDeviceProgram, pageSize } from '../syscalls.js';
import { hostLayout, type CgroupLayout } from './layout.js';
import type { CgroupRecord } from './manager.js';
import type { CgroupWrite, DeviceFilter, FileWrite, HostFacts } from './writes.js';

/** `linux.resources.memory.kernel: memory.kmem.limit_in_bytes: EOPNOTSUPP (operation not supported), writing "1"` */
export class CgroupWriteError extends BerthError {
  constructor(
    readonly field: string,
    readonly file: string,
    detail: string,
  ) {
    super(`${field}: ${file}: ${detail}`);
    this.name = 'CgroupWriteError';
  }
}

const controllerList = (text: string) => new Set(text.split(/\s+/).filter(Boolean));

/** `hugepages-2048kB` (a /sys/kernel/mm/hugepages entry) → `2MB`, as the hugetlb files name it. Pure. */
export function hugepageSizeName(entry: string): string | null {
  const kB = /^hugepages-(\d+)kB$/.exec(entry)?.[1];
  if (kB === undefined) return null;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let size = Number(kB);
  let unit = 0;
  while (size % 1024 === 0 && unit < units.length - 1) {
    size /= 1024;
    unit++;
  }
  return `${size}${units[unit]}`;
}

const HUGEPAGES = '/sys/kernel/mm/hugepages';
/** The kernel's huge page sizes: fixed at boot, so read once per process. */
let hugepageSizes: string[] | undefined;

export function cgroupFacts(layout: CgroupLayout): HostFacts {
  // On a hybrid host cgroup2 offers exactly the controllers no v1 hierarchy has taken (read each
  // time: binding a controller to a v1 hierarchy takes it off cgroup2 at any moment).
  const unified = layout.unified ? controllerList(readFileSync(join(layout.unified, 'cgroup.controllers'), 'utf8')) : new Set<string>();
  const v1 = new Set(layout.v1.flatMap((h) => h.controllers));
  hugepageSizes ??= existsSync(HUGEPAGES) ? readdirSync(HUGEPAGES).flatMap((e) => hugepageSizeName(e) ?? []) : [];
  return {
    controllers: layout.version === 1 ? v1 : unified,
    unifiedOnly: layout.version === 1 ? unified : new Set(),
    hugepageSizes: [...hugepageSizes],
    pageSize: pageSize(),
  };
}

/** v1: each controller's directory among a container's cgroup paths (a path lies below its hierarchy's mount point). Pure. */
export function controllerDirs(layout: CgroupLayout, paths: string[]): Map<string, string> {
  const dirs = new Map<string, string>();
  for (const h of layout.v1) {
    const dir = paths.find((p) => p.startsWith(h.mountPoint + '/'));
    if (dir) for (const c of h.controllers) dirs.set(c, dir);
  }
  return dirs;
}

/** The directory that holds CONTROLLER's files for the cgroup at PATHS: its v1 hierarchy's, or the one cgroup2 directory. Pure. */
export function controllerDir(layout: CgroupLayout, paths: string[], controller: string): string | undefined {
  return layout.version === 1 ? controllerDirs(layout, paths).get(controller) : paths[0];
}

/** The cgroup2 directories from the mount down to DIR's parent: where DIR's controllers are enabled. Pure. */
export function parentsBelowMount(mount: string, dir: string): string[] {
  const parents: string[] = [];
  for (let d = dirname(dir); d.startsWith(mount); d = dirname(d)) {
    parents.unshift(d);
    if (d === mount) break;
  }
  return parents;
}

/** One write(2) of the whole value: cgroup files act on each write, not on the file's final content. */
function writeCgroupFile(path: string, value: string): void {
  const fd = openSync(path, constants.O_WRONLY);
  try {
    writeSync(fd, value);
  } finally {
    closeSync(fd);
  }
}

/** A failed write(2) as the field's error; anything else as it is. */
function failure(w: { field: string; value: string }, file: string, e: unknown): Error {
  const { code, errno } = e as NodeJS.ErrnoException;
  if (!(e instanceof Error) || errno === undefined) return e as Error;
  return new CgroupWriteError(w.field, file, `${code} (${errnoText(errno)}), writing "${w.value}"`);
}

function writeOne(dir: string, w: FileWrite): void {
  try {
    writeCgroupFile(join(dir, w.file), w.value);
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e;
    if (w.ifMissing === 'skip') return;
    if (!w.ifMissing) throw new CgroupWriteError(w.field, w.file, 'this kernel has no such file here (its controller or feature is missing)');
    try {
      writeCgroupFile(join(dir, w.ifMissing.file), w.ifMissing.value);
    } catch (e2) {
      if (isErrno(e2, 'ENOENT')) throw new CgroupWriteError(w.field, w.file, `this kernel has neither it nor ${w.ifMissing.file} here`);
      throw failure({ field: w.field, value: w.ifMissing.value }, w.ifMissing.file, e2);
    }
    return;
  }
  if (w.expect === undefined) return;
  const kept = readFileSync(join(dir, w.file), 'utf8').trim();
  if (kept !== w.expect) throw new CgroupWriteError(w.field, w.file, `the kernel took "${w.value}" but keeps ${kept}: this host cannot apply it`);
}

/**
 * Load the filter and attach it, then detach the filters attached before (by an earlier apply):
 * the cgroup is never without one, and re-applying replaces instead of piling up.
 */
function replaceDeviceFilter(dir: string, filter: DeviceFilter): void {
  const cgroupFd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    const earlier = attachedDevicePrograms(cgroupFd, dir);
    const prog = loadDeviceProgram(filter.program, filter.field);
    try {
      attachDeviceProgram(cgroupFd, prog, dir);
    } finally {
      closeFd(prog);
    }
    for (const id of earlier) {
      const fd = deviceProgramFd(id, dir);
      try {
        detachDeviceProgram(cgroupFd, fd, dir);
      } finally {
        closeFd(fd);
      }
    }
  } finally {
    closeSync(cgroupFd);
  }
}

/** cgroup2 shows a controller's files only where every parent enabled it in cgroup.subtree_control. */
function enableControllers(mount: string, dir: string, writes: FileWrite[]): void {
  const available = controllerList(readFileSync(join(mount, 'cgroup.controllers'), 'utf8'));
  const needed = new Map<string, string>();
  for (const w of writes) if (available.has(w.controller) && !needed.has(w.controller)) needed.set(w.controller, w.field);
  for (const parent of parentsBelowMount(mount, dir)) {
    const control = join(parent, 'cgroup.subtree_control');
    const enabled = controllerList(readFileSync(control, 'utf8'));
    for (const [controller, field] of needed) {
      if (enabled.has(controller)) continue;
      try {
        writeCgroupFile(control, `+${controller}`);
      } catch (e) {
        throw failure({ field, value: `+${controller}` }, control, e);
      }
    }
  }
}

/**
 * Perform WRITES (from resourceWrites) in the container's cgroup. A write the kernel refuses with
 * EINVAL that is interlocked with another is retried once after all the others.
 */
export function applyResources(record: CgroupRecord, writes: CgroupWrite[], layout: CgroupLayout = hostLayout(record.version)): void {
  const files = writes.filter((w): w is FileWrite => w.kind === 'file');
  const v1Dirs = record.version === 1 ? controllerDirs(layout, record.paths) : null;
  const dirOf = (w: FileWrite) => {
    const dir = v1Dirs ? v1Dirs.get(w.controller) : record.paths[0];
    if (!dir) throw new CgroupWriteError(w.field, w.file, `the container has no cgroup in a ${w.controller} hierarchy`);
    return dir;
  };
  if (record.version === 2) enableControllers(layout.unified!, record.paths[0]!, files);
  const retry: FileWrite[] = [];
  const attempt = (w: FileWrite) => {
    try {
      writeOne(dirOf(w), w);
    } catch (e) {
      if (w.interlocked && isErrno(e, 'EINVAL') && !retry.includes(w)) retry.push(w);
      else throw failure(w, w.file, e);
    }
  };
  for (const w of writes) {
    if (w.kind === 'file') attempt(w);
    else {
      try {
        replaceDeviceFilter(record.paths[0]!, w);
      } catch (e) {
        throw e instanceof SyscallError ? new CgroupWriteError(w.field, 'eBPF device filter', e.message) : e;
      }
    }
  }
  for (const w of [...retry]) attempt(w);
}
