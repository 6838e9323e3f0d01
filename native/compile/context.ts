// What the plan compilers need besides config.json: facts about this host and this create call.
// Gathered by the caller, so the compilers themselves stay pure and testable without root.
import type { CgroupLayout } from '../cgroups/layout.js';

import type { ProcessContext } from './process.js';

export interface CompileContext extends ProcessContext {
  /** The bundle directory, absolute. */
  bundle: string;
  /** The root file system, absolute and with symlinks resolved on the host. */
  rootfs: string;
  /** The start barrier fifo in the container's state folder; null: the program starts at once (a restart). */
  fifo: string | null;
  /** --no-pivot: MS_MOVE + chroot instead of pivot_root. */
  noPivot: boolean;
  cgroupLayout: CgroupLayout;
  /** The container's cgroup directories (bound into the container when it has no cgroup namespace). */
  cgroupDirs: string[];
  /** The machine's architecture as Node.js names it (process.arch): the seccomp filter's native one. */
  arch: string;
  /** What a host path is, for bind mounts: a directory, something else, or missing. */
  sourceKind(path: string): 'dir' | 'file' | null;
  /** berth has not the host's privileges (procfs.rootless): devices are bound, not made. */
  rootless: boolean;
}

// open(2) flags used by plan steps.
export const O_RDWR = 0o2;
export const O_DIRECTORY = 0o200000;
export const O_PATH = 0o10000000;
